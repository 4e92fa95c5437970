import GatewayApp
import GatewayConfig
import KafkaClient
import KinesisAPI
import KinesisAggregation
import Logging
import Testing

@testable import Verification

private func envelope(_ id: String) -> [UInt8] {
    Array("{\"v\":1,\"event_id\":\"\(id)\",\"team\":\"web\",\"app\":\"clicks\",\"payload\":{\"n\":1}}".utf8)
}

@Suite("Reading Kinesis records back for verify")
struct KinesisStreamSourceTests {
    @Test("plain and aggregated records yield every envelope's id, numbered in shard order; a damaged aggregate is corrupt")
    func records() {
        var aggregator = RecordAggregator()
        for id in ["a-1", "a-2", "a-3"] {
            let appended = aggregator.append(UserRecord(partitionKey: id, data: envelope(id)))
            #expect(appended)
        }
        var damaged = aggregator.encode()
        damaged[damaged.count - 1] ^= 0xFF // the MD5 trailer no longer matches
        var audit = DeliveryAudit(expected: ["p-1", "a-1", "a-2", "a-3", "p-2"])
        let container = audit.openContainer("stream/shardId-000000000000")
        var ordinal = 0
        let records = [
            KinesisAPI.ReadRecord(data: envelope("p-1"), partitionKey: "p-1", sequenceNumber: "1"),
            KinesisAPI.ReadRecord(data: aggregator.encode(), partitionKey: "a", sequenceNumber: "2"),
            KinesisAPI.ReadRecord(data: envelope("p-2"), partitionKey: "p-2", sequenceNumber: "3"),
            KinesisAPI.ReadRecord(data: damaged, partitionKey: "a", sequenceNumber: "4"),
            KinesisAPI.ReadRecord(data: Array("not json".utf8), partitionKey: "x", sequenceNumber: "5"),
        ]
        for record in records { KinesisStreamSource.read(record, container: container, ordinal: &ordinal, into: &audit) }
        let report = audit.report(sources: ["kinesis stream stream"], idsFile: "ids.txt")
        #expect(report.found == 5)
        #expect(report.missing == 0)
        #expect(report.corruptLines == 2)
        #expect(report.corrupt.map(\.location) == ["stream/shardId-000000000000:6", "stream/shardId-000000000000:6"])
        #expect(report.corrupt.first?.reason.contains("aggregated record 4") == true)
        #expect(!report.passed)
    }
}

@Suite("Reading Kafka messages back for verify")
struct KafkaTopicSourceTests {
    private func message(_ value: [UInt8], header: String?) -> KafkaReadMessage {
        KafkaReadMessage(
            partition: 0, offset: 7, key: nil, value: value, headers: header.map { [("event_id", Array($0.utf8))] } ?? [])
    }

    @Test("the id comes from the envelope and must agree with the event_id header")
    func parse() {
        #expect(KafkaTopicSource.parse(message(envelope("e-1"), header: "e-1")) == .event(id: "e-1"))
        #expect(KafkaTopicSource.parse(message(envelope("e-1"), header: nil)) == .event(id: "e-1"))
        guard case .corrupt(let reason) = KafkaTopicSource.parse(message(envelope("e-1"), header: "e-2")) else {
            Issue.record("a header that disagrees with the envelope is not reported")
            return
        }
        #expect(reason.contains("e-2") && reason.contains("e-1"))
        guard case .corrupt = KafkaTopicSource.parse(message(Array("{\"event_id\":".utf8), header: nil)) else {
            Issue.record("a truncated value is not reported")
            return
        }
    }

    @Test("the reader connects with the sink's brokers and security but none of the producer's settings")
    func properties() throws {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = "b1:9092,b2:9092"
        configuration.security.securityProtocol = "sasl_ssl"
        configuration.security.saslMechanism = "SCRAM-SHA-512"
        configuration.security.username = "user"
        configuration.security.password = "secret"
        configuration.properties = ["client.id": "audit", "linger.ms": "20"]
        // As `sluice verify` builds them: the connection mapping `serve` uses, then the pass-through properties.
        let properties = KafkaTopicSource.readerProperties(
            connection: try KafkaConnectionConfiguration(configuration), passThrough: configuration.properties)
        #expect(properties["bootstrap.servers"] == "b1:9092,b2:9092")
        #expect(properties["security.protocol"] == "sasl_ssl")
        #expect(properties["sasl.mechanism"] == "SCRAM-SHA-512")
        #expect(properties["sasl.username"] == "user")
        #expect(properties["client.id"] == "audit")
        #expect(properties["linger.ms"] == "20") // asked for explicitly: passed through
        #expect(properties["acks"] == nil)
        #expect(properties["enable.idempotence"] == nil)
        #expect(properties["queue.buffering.max.kbytes"] == nil)
        // librdkafka accepts the set for a reader.
        let reader = try KafkaTopicReader(properties: properties, logger: Logger(label: "test"))
        withExtendedLifetime(reader) {}
    }
}
