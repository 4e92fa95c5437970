public import AsyncHTTPClient
import AWSCredentials
import AWSJSONClient
import Foundation
public import GatewayConfig
import Kafka
public import KafkaSink
import KinesisProducer
import MSKIAMAuth
public import Logging

/// Connects `sluice verify` to the backends the way `sluice serve` does: the same endpoint, region, credential chain and
/// Kafka security settings, taken from the gateway's configuration file.
public enum BackendConnections {
    /// A source reading `stream` with the `kinesis:` settings (endpoint override, region; defaults when nil).
    public static func kinesisSource(
        stream: String, configuration: KinesisConfiguration?, httpClient: HTTPClient, environment: [String: String],
        timeout: Duration, logger: Logger
    ) -> KinesisStreamSource {
        let region = AWSRegionResolver.resolve(configured: configuration?.region, environment: environment)
        let credentials = DefaultCredentialChain(environment: environment, httpClient: httpClient, region: region, logger: logger)
        let endpoint = AWSJSONClient.Endpoint.standard(
            service: "kinesis", targetPrefix: "Kinesis_20131202", region: region,
            override: configuration?.endpointURL ?? environment["AWS_ENDPOINT_URL_KINESIS"] ?? environment["AWS_ENDPOINT_URL"]
        )
        let client = AWSJSONClient(httpClient: httpClient, endpoint: endpoint, credentials: credentials, timeout: .seconds(30))
        return KinesisStreamSource(stream: stream, api: KinesisAPI(client: client), timeout: timeout)
    }

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
        var provider: MSKIAMTokenProvider?
        if KafkaProducerSettings.usesMSKIAM(configuration) {
            let region = AWSRegionResolver.resolve(configured: nil, environment: environment)
            let credentials = DefaultCredentialChain(environment: environment, httpClient: httpClient, region: region, logger: logger)
            do {
                provider = try MSKIAMTokenProvider(region: region, credentials: credentials, logger: logger)
            } catch {
                throw KafkaSettingsError(path: "kafka.security.sasl_mechanism", message: "AWS_MSK_IAM: \(error.message)")
            }
            provider?.start()
        }
        let started = provider
        let tokens = started.map { provider in
            { @Sendable (_: String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError> in provider.token() }
        }
        return (
            KafkaTopicSource(topic: topic, properties: properties, timeout: timeout, logger: logger, oauthBearerToken: tokens),
            { started?.stop() }
        )
    }
}
