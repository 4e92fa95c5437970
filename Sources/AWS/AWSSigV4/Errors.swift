/// Why a request could not be signed.
public struct AWSSigningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad kind of failure, for programmatic checks.
    public enum Code: Sendable, Equatable {
        /// The URL has no `scheme://host` part, or a malformed port.
        case invalidURL
        /// A header name is empty or contains whitespace, `:` or control characters.
        case invalidHeaderName
        /// `expires` for a presigned URL is outside 1...604800 seconds.
        case invalidExpiry
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "AWSSigningError(\(code)): \(message)" }
}
