import CoreMetrics
import Delivery
import Foundation
import GatewayCore
import GatewayTesting
import KafkaClient
import KafkaSink
import Logging
import SinkTesting
import Synchronization
import Testing

/// The Kafka sink against the compliance suite, with Tansu as the real broker: a topic on a running broker; the
/// failing destination is a closed port, healed by starting Tansu on it. Needs `scripts/kafka-peers` and
/// `LD_LIBRARY_PATH=.tools/kafka/lib`.
struct KafkaFixture: SinkFixture {
    /// A topic on a Tansu broker (started at once, or on ``KafkaFixture/heal(_:)``).
    final class Destination: Sendable {
        let topic: String
        let port: Int
        let broker = Mutex<TansuBroker?>(nil)

        init(topic: String, port: Int) {
            self.topic = topic
            self.port = port
        }

        var bootstrapServers: String { "127.0.0.1:\(port)" }

        /// Starts the broker on the destination's port and creates the topic (two partitions).
        func start() throws {
            let broker = try TansuBroker.start(port: port)
            self.broker.withLock { $0 = broker }
            do {
                try broker.createTopic(topic, partitions: 2)
            } catch  where String(describing: error).localizedCaseInsensitiveContains("exist") {
                // The sink's first produce may have created it already (auto-create).
            }
        }
    }

    var sinkID: SinkID { .kafka }
    var receiptKey: String { "kafka" }
    var requiredMetricLabels: [String] {
        ["sluice_kafka_produced_messages_total", "sluice_kafka_produced_bytes_total", "sluice_kafka_delivery_seconds"]
    }

    /// Delivery-report errors through ``KafkaRetryLogic``, read from the typed code.
    var retrySamples: [RetrySample] {
        let logic = KafkaRetryLogic()
        func error(_ code: Int32, _ name: String, isRetriable: Bool = false, isFatal: Bool = false) -> KafkaError {
            KafkaError(code: code, name: name, message: "compliance sample", isRetriable: isRetriable, isFatal: isFatal)
        }
        return [
            RetrySample(
                "MSG_SIZE_TOO_LARGE", error: error(KafkaError.Code.messageSizeTooLarge, "MSG_SIZE_TOO_LARGE"), logic: logic, expected: .permanent),
            RetrySample(
                "TOPIC_AUTHORIZATION_FAILED", error: error(KafkaError.Code.topicAuthorizationFailed, "TOPIC_AUTHORIZATION_FAILED"), logic: logic,
                expected: .permanent),
            RetrySample("_INVALID_ARG", error: error(KafkaError.Code.invalidArgument, "_INVALID_ARG"), logic: logic, expected: .permanent),
            RetrySample("_QUEUE_FULL", error: error(KafkaError.Code.queueFull, "_QUEUE_FULL", isRetriable: true), logic: logic, expected: .throttled),
            RetrySample(
                "_MSG_TIMED_OUT", error: error(KafkaError.Code.messageTimedOut, "_MSG_TIMED_OUT", isRetriable: true), logic: logic,
                expected: .retriable),
            RetrySample("_TRANSPORT", error: error(KafkaError.Code.transport, "_TRANSPORT", isRetriable: true), logic: logic, expected: .retriable),
            RetrySample("_UNKNOWN_TOPIC", error: error(KafkaError.Code.unknownTopic, "_UNKNOWN_TOPIC"), logic: logic, expected: .retriable),
            RetrySample("_FATAL", error: error(KafkaError.Code.fatal, "_FATAL", isFatal: true), logic: logic, expected: .retriable),
        ]
    }

    func makeDestination(name: String) async throws -> Destination {
        let destination = Destination(topic: name, port: try KafkaPeers.freePort())
        try destination.start()
        return destination
    }

    func makeFailingDestination(name: String) async throws -> Destination {
        Destination(topic: name, port: try KafkaPeers.freePort())
    }

    func heal(_ destination: Destination) async throws {
        try destination.start()
    }

    func route(to destination: Destination) -> Route { .kafka(topic: destination.topic) }

    func makeSink(
        for destination: Destination, options: SinkFixtureOptions, metrics: any MetricsFactory, logger: Logger
    ) async throws -> SinkUnderTest {
        var configuration = KafkaSinkConfiguration(connection: KafkaConnectionConfiguration(bootstrapServers: destination.bootstrapServers))
        // Buffering: librdkafka holds messages for linger.ms unless flushed.
        configuration.linger = options.buffersUntilFlush ? .seconds(300) : .milliseconds(5)
        configuration.flushTimeout = .seconds(30)
        configuration.properties = [
            "reconnect.backoff.ms": "50", "reconnect.backoff.max.ms": "500", // heal quickly once the broker listens
            "message.timeout.ms": "600000", // a failing destination holds messages rather than timing them out
        ]
        if let capacity = options.capacity { configuration.properties["queue.buffering.max.messages"] = "\(capacity)" }
        let sink = try KafkaSink(configuration: configuration, credentials: nil, region: "eu-west-1", logger: logger, metricsFactory: metrics)
        // At capacity when librdkafka's queue (queue.buffering.max.messages) holds all it may.
        var isSaturated: (@Sendable () -> Bool)?
        if let capacity = options.capacity { isSaturated = { sink.inFlightCount >= capacity } }
        return SinkUnderTest(sink: sink, services: [sink], isSaturated: isSaturated)
    }

    func readBack(_ destination: Destination, expected: Int) async throws -> [String] {
        var logger = Logger(label: "sluice.compliance.reader")
        logger.logLevel = .error
        let reader = try KafkaTopicReader(properties: ["bootstrap.servers": destination.bootstrapServers], logger: logger)
        let ids = Mutex<[String]>([])
        try await reader.read(topic: destination.topic, timeout: .seconds(30)) { message in
            if let id = message.header("event_id") { ids.withLock { $0.append(id) } }
        }
        return ids.withLock { $0 }
    }

    func tearDown(_ destination: Destination) async {
        destination.broker.withLock { $0?.stop() }
    }
}

@Suite("Kafka sink compliance (Tansu)", .serialized, .timeLimit(.minutes(5)))
struct KafkaSinkCompliance {
    let compliance = SinkCompliance(fixture: KafkaFixture())

    /// Every check of the suite, present and future: a check added to `SinkComplianceCheck.all` runs here unasked.
    @Test("compliance", arguments: SinkComplianceCheck.all)
    func compliant(_ check: SinkComplianceCheck) async throws {
        try expectCompliant(await compliance.run(check))
    }
}
