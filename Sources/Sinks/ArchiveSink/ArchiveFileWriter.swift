#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes files atomically: write a temporary file in a staging directory, fsync it, rename it into place,
/// fsync the destination directory. A reader never sees a partial file.
struct ArchiveFileWriter: Sendable {
    let root: String
    let stagingDirectory: String

    init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.stagingDirectory = self.root + "/.staging"
    }

    /// Writes `bytes` to `root/relativePath` atomically, creating directories as needed.
    func publish(_ bytes: UnsafeRawBufferPointer, relativePath: String) throws(ArchiveError) {
        let finalPath = root + "/" + relativePath
        let directory = String(finalPath[..<(finalPath.lastIndex(of: "/") ?? finalPath.endIndex)])
        try Self.makeDirectories(directory)
        try Self.makeDirectories(stagingDirectory)
        let fileName = String(relativePath[(relativePath.lastIndex(of: "/").map { relativePath.index(after: $0) } ?? relativePath.startIndex)...])
        let temporaryPath = stagingDirectory + "/" + fileName + ".tmp"

        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.ioError("cannot create a temporary archive file", temporaryPath) }
        var written = 0
        while written < bytes.count, let base = bytes.baseAddress {
            let result = write(fd, base + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                let error = Self.ioError("cannot write an archive file", temporaryPath)
                close(fd)
                unlink(temporaryPath)
                throw error
            }
            written += result
        }
        if fsync(fd) != 0 {
            let error = Self.ioError("cannot fsync an archive file", temporaryPath)
            close(fd)
            unlink(temporaryPath)
            throw error
        }
        close(fd)
        if rename(temporaryPath, finalPath) != 0 {
            let error = Self.ioError("cannot publish an archive file", finalPath)
            unlink(temporaryPath)
            throw error
        }
        // The rename is durable only once the directory holding the new name is synced; until then the file
        // (and the records in it) are not published, and the caller does not release them.
        try Self.syncDirectory(directory)
    }

    /// `mkdir -p`, syncing the parent of every directory it creates, so a new partition directory's own entry is
    /// on disk before any file in it is published.
    static func makeDirectories(_ path: String) throws(ArchiveError) {
        var isDirectory = stat()
        if stat(path, &isDirectory) == 0, (isDirectory.st_mode & S_IFMT) == S_IFDIR { return }
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                try syncDirectory(parent)
            } else if errno != EEXIST {
                throw ioError("cannot create an archive directory", current)
            }
        }
    }

    /// `fsync` of a directory, so the entries created or renamed in it survive a crash.
    static func syncDirectory(_ path: String) throws(ArchiveError) {
        let directoryFD = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw ioError("cannot open an archive directory to sync it", path) }
        defer { close(directoryFD) }
        if fsync(directoryFD) != 0 {
            throw ioError("cannot fsync an archive directory", path)
        }
    }

    static func ioError(_ message: String, _ path: String) -> ArchiveError {
        let code = errno
        let reason = String(cString: strerror(code))
        return ArchiveError(code: .io, message: "\(message): \(reason)", path: path, errno: code)
    }
}
