import Foundation

/// A local archive as the archive sink publishes it: a directory tree of GZIP NDJSON files
/// (`team=…/app=…/dt=…/hour=…/sluice-….ndjson.gz`), dead letters under the error prefix (`errors/` by default),
/// files being written under `.staging/` (not yet published, never read).
///
/// The one reader of that layout, shared by `sluice verify` (`LocalArchiveSource`) and the tests
/// (`GatewayTesting.ArchiveContents`). Every file is decoded with ``Gzip/decompress(_:)``, which checks each member's
/// CRC-32 and length; a damaged file is an ``ArchiveReadError`` naming it.
///
/// ```swift
/// let archive = ArchiveDirectory(root: "./data/archive")
/// for file in try archive.listFiles().data {
///     let text = try archive.contents(of: file)   // NDJSON, checked
/// }
/// ```
public struct ArchiveDirectory: Sendable {
    /// The files of an archive, as paths relative to its root, each list sorted.
    public struct Listing: Sendable, Equatable {
        /// Published data files (not under the error prefix).
        public var data: [String]
        /// Dead-letter files of the sinks (under the error prefix): records the gateway could not deliver.
        public var deadLetters: [String]
        /// Dead-letter files of subscriptions (`on_failure: {archive: {}}`, under `<error prefix>/subscriptions/`):
        /// records a consumer gave up on, which the data files hold too.
        public var subscriptionDeadLetters: [String] = []

        /// Every file, sorted.
        public var all: [String] { (data + deadLetters + subscriptionDeadLetters).sorted() }
    }

    /// The archive's root directory (without a trailing `/`).
    public var root: String
    /// The error prefix directory relative to the root, without leading or trailing `/` (`errors`); empty for none.
    public var errorPrefix: String

    /// An archive rooted at `root` whose dead letters are under `errorPrefix` (`errors` or `errors/`).
    public init(root: String, errorPrefix: String = "errors") {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.errorPrefix = errorPrefix.split(separator: "/").joined(separator: "/")
    }

    /// Whether the root exists as a directory.
    public var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The archive's `*.gz` files, skipping every `.staging` directory.
    /// - Throws: ``ArchiveReadError`` when the root is missing, not a directory, or a directory cannot be listed.
    public func listFiles() throws(ArchiveReadError) -> Listing {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw ArchiveReadError(code: .missingDirectory, path: root, reason: "the archive directory does not exist")
        }
        guard isDirectory.boolValue else {
            throw ArchiveReadError(code: .notADirectory, path: root, reason: "not a directory; give the archive's root directory")
        }
        var data: [String] = []
        var deadLetters: [String] = []
        var subscriptionDeadLetters: [String] = []
        var directories = [""]
        while let relative = directories.popLast() {
            let path = relative.isEmpty ? root : root + "/" + relative
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw ArchiveReadError(code: .unreadable, path: path, reason: "cannot list the directory: \(error.localizedDescription)")
            }
            for name in names.sorted() {
                let child = relative.isEmpty ? name : relative + "/" + name
                var childIsDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root + "/" + child, isDirectory: &childIsDirectory) else { continue }
                if childIsDirectory.boolValue {
                    if name != ".staging" { directories.append(child) }
                } else if name.hasSuffix(".gz") {
                    if isSubscriptionDeadLetterFile(child) {
                        subscriptionDeadLetters.append(child)
                    } else if isDeadLetterFile(child) {
                        deadLetters.append(child)
                    } else {
                        data.append(child)
                    }
                }
            }
        }
        return Listing(data: data.sorted(), deadLetters: deadLetters.sorted(), subscriptionDeadLetters: subscriptionDeadLetters.sorted())
    }

    /// Whether `relativePath` is a subscription's dead letter (under `<error prefix>/subscriptions/`).
    public func isSubscriptionDeadLetterFile(_ relativePath: String) -> Bool {
        !errorPrefix.isEmpty && relativePath.hasPrefix(errorPrefix + "/subscriptions/")
    }

    /// Whether `relativePath` is under the error prefix.
    public func isDeadLetterFile(_ relativePath: String) -> Bool {
        !errorPrefix.isEmpty && relativePath.hasPrefix(errorPrefix + "/")
    }

    /// The decompressed NDJSON text of the file at `relativePath`, every GZIP member checked.
    /// - Throws: ``ArchiveReadError``: ``ArchiveReadError/Code/unreadable`` when the file cannot be read,
    ///   ``ArchiveReadError/Code/damaged`` (with the whole lines decoded before the damage) when it is not sound GZIP.
    public func contents(of relativePath: String) throws(ArchiveReadError) -> [UInt8] {
        guard let file = FileManager.default.contents(atPath: root + "/" + relativePath) else {
            throw ArchiveReadError(code: .unreadable, path: relativePath, reason: "cannot read the file")
        }
        do {
            return try Gzip.decompress(Array(file))
        } catch {
            // Only whole lines of a damaged file are usable; the last partial line is part of the damage.
            let wholeLines = error.partial.lastIndex(of: UInt8(ascii: "\n")).map { Array(error.partial[...$0]) } ?? []
            throw ArchiveReadError(code: .damaged, path: relativePath, reason: error.reason, partialLines: wholeLines)
        }
    }
}
