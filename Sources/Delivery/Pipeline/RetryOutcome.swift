/// How a retried operation ended: its value, or the failure that stopped the retries and the decision about it.
public enum RetryOutcome<Value, Failure: Error> {
    /// The operation succeeded on attempt number `attempts`.
    case succeeded(Value, attempts: Int)
    /// The last attempt failed and was not retried: the decision was permanent, the attempts ran out, or the task was
    /// cancelled while waiting.
    case failed(Failure, decision: RetryDecision, attempts: Int)

    /// How many attempts were made.
    public var attempts: Int {
        switch self {
        case .succeeded(_, let attempts), .failed(_, _, let attempts): attempts
        }
    }

    /// The value, if the operation succeeded.
    public var value: Value? {
        if case .succeeded(let value, _) = self { return value }
        return nil
    }
}

extension RetryOutcome: Sendable where Value: Sendable {}
