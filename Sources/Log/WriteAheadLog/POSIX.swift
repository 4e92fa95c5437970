// Thin wrappers over the POSIX calls the log uses, turning failures into `WALError`s that carry
// errno and path, plus the condition-variable wake-up used to hand work to the background threads.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `strerror` text of an errno value.
func errnoDescription(_ code: Int32) -> String {
    guard let cString = strerror(code) else { return "unknown error" }
    return String(cString: cString)
}

/// Builds an `.io` error from the current `errno`.
func ioError(_ message: String, path: String?, errno code: Int32 = errno) -> WALError {
    WALError(.io, message, errno: code, path: path)
}

/// Monotonic clock in nanoseconds.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Wall clock in milliseconds since the Unix epoch.
func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Nanoseconds in a `Duration` (clamped at 0 and at ~292 years).
func nanoseconds(of duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
    if seconds > 9_000_000_000 { return UInt64.max / 2 }
    return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
}

/// POSIX file operations used by the log. Every function throws `WALError(.io)` with errno and path.
enum FileIO {
    /// Opens `path`; retries on EINTR.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(WALError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw ioError("open failed", path: path)
        }
    }

    /// Closes a descriptor, ignoring errors (used on paths where data was already synced or is being abandoned).
    static func closeQuietly(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes all `count` bytes at `offset`; retries on EINTR and short writes.
    static func pwriteAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, at offset: Int, path: String) throws(WALError) {
        var done = 0
        while done < count {
            let n = Glibc.pwrite(fd, base + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("write failed", path: path)
            }
            if n == 0 { throw WALError(.io, "write wrote nothing", errno: EIO, path: path) }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset` into `base`; returns the number read (less only at end of file).
    static func preadUpTo(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws(WALError) -> Int {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, base + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("read failed", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads up to `count` bytes at `offset` into a new array (shorter at end of file).
    static func pread(_ fd: Int32, count: Int, at offset: Int, path: String) throws(WALError) -> [UInt8] {
        if count <= 0 { return [] }
        var result: Result<Int, WALError> = .success(0)
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            // UInt8 is trivial: the first `initialized` bytes are exactly those pread filled in.
            result = Result { () throws(WALError) -> Int in
                try preadUpTo(fd, UnsafeMutableRawPointer(base), count, at: offset, path: path)
            }
            initialized = (try? result.get()) ?? 0
        }
        _ = try result.get()
        return bytes
    }

    /// `fdatasync`, retried on EINTR.
    static func fdatasync(_ fd: Int32, path: String) throws(WALError) {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw ioError("fdatasync failed", path: path)
        }
    }

    /// `fsync`, retried on EINTR.
    static func fsync(_ fd: Int32, path: String) throws(WALError) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw ioError("fsync failed", path: path)
        }
    }

    /// Makes directory entries (creations, renames, deletions) in `path` durable.
    static func fsyncDirectory(_ path: String) throws(WALError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { closeQuietly(fd) }
        try fsync(fd, path: path)
    }

    /// `ftruncate`.
    static func truncate(_ fd: Int32, to length: Int, path: String) throws(WALError) {
        while Glibc.ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw ioError("ftruncate failed", path: path)
        }
    }

    /// Size of an open file.
    static func size(_ fd: Int32, path: String) throws(WALError) -> Int {
        var st = stat()
        if fstat(fd, &st) != 0 { throw ioError("fstat failed", path: path) }
        return Int(st.st_size)
    }

    /// Size of a file by path, nil if it does not exist.
    static func size(path: String) throws(WALError) -> Int? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw ioError("stat failed", path: path)
        }
        return Int(st.st_size)
    }

    /// Size and modification time (milliseconds since the Unix epoch) of a file by path, nil if it does not exist.
    static func sizeAndModification(path: String) throws(WALError) -> (size: Int, modifiedMillis: Int64)? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw ioError("stat failed", path: path)
        }
        #if canImport(Darwin)
        let modified = st.st_mtimespec
        #else
        let modified = st.st_mtim
        #endif
        return (Int(st.st_size), Int64(modified.tv_sec) * 1000 + Int64(modified.tv_nsec) / 1_000_000)
    }

    /// Creates `path` and its missing parents (mode 0755).
    static func makeDirectories(_ path: String) throws(WALError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw ioError("mkdir failed", path: prefix)
            }
            prefix += "/"
        }
        var st = stat()
        if stat(path, &st) != 0 { throw ioError("stat failed", path: path) }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw WALError(.invalidConfiguration, "not a directory", errno: ENOTDIR, path: path)
        }
    }

    /// Names of the entries of a directory (without "." and "..").
    static func listDirectory(_ path: String) throws(WALError) -> [String] {
        guard let dir = opendir(path) else { throw ioError("opendir failed", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                UnsafeRawPointer(tuple).withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `unlink`; a missing file is not an error.
    static func unlink(_ path: String) throws(WALError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw ioError("unlink failed", path: path) }
    }

    /// `rename`.
    static func rename(_ from: String, _ to: String) throws(WALError) {
        if Glibc.rename(from, to) != 0 { throw ioError("rename to \(to) failed", path: from) }
    }
}

/// A sticky wake-up flag with a condition variable: `signal()` sets it, `wait(untilNanos:)` returns as soon
/// as it is set (or the monotonic deadline passes) and clears it. Signals are never lost, several signals
/// before a wait collapse into one wake-up. Used to hand work to the writer and maintenance threads.
final class WakeSignal: @unchecked Sendable {
    // Safety: `flag` and `waiting` are only touched with `mutex` held; the pthread objects live at stable
    // heap addresses for the object's lifetime.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var flag = false
    private var waiting = false

    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Sets the flag and wakes the waiter, if any.
    func signal() {
        pthread_mutex_lock(mutex)
        flag = true
        let wake = waiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(cond) }
    }

    /// Waits until the flag is set or the monotonic clock reaches `deadline` (nil: no deadline); clears the flag.
    func wait(untilNanos deadline: UInt64?) {
        pthread_mutex_lock(mutex)
        while !flag {
            waiting = true
            if let deadline {
                if monotonicNanos() >= deadline { break }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                _ = pthread_cond_timedwait(cond, mutex, &ts)
            } else {
                pthread_cond_wait(cond, mutex)
            }
        }
        waiting = false
        flag = false
        pthread_mutex_unlock(mutex)
    }
}
