public import Delivery
public import KafkaClient

/// The Kafka sink's retry classification, read from the typed ``KafkaError`` (its code), never its message:
/// - permanent: the codes of ``KafkaError/permanentCodes`` (`MSG_SIZE_TOO_LARGE`, `INVALID_RECORD`,
///   `TOPIC_AUTHORIZATION_FAILED`, `_INVALID_ARG`, …): producing the same record again cannot succeed;
/// - throttled: `_QUEUE_FULL` (librdkafka's local queue is the backpressure);
/// - retriable: everything else (timed out, transport, unknown topic or partition, purged, fatal: a fatal error
///   replaces the producer and the record is produced again).
public struct KafkaRetryLogic: RetryLogic {
    public init() {}

    public func decide(_ failure: KafkaError) -> RetryDecision {
        if failure.isPermanent { return .permanent }
        if failure.isQueueFull { return .throttled }
        return .retriable
    }
}
