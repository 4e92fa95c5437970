/// What `GET /v1/subscriptions/{name}` shows.
public struct SubscriptionStatus: Sendable, Equatable {
    /// The subscription's state.
    public enum State: String, Sendable {
        case starting
        case running
        /// Waiting before a retry.
        case backingOff = "backing_off"
        /// Several calls in a row failed.
        case failing
        case paused
        case stopped
    }

    public var state: State = .starting
    /// Records delivered (handler success).
    public var delivered: Int = 0
    /// Failed handler calls.
    public var failedCalls: Int = 0
    /// Records that became dead letters.
    public var deadLettered: Int = 0
    /// Records lost to retention before they were read.
    public var retentionGapRecords: UInt64 = 0
    public var consecutiveFailures: Int = 0
    public var lastError: DeadLetter.ErrorInfo?
    /// Arrival of the oldest record read but not done with (Unix ms).
    public var oldestPendingMillis: Int64?
    /// Handler calls made.
    public var calls: Int = 0

    public init() {}
}
