/// What a sink's ``RetryLogic`` decided about one failed attempt, read from the error's type, never its text.
public struct RetryDecision: Sendable, Equatable, CustomStringConvertible {
    /// The class of a failure.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String { case retriable, throttled, permanent }
        private let value: Value
        /// A transient failure (a timeout, a 5xx, a broken connection): retry after the backoff.
        public static let retriable = Kind(value: .retriable)
        /// The backend asked us to slow down (HTTP 429, `ProvisionedThroughputExceededException`, a full queue):
        /// retry after the backoff, honouring its `Retry-After`, and count it as throttling, not as an error.
        public static let throttled = Kind(value: .throttled)
        /// Retrying cannot help (a malformed or oversized record, access denied): reject the record for good.
        public static let permanent = Kind(value: .permanent)
        public var description: String { value.rawValue }
    }

    /// The class.
    public var kind: Kind
    /// The backend's own wait hint (`Retry-After`), if it gave one.
    public var retryAfter: Duration?

    public init(_ kind: Kind, retryAfter: Duration? = nil) {
        self.kind = kind
        self.retryAfter = retryAfter
    }

    public static let retriable = RetryDecision(.retriable)
    public static let throttled = RetryDecision(.throttled)
    public static let permanent = RetryDecision(.permanent)

    /// Whether the attempt may be retried (retriable or throttled).
    public var isRetryable: Bool { kind != .permanent }

    public var description: String {
        retryAfter.map { "\(kind) (retry after \($0))" } ?? kind.description
    }
}

/// A sink's retry classification: maps the typed errors of its client to a ``RetryDecision``.
///
/// Every sink folder has one (`KinesisRetryLogic`, `KafkaRetryLogic`, `ArchiveRetryLogic`); the pipeline and the
/// sink compliance suite call it, so the decision for an error is made in exactly one place.
public protocol RetryLogic: Sendable {
    /// The sink client's error type.
    associatedtype Failure: Error
    /// The decision for one failure.
    func decide(_ failure: Failure) -> RetryDecision
}
