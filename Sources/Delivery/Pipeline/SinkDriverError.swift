/// Why a ``SinkDriver`` did not take a request.
public struct SinkDriverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Opaque error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case finished, cancelled }
        private let value: Value
        /// The driver was finished (graceful shutdown): it takes no new requests.
        public static let finished = Code(value: .finished)
        /// The submitting task was cancelled while it waited for a free slot.
        public static let cancelled = Code(value: .cancelled)
        public var description: String { value.rawValue }
    }

    /// What happened.
    public var code: Code

    public init(code: Code) {
        self.code = code
    }

    public var description: String {
        switch code {
        case .finished: "the sink driver is finished and takes no new requests"
        default: "cancelled while waiting for a free request slot"
        }
    }
}
