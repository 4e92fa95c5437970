import KinesisAPI
public import AsyncHTTPClient
import AWSCredentials
public import GatewayConfig
public import KafkaSink
public import Logging

/// Connects `sluice verify` to Kafka the way `sluice serve` does: the same brokers and security settings, MSK IAM tokens
/// from the same credential chain. (Kinesis clients come from `KinesisAPI.configured`, shared with the gateway.)
public enum BackendConnections {
    /// Properties that only a producer reads; left out of a reader's configuration.
    static let producerOnly: Set<String> = [
        "acks", "compression.type", "linger.ms", "batch.size", "enable.idempotence", "queue.buffering.max.kbytes",
        "statistics.interval.ms",
    ]

    /// The librdkafka properties for reading with the `kafka:` settings: bootstrap servers, security and the
    /// pass-through `properties`, without the producer's own.
    /// - Throws: ``KafkaSettingsError`` as `sluice check-config` would report it.
    public static func kafkaProperties(_ configuration: KafkaConfiguration) throws(KafkaSettingsError) -> [String: String] {
        var properties = try KafkaProducerSettings.properties(for: configuration)
        for name in producerOnly where configuration.properties[name] == nil { properties[name] = nil }
        return properties
    }

    /// A source reading `topic` with the `kafka:` settings; with `sasl_mechanism: AWS_MSK_IAM`, tokens come from the
    /// AWS credential chain as they do for the sink. Call `stop` after the read (it ends the token refreshes).
    public static func kafkaSource(
        topic: String, configuration: KafkaConfiguration, httpClient: HTTPClient, environment: [String: String],
        timeout: Duration, logger: Logger
    ) throws(KafkaSettingsError) -> (source: KafkaTopicSource, stop: @Sendable () -> Void) {
        let properties = try kafkaProperties(configuration)
        let region = AWSRegionResolver.resolve(configured: nil, environment: environment)
        let credentials = DefaultCredentialChain(environment: environment, httpClient: httpClient, region: region, logger: logger)
        let provider = try MSKIAMTokenProvider.forKafka(configuration, credentials: credentials, region: region, logger: logger)
        provider?.start()
        return (
            KafkaTopicSource(
                topic: topic, properties: properties, timeout: timeout, logger: logger,
                oauthBearerToken: provider?.oauthBearerHandler),
            { provider?.stop() }
        )
    }
}
