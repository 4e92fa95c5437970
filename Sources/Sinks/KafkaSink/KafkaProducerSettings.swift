internal import GatewayCore
public import KafkaClient

/// The librdkafka producer properties of a ``KafkaSinkConfiguration``.
///
/// Mapping, in order (later entries override earlier ones):
/// - the connection: `bootstrap.servers`, `security.protocol`, with SASL `sasl.mechanism` (`OAUTHBEARER` for MSK IAM,
///   tokens from `MSKIAMTokenProvider`) and `sasl.username`/`sasl.password`, the `ssl.*.location` files
///   (``KafkaConnectionConfiguration/properties``);
/// - `acks`, `compression.type`, `linger.ms`, `batch.size`, `message.max.bytes`;
/// - `enable.idempotence=true` when `acks` is `all` (which idempotence requires; `false` otherwise),
///   `statistics.interval.ms` (the sink's broker metrics) and `queue.buffering.max.kbytes`;
/// - finally every entry of ``KafkaSinkConfiguration/properties``, as is: the user's value wins.
public struct KafkaProducerSettings: Sendable, Equatable {
    /// The librdkafka properties the producer is created with.
    public var properties: [String: String]
    /// Whether SASL/OAUTHBEARER with Amazon MSK IAM tokens is used (needs AWS credentials).
    public var usesMSKIAM: Bool

    /// Derives the settings from `configuration`.
    public init(configuration: KafkaSinkConfiguration) {
        var properties = configuration.connection.properties
        properties["acks"] = configuration.acks.name
        properties["compression.type"] = configuration.compression.name
        properties["linger.ms"] = String(configuration.linger.nanoseconds / 1_000_000)
        properties["batch.size"] = String(configuration.batchSize)
        properties["message.max.bytes"] = String(configuration.messageMaxBytes)
        // Idempotence (no duplicates from librdkafka's own retries, order kept) requires acks=all.
        properties["enable.idempotence"] = configuration.acks == .all ? "true" : "false"
        properties["statistics.interval.ms"] = String(configuration.statisticsInterval.nanoseconds / 1_000_000)
        properties["queue.buffering.max.kbytes"] = String(configuration.queueKilobytes)
        for (name, value) in configuration.properties {
            properties[name] = value
        }
        self.properties = properties
        usesMSKIAM = configuration.connection.usesMSKIAM
    }

    /// Properties only a producer reads: left out when a reader connects with the same settings.
    public static let producerOnlyProperties: Set<String> = [
        "acks", "compression.type", "linger.ms", "batch.size", "enable.idempotence", "queue.buffering.max.kbytes",
        "statistics.interval.ms",
    ]

    /// Every problem librdkafka finds in these properties, each naming its property (nil: the combination), in
    /// property order; empty when a producer can be created. The properties are really applied to an
    /// `rd_kafka_conf_t` (one at a time, so every bad one is named), then a producer is created without brokers and
    /// destroyed.
    public func problems() -> [KafkaConfigurationError] {
        KafkaConfigurationCheck.problems(producerProperties: properties)
    }
}
