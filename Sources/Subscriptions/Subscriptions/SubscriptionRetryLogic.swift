public import Delivery

/// The subscriptions' retry classification of handler failures (by kind, never by message text).
public struct SubscriptionRetryLogic: RetryLogic {
    public init() {}

    public func decide(_ failure: HandlerFailure) -> RetryDecision {
        switch failure.kind {
        case .forbidden, .rejected: .permanent
        case .throttled: RetryDecision(.throttled, retryAfter: failure.retryAfter)
        default: RetryDecision(.retriable, retryAfter: failure.retryAfter)
        }
    }
}
