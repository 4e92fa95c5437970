/// A failure of the archive: what went wrong, with the path and `errno` when a system call failed.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Opaque error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case io, compression, invalidConfiguration, unavailable }
        private let value: Value
        /// A file system call failed (see ``ArchiveError/errno``).
        public static let io = Code(value: .io)
        /// GZIP compression failed.
        public static let compression = Code(value: .compression)
        /// The archive configuration is unusable.
        public static let invalidConfiguration = Code(value: .invalidConfiguration)
        /// The archive's thread pool is shut down (the process is stopping).
        public static let unavailable = Code(value: .unavailable)
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var errno: Int32?

    public init(code: Code, message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    public var description: String {
        var text = message
        if let path { text += " (\(path))" }
        return text
    }
}
