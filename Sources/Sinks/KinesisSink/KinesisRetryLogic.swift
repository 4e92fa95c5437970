public import Delivery
public import KinesisAPI

/// The Kinesis sink's retry classification, over ``KinesisError`` (a failed `PutRecords` call, or one record it did
/// not store), read from the typed code and the call's classification, never from message text.
///
/// As with the KPL, every failure is retried until `record_ttl_ms`: throttling (`ProvisionedThroughputExceededException`,
/// `KMSThrottlingException`, `ThrottlingException`, `LimitExceededException`, HTTP 429) is ``RetryDecision/Kind/throttled``,
/// everything else ``RetryDecision/Kind/retriable``, fatal call errors included (a stream being created answers
/// `ResourceNotFoundException`; credentials may be rotated meanwhile). With `fail_if_throttled` a throttled record
/// is ``RetryDecision/Kind/permanent``: it fails at once.
public struct KinesisRetryLogic: RetryLogic {
    /// `fail_if_throttled`.
    public var isThrottlingFatal: Bool

    public init(isThrottlingFatal: Bool = false) {
        self.isThrottlingFatal = isThrottlingFatal
    }

    public func decide(_ failure: KinesisError) -> RetryDecision {
        guard failure.isThrottling else { return .retriable }
        return isThrottlingFatal ? .permanent : .throttled
    }

    /// Whether the failure means the sink's shard map of the stream is stale: the stream is missing (being created,
    /// or deleted and created again).
    public func wantsShardMapRefresh(_ failure: KinesisError) -> Bool {
        failure.code == .resourceNotFound
    }
}
