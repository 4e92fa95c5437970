public import Delivery

/// A sample failure of a sink's client and the kind its ``RetryLogic`` must give it.
///
/// Built from the sink's `RetryLogic` and a typed error (``init(_:error:logic:expected:retryAfter:)``), so the suite
/// calls the one place the sink decides; ``init(_:expected:retryAfter:decide:)`` wires any other decision function.
public struct RetrySample: Sendable, CustomStringConvertible {
    /// What the sample is (`ProvisionedThroughputExceededException`, `ENOSPC`…).
    public var name: String
    /// The kind the sink's retry logic must decide.
    public var expected: RetryDecision.Kind
    /// The `Retry-After` the decision must carry, when the sample has one.
    public var expectedRetryAfter: Duration?
    /// Runs the sink's classification for this sample.
    public let decide: @Sendable () -> RetryDecision

    /// A sample decided by `logic` for `error`.
    public init<Logic: RetryLogic>(
        _ name: String, error: Logic.Failure, logic: Logic, expected: RetryDecision.Kind, retryAfter: Duration? = nil
    ) where Logic.Failure: Sendable {
        self.init(name, expected: expected, retryAfter: retryAfter) { logic.decide(error) }
    }

    /// A sample decided by `decide`.
    public init(
        _ name: String, expected: RetryDecision.Kind, retryAfter: Duration? = nil,
        decide: @escaping @Sendable () -> RetryDecision
    ) {
        self.name = name
        self.expected = expected
        self.expectedRetryAfter = retryAfter
        self.decide = decide
    }

    public var description: String { "\(name) → \(expected)" }
}
