/// The outcome of one produced message, as reported by librdkafka's delivery report callback.
///
/// Exactly one report arrives for every message `produce` accepted: when the broker acknowledged
/// it (`error == nil`, `offset` set), when it finally failed (`error` set, e.g. `_MSG_TIMED_OUT`
/// after `message.timeout.ms`), or when the producer was closed before it could be delivered
/// (`_PURGE_QUEUE` / `_PURGE_INFLIGHT`).
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The caller's opaque per-message id given to `produce(… tag:)`.
    public var tag: UInt64
    /// The topic the message was produced to.
    public var topic: String
    /// The partition it was (or would have been) written to; `-1` when none was assigned.
    public var partition: Int32
    /// The offset the broker assigned; ``KafkaDeliveryReport/invalidOffset`` when unknown
    /// (failed messages, or `acks=0`).
    public var offset: Int64
    /// Why delivery failed, or nil when the message was acknowledged.
    public var error: KafkaError?
    /// Time from `produce` to the delivery report, when librdkafka measured it.
    public var latency: Duration?

    /// librdkafka's `RD_KAFKA_OFFSET_INVALID`.
    public static let invalidOffset: Int64 = -1001

    /// Creates a report from its parts (mainly for tests and adapters).
    public init(tag: UInt64, topic: String, partition: Int32, offset: Int64, error: KafkaError?, latency: Duration?) {
        self.tag = tag
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
        self.latency = latency
    }
}

/// A token for SASL/OAUTHBEARER, handed to librdkafka with `rd_kafka_oauthbearer_set_token`.
public struct KafkaOAuthBearerToken: Sendable, Hashable {
    /// The token value (for Amazon MSK IAM: the base64url-encoded presigned URL).
    public var value: String
    /// When the token expires, in milliseconds since the Unix epoch. librdkafka asks for a new
    /// token at about 80 % of the remaining lifetime.
    public var lifetimeMs: Int64
    /// The Kafka principal name associated with the token (must not be empty).
    public var principal: String
    /// SASL extensions (`key=value` pairs sent with the token); usually empty.
    public var extensions: [String: String]

    /// Creates a token.
    public init(value: String, lifetimeMs: Int64, principal: String, extensions: [String: String] = [:]) {
        self.value = value
        self.lifetimeMs = lifetimeMs
        self.principal = principal
        self.extensions = extensions
    }
}

/// Why an OAUTHBEARER token could not be produced; librdkafka receives the message through
/// `rd_kafka_oauthbearer_set_token_failure` and asks again later.
public struct KafkaOAuthBearerTokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A description of the failure (logged by librdkafka; never include secrets).
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "KafkaOAuthBearerTokenError: \(message)" }
}
