import AWSCredentials
import GatewayConfig
import GatewayCore
import KafkaSink
import ServiceLifecycle

extension SinkRegistration {
    /// The Kafka sink, when the configuration has a `kafka:` section.
    static let kafka = SinkRegistration(
        id: .kafka,
        isConfigured: { $0.kafka != nil },
        problems: { configuration in configuration.kafka.map(KafkaProducerSettings.validate) ?? [] },
        httpConnections: { configuration in configuration.kafka.map(KafkaProducerSettings.usesMSKIAM) == true ? 8 : nil },
        make: { wiring throws(GatewayStartupError) in
            guard let kafka = wiring.configuration.kafka else { throw GatewayStartupError(message: "kafka: the section is missing") }
            let region = AWSRegionResolver.resolve(configured: nil, environment: wiring.environment)
            let credentials = wiring.httpClient.map {
                DefaultCredentialChain(environment: wiring.environment, httpClient: $0, region: region, logger: wiring.logger)
            }
            let sink: KafkaSink
            do throws(KafkaSettingsError) {
                sink = try KafkaSink(
                    configuration: kafka, credentials: credentials, region: region, logger: wiring.logger,
                    metricsFactory: wiring.metrics
                )
            } catch {
                throw GatewayStartupError(message: "\(error.path): \(error.message)")
            }
            return WiredSink(sink: sink, services: [KafkaSinkService(sink: sink)])
        }
    )
}

/// Closes the Kafka sink's producer after its dispatcher drained and flushed it.
struct KafkaSinkService: Service {
    let sink: KafkaSink

    func run() async throws {
        try? await gracefulShutdown()
        await sink.close()
    }
}
