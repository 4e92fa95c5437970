/// Why `sluice verify` could not complete its audit (as opposed to finding problems in the data, which it reports).
public struct VerifyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// The ids file cannot be read.
        case idsFile = "ids_file"
        /// A source (the archive directory, a stream, a topic) cannot be read at all.
        case source
        /// The report file could not be written.
        case output
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
