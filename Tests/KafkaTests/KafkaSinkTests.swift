import Foundation
import GatewayApp
import GatewayConfig
import GatewayCore
import GatewayTesting
import KafkaClient
import MetricsTestKit
import Testing

@testable import KafkaSink

/// The sink against a real broker (Tansu, started per test; librdkafka 2.16 through
/// LD_LIBRARY_PATH=.tools/kafka/lib), read back with the Python confluent-kafka consumer.
@Suite(.serialized) struct KafkaSinkTests {
    let logger = SinkTestEnvironment.logger

    static func configuration(_ broker: TansuBroker, properties: [String: String] = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = broker.bootstrapServers
        configuration.properties = properties
        return configuration
    }

    /// Checks what the reader saw against the records and their receipts.
    static func verify(
        _ messages: [ReadMessage], records: [UInt64: SinkRecord], receipts: [UInt64: Receipt]?, topic: String
    ) {
        for message in messages {
            guard let key = message.keyText, key.hasPrefix("key-"), let sequence = UInt64(key.dropFirst(4)),
                let record = records[sequence]
            else {
                Issue.record("unexpected message key \(String(describing: message.keyText))")
                continue
            }
            let headers = message.headerTexts
            #expect(message.headers.compactMap { $0.first ?? nil } == ["event_id", "team", "app"])
            #expect(headers["event_id"] == record.event.eventID)
            #expect(headers["team"] == record.event.team)
            #expect(headers["app"] == record.event.app)
            #expect(message.value_len == record.event.envelope.count)
            #expect(message.value_sha256 == SinkTestEnvironment.sha256Hex(record.event.envelope))
            if record.event.envelope.count <= 4096 {
                #expect(message.value == SinkTestEnvironment.base64(record.event.envelope))
            }
            if let receipts {
                #expect(
                    receipts[sequence] == .kafka(topic: topic, partition: message.partition, offset: message.offset),
                    "record \(sequence)")
            }
        }
    }

    @Test func twoThousandRecordsAreAcceptedReleasedAndReadBack() async throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let topic = "sink-roundtrip"
        try broker.createTopic(topic, partitions: 3)
        let metrics = TestMetrics()
        // A local queue smaller than one batch of 100, so every write() meets _QUEUE_FULL and waits for delivery reports.
        let sink = try KafkaSink(
            configuration: Self.configuration(broker, properties: ["queue.buffering.max.messages": "50"]),
            credentials: nil, region: "eu-west-1", logger: logger, metricsFactory: metrics)
        let recorder = RecordingReporter()
        try await sink.whileRunning {

            let count: UInt64 = 2000
            var records: [UInt64: SinkRecord] = [:]
            var batch: [SinkRecord] = []
            for sequence in 1...count {
                let record = SinkTestEnvironment.record(sequence: sequence, topic: topic, size: sequence % 10 == 0 ? 300 * 1024 : 200)
                records[sequence] = record
                batch.append(record)
                if batch.count == 100 {
                    await sink.write(batch, reporter: recorder.reporter)
                    batch.removeAll()
                }
            }
            await sink.tick(reporter: recorder.reporter)
            let done = await recorder.wait(timeout: .seconds(120)) { $0.released.count == Int(count) }
            await sink.flush(reporter: recorder.reporter)
            let snapshot = recorder.snapshot
            #expect(done, "released \(snapshot.released.count) of \(count)")
            #expect(sink.inFlightCount == 0)
            #expect(sink.queueFullWaits > 0, "the small queue made write() wait for delivery reports")
            #expect(snapshot.rejected.isEmpty)
            #expect(snapshot.lost.isEmpty)
            #expect(snapshot.releasedBeforeAccepted.isEmpty)
            #expect(snapshot.releaseCalls < Int(count), "released in batches")
            var receipts: [UInt64: Receipt] = [:]
            for sequence in 1...count {
                #expect(snapshot.accepted[sequence]?.count == 1, "record \(sequence) accepted \(snapshot.accepted[sequence]?.count ?? 0)×")
                #expect(snapshot.released[sequence] == 1, "record \(sequence) released \(snapshot.released[sequence] ?? 0)×")
                if let first = snapshot.accepted[sequence]?.first {
                    receipts[sequence] = first.receipt
                    #expect(first.attempts >= 1)
                }
            }

            let messages = try SinkTestEnvironment.readBack(broker: broker, topic: topic, expected: Int(count))
            #expect(messages.count == Int(count))
            #expect(Set(messages.compactMap(\.keyText)).count == Int(count), "every record exactly once in the topic")
            Self.verify(messages, records: records, receipts: receipts, topic: topic)

            let produced = try metrics.expectCounter("sluice_kafka_produced_messages_total", [("topic", topic)])
            #expect(produced.totalValue == Int64(count))
            let bytes = try metrics.expectCounter("sluice_kafka_produced_bytes_total", [("topic", topic)])
            #expect(bytes.totalValue == Int64(records.values.reduce(0) { $0 + $1.event.envelope.count }))
            let timer = try metrics.expectTimer("sluice_kafka_delivery_seconds", [("topic", topic)])
            #expect(timer.values.count == Int(count))
            #expect(try metrics.expectGauge("sluice_kafka_in_flight_messages").lastValue == 0)
        }
    }

    @Test func brokerRestartLosesNothing() async throws {
        let first = try TansuBroker.start()
        var firstStopped = false
        defer { if !firstStopped { first.stop() } }
        let port = first.port
        let topic = "sink-restart"
        try first.createTopic(topic, partitions: 2)
        let sink = try KafkaSink(
            configuration: Self.configuration(
                first,
                properties: [
                    "message.timeout.ms": "3000", "reconnect.backoff.ms": "50", "reconnect.backoff.max.ms": "500",
                    "retry.backoff.ms": "50", "topic.metadata.refresh.interval.ms": "1000",
                ]),
            credentials: nil, region: "eu-west-1", logger: logger)
        let recorder = RecordingReporter()
        try await sink.whileRunning {
            var records: [UInt64: SinkRecord] = [:]
            func write(_ range: ClosedRange<UInt64>) async {
                let batch = range.map { SinkTestEnvironment.record(sequence: $0, topic: topic, size: $0 % 25 == 0 ? 100_000 : 300) }
                for record in batch { records[record.sequence] = record }
                for chunk in stride(from: 0, to: batch.count, by: 50) {
                    await sink.write(Array(batch[chunk..<min(chunk + 50, batch.count)]), reporter: recorder.reporter)
                }
            }

            // Before the stop: everything accepted, and read back from the first broker.
            await write(1...200)
            let before = await recorder.wait(timeout: .seconds(60)) { $0.released.count == 200 }
            #expect(before, "released \(recorder.snapshot.released.count) of 200 before the stop")
            let early = recorder.snapshot
            var receipts: [UInt64: Receipt] = [:]
            for (sequence, accepted) in early.accepted { receipts[sequence] = accepted.first?.receipt }
            let firstMessages = try SinkTestEnvironment.readBack(broker: first, topic: topic, expected: 200)
            #expect(firstMessages.count == 200)
            Self.verify(firstMessages, records: records, receipts: receipts, topic: topic)

            // Stop the broker mid-run: these records cannot be delivered for now.
            first.stop()
            firstStopped = true
            await write(201...500)
            #expect(sink.inFlightCount > 0)

            // Same port, empty broker (in-memory storage): recreate the topic.
            let second = try TansuBroker.start(port: port)
            defer { second.stop() }
            try SinkTestEnvironment.createTopic(topic, partitions: 2, on: second)
            let after = await recorder.wait(timeout: .seconds(180)) { $0.released.count == 500 }
            await sink.flush(reporter: recorder.reporter)
            let snapshot = recorder.snapshot
            #expect(after, "released \(snapshot.released.count) of 500 after the restart")
            #expect(snapshot.rejected.isEmpty)
            #expect(snapshot.lost.isEmpty)
            #expect(snapshot.releasedBeforeAccepted.isEmpty)
            for sequence in UInt64(1)...500 {
                #expect(snapshot.accepted[sequence]?.count == 1, "record \(sequence) accepted \(snapshot.accepted[sequence]?.count ?? 0)×")
                #expect(snapshot.released[sequence] == 1, "record \(sequence) released \(snapshot.released[sequence] ?? 0)×")
            }
            #expect(sink.inFlightCount == 0)

            // Everything written while the broker was down is on the second broker (at least once).
            var acceptedOnSecond = 0
            for sequence in UInt64(201)...500 { if snapshot.accepted[sequence] != nil { acceptedOnSecond += 1 } }
            let secondMessages = try SinkTestEnvironment.readBack(broker: second, topic: topic, expected: 300)
            let keys = Set(secondMessages.compactMap(\.keyText))
            for sequence in UInt64(201)...500 { #expect(keys.contains("key-\(sequence)"), "record \(sequence) missing after the restart") }
            Self.verify(secondMessages, records: records, receipts: nil, topic: topic)
        }
    }

    @Test func recordsOverMessageMaxBytesAreRejected() async throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let topic = "sink-too-large"
        try broker.createTopic(topic, partitions: 1)
        let metrics = TestMetrics()
        let sink = try KafkaSink(
            configuration: Self.configuration(broker, properties: ["message.max.bytes": "10000", "batch.size": "10000"]),
            credentials: nil, region: "eu-west-1", logger: logger, metricsFactory: metrics)
        let recorder = RecordingReporter()
        try await sink.whileRunning {
            let records = (UInt64(1)...6).map {
                SinkTestEnvironment.record(sequence: $0, topic: topic, size: $0.isMultiple(of: 3) ? 20_000 : 200)
            }
            await sink.write(records, reporter: recorder.reporter)
            let done = await recorder.wait(timeout: .seconds(60)) { $0.released.count == 4 && $0.rejected.count == 2 }
            let snapshot = recorder.snapshot
            #expect(done, "released \(snapshot.released.count), rejected \(snapshot.rejected.count)")
            for sequence in [UInt64(3), 6] {
                let failures = snapshot.rejected[sequence] ?? []
                #expect(failures.count == 1)
                #expect(failures.first?.code == "MSG_SIZE_TOO_LARGE")
                #expect(failures.first?.attempts.count == 1)
                #expect(failures.first?.attempts.first?.errorCode == "MSG_SIZE_TOO_LARGE")
                #expect(snapshot.released[sequence] == nil, "the caller releases rejected records")
                #expect(snapshot.accepted[sequence] == nil)
            }
            for sequence in [UInt64(1), 2, 4, 5] { #expect(snapshot.released[sequence] == 1) }
            #expect(sink.inFlightCount == 0)
            let errors = try metrics.expectCounter("sluice_kafka_errors_total", [("topic", topic), ("error_code", "MSG_SIZE_TOO_LARGE")])
            #expect(errors.totalValue == 2)
        }
    }
}

/// A fatal producer error mid-run: the sink replaces the producer and nothing is lost.
@Suite(.serialized) struct KafkaSinkFatalErrorTests {
    @Test func fatalErrorReplacesTheProducerAndLosesNothing() async throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let topic = "sink-fatal"
        try broker.createTopic(topic, partitions: 2)
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = broker.bootstrapServers
        configuration.lingerMs = 50
        let sink = try KafkaSink(configuration: configuration, credentials: nil, region: "eu-west-1", logger: SinkTestEnvironment.logger)
        let recorder = RecordingReporter()
        try await sink.whileRunning {
            var records: [UInt64: SinkRecord] = [:]
            let all = (UInt64(1)...600).map { SinkTestEnvironment.record(sequence: $0, topic: topic, size: $0 % 50 == 0 ? 50_000 : 400) }
            for record in all { records[record.sequence] = record }

            await sink.write(Array(all[0..<300]), reporter: recorder.reporter)
            #expect(sink.simulateFatalError())
            await sink.write(Array(all[300...]), reporter: recorder.reporter)

            let done = await recorder.wait(timeout: .seconds(120)) { $0.released.count == 600 }
            let snapshot = recorder.snapshot
            #expect(done, "released \(snapshot.released.count) of 600")
            #expect(sink.producerGenerations == 2)
            #expect(snapshot.rejected.isEmpty)
            #expect(snapshot.releasedBeforeAccepted.isEmpty)
            for sequence in UInt64(1)...600 {
                #expect(snapshot.accepted[sequence]?.count == 1, "record \(sequence) accepted \(snapshot.accepted[sequence]?.count ?? 0)×")
                #expect(snapshot.released[sequence] == 1, "record \(sequence) released \(snapshot.released[sequence] ?? 0)×")
            }
            #expect(sink.inFlightCount == 0)
            // At least once: every record is in the topic, and its receipt names one of its copies.
            var receipts: Set<String> = []
            for (_, accepted) in snapshot.accepted {
                if let receipt = accepted.first?.receipt, receipt.key == "kafka", let partition = receipt.integer("partition"),
                    let offset = receipt.integer("offset")
                {
                    receipts.insert("\(partition)/\(offset)")
                }
            }
            let messages = try SinkTestEnvironment.readBack(broker: broker, topic: topic, expected: -1)
            #expect(messages.count >= 600)
            let keys = Set(messages.compactMap(\.keyText))
            for sequence in UInt64(1)...600 { #expect(keys.contains("key-\(sequence)"), "record \(sequence) missing") }
            let readPositions = Set(messages.map { "\($0.partition)/\($0.offset)" })
            #expect(receipts.isSubset(of: readPositions))
            KafkaSinkTests.verify(messages, records: records, receipts: nil, topic: topic)
        }
    }
}
