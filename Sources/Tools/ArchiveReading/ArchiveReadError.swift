/// Why an archive directory or one of its files could not be read whole.
///
/// A damaged file is always this error, naming the file: readers never skip one silently. ``partialLines`` holds the
/// whole lines decoded before the damage, for readers (such as `sluice verify`) that still count them.
public struct ArchiveReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is (new codes break no `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case missingDirectory, notADirectory, unreadable, damaged
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// The archive's root directory does not exist.
        public static let missingDirectory = Code(.missingDirectory)
        /// The archive's root is not a directory.
        public static let notADirectory = Code(.notADirectory)
        /// A directory could not be listed or a file could not be read.
        public static let unreadable = Code(.unreadable)
        /// A file is not sound GZIP: bad magic, truncated, or a member's CRC-32/length trailer does not match.
        public static let damaged = Code(.damaged)

        public var description: String {
            switch value {
            case .missingDirectory: "missing_directory"
            case .notADirectory: "not_a_directory"
            case .unreadable: "unreadable"
            case .damaged: "damaged"
            }
        }
    }

    /// What kind of problem this is.
    public var code: Code
    /// The directory or file concerned, as given (a file relative to the archive root).
    public var path: String
    /// What is wrong.
    public var reason: String
    /// For ``Code/damaged``: the whole lines (through the last `\n`) decoded before the damage; otherwise empty.
    public var partialLines: [UInt8]

    /// Creates an error.
    public init(code: Code, path: String, reason: String, partialLines: [UInt8] = []) {
        self.code = code
        self.path = path
        self.reason = reason
        self.partialLines = partialLines
    }

    public var description: String { "\(path): \(reason)" }
}
