/// Why `sluice bench` could not run, with a message that says what to change.
public struct BenchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// A command-line value is malformed or out of range.
        case invalidOption = "invalid_option"
        /// No connection to the target could be opened.
        case unreachable
        /// A result file (`--json`, `--plot`, `--ids`) could not be written.
        case output
        /// The event-loop threads failed in an unexpected way.
        case runtime
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
