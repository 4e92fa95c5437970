import Crypto
import Foundation
import GatewayTesting
import KafkaClient
import Logging
import Synchronization
import Testing

/// Producer tests against a real broker (Tansu, started per test) with librdkafka 2.16 loaded
/// through LD_LIBRARY_PATH=.tools/kafka/lib. Peers come from scripts/kafka-peers; missing peers
/// fail the tests (they are not skipped).
@Suite struct ProducerTests {
    let logger = KafkaTestEnvironment.logger

    @Test func loadsLibrdkafka216() {
        let version = KafkaProducer.librdkafkaVersion
        logger.notice("librdkafka version in use: \(version)")
        print("librdkafka version in use: \(version)")
        #expect(
            version.hasPrefix("2.16."),
            "librdkafka \(version) is loaded; run the tests with LD_LIBRARY_PATH=.tools/kafka/lib (scripts/kafka-peers creates it)")
    }

    // MARK: Round trip

    static func expectedKey(_ tag: Int) -> [UInt8]? { tag % 3 == 0 ? nil : Array("key-\(tag)".utf8) }
    static func expectedValue(_ tag: Int) -> [UInt8] {
        if tag % 7 == 0 { return [] }
        return Array("value-\(tag)-".utf8) + (0..<(tag % 50)).map { UInt8(truncatingIfNeeded: $0 &* tag) }
    }
    static func expectedHeaders(_ tag: Int) -> [(String, [UInt8])] {
        tag % 5 == 0 ? [("trace", Array("t-\(tag)".utf8)), ("empty", []), ("binary", [0, 255, UInt8(tag % 256)])] : []
    }

    @Test func tenThousandMessagesRoundTrip() throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let topic = "roundtrip"
        try broker.createTopic(topic, partitions: 3)
        let count = 10_000
        let collector = ReportCollector(target: count)
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": broker.bootstrapServers, "linger.ms": "5"], logger: logger
        ) { collector.add($0) }
        defer { producer.close() }

        for tag in 0..<count {
            let value = Self.expectedValue(tag)
            if tag % 2 == 0 {
                try producer.produce(
                    topic: topic, key: Self.expectedKey(tag), value: value, headers: Self.expectedHeaders(tag), tag: UInt64(tag))
            } else { // an ArraySlice view of a larger buffer
                let padded = [9, 9] + value + [9]
                try producer.produce(
                    topic: topic, key: Self.expectedKey(tag), value: padded[2..<(2 + value.count)],
                    headers: Self.expectedHeaders(tag), tag: UInt64(tag))
            }
        }
        #expect(collector.wait(timeout: .seconds(60)), "only \(collector.reports.count) of \(count) delivery reports")
        try producer.flush(timeout: .seconds(10))
        #expect(producer.outQueueLength == 0)

        let reports = collector.reports
        #expect(reports.count == count)
        var seen = [Int](repeating: 0, count: count)
        var lastOffset: [Int32: Int64] = [:]
        var tagAt: [String: Int] = [:]
        for report in reports {
            #expect(report.error == nil, "tag \(report.tag): \(String(describing: report.error))")
            #expect(report.topic == topic)
            let tag = Int(report.tag)
            guard tag < count else {
                Issue.record("unknown tag \(tag)")
                continue
            }
            seen[tag] += 1
            if let last = lastOffset[report.partition] {
                #expect(report.offset > last, "partition \(report.partition): offset \(report.offset) after \(last)")
            }
            lastOffset[report.partition] = report.offset
            tagAt["\(report.partition)/\(report.offset)"] = tag
        }
        #expect(seen.allSatisfy { $0 == 1 }, "tags reported other than once: \(seen.enumerated().filter { $0.element != 1 }.prefix(5))")
        #expect(Set(reports.map(\.partition)).count == 3, "messages spread over the 3 partitions")
        #expect(collector.batches < count / 2, "reports arrive in batches (\(collector.batches) batches)")
        #expect(reports.allSatisfy { $0.latency != nil })

        let read = try KafkaTestEnvironment.readBack(broker: broker, topic: topic, expected: count)
        #expect(read.count == count)
        var mismatches = 0
        for message in read {
            guard let tag = tagAt["\(message.partition)/\(message.offset)"] else {
                Issue.record("read \(message.partition)/\(message.offset), which no delivery report named")
                continue
            }
            let value = Self.expectedValue(tag)
            let ok =
                message.key == KafkaTestEnvironment.base64(Self.expectedKey(tag))
                && message.value == KafkaTestEnvironment.base64(value)
                && message.value_len == value.count
                && message.headers == Self.expectedHeaders(tag).map { [$0.0, KafkaTestEnvironment.base64($0.1)] }
            if !ok {
                mismatches += 1
                if mismatches <= 5 { Issue.record("tag \(tag) read back differently: \(message)") }
            }
        }
        #expect(mismatches == 0)

        // The module's own reader (sluice verify --kafka) reads the same messages back, batches and all.
        let reader = try KafkaTopicReader(properties: ["bootstrap.servers": broker.bootstrapServers], logger: logger)
        var readBySelf = 0
        var selfMismatches = 0
        let total = try reader.read(topic: topic, timeout: .seconds(60)) { message in
            readBySelf += 1
            guard let tag = tagAt["\(message.partition)/\(message.offset)"],
                message.key == Self.expectedKey(tag), message.value == Self.expectedValue(tag),
                message.headers.map({ "\($0.name)=\($0.value)" }) == Self.expectedHeaders(tag).map({ "\($0.0)=\($0.1)" })
            else {
                selfMismatches += 1
                return
            }
        }
        #expect(total == count && readBySelf == count)
        #expect(selfMismatches == 0)
    }

    @Test func readingAnUnknownTopicIsAnError() throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let reader = try KafkaTopicReader(properties: ["bootstrap.servers": broker.bootstrapServers], logger: logger)
        let error = #expect(throws: KafkaError.self) {
            try reader.read(topic: "no-such-topic", timeout: .seconds(20)) { _ in }
        }
        #expect(error?.name.contains("UNKNOWN") == true, "\(String(describing: error))")
    }

    // MARK: Large messages

    @Test(arguments: [1_000_000, 8 * 1024 * 1024])
    func largeMessageRoundTrip(size: Int) throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let topic = "large-\(size)"
        try broker.createTopic(topic, partitions: 1)
        let collector = ReportCollector(target: 2)
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": broker.bootstrapServers, "message.max.bytes": String(size + 1_000_000)],
            logger: logger
        ) { collector.add($0) }
        defer { producer.close() }
        var values: [[UInt8]] = []
        for tag in 0..<2 {
            var generator = SystemRandomNumberGenerator()
            let value = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            values.append(value)
            try producer.produce(topic: topic, key: Array("big-\(tag)".utf8), value: value, tag: UInt64(tag))
        }
        #expect(collector.wait(timeout: .seconds(60)))
        let reports = collector.reports.sorted { $0.tag < $1.tag }
        #expect(reports.map(\.tag) == [0, 1])
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.map { String(describing: $0.error) })")

        let read = try KafkaTestEnvironment.readBack(broker: broker, topic: topic, expected: 2).sorted { $0.offset < $1.offset }
        #expect(read.count == 2)
        for (index, message) in read.enumerated() where index < 2 {
            #expect(message.value_len == size)
            #expect(message.value_sha256 == SHA256.hash(data: values[index]).map { String(format: "%02x", $0) }.joined())
            #expect(message.key == KafkaTestEnvironment.base64(Array("big-\(index)".utf8)))
        }
    }

    // MARK: Configuration and failures

    @Test func unknownPropertyIsNamed() {
        let error = #expect(throws: KafkaConfigurationError.self) {
            _ = try KafkaProducer(properties: ["bootstrap.servers": "127.0.0.1:1", "no.such.property": "1"], logger: logger) {
                _ in
            }
        }
        #expect(error?.property == "no.such.property")
        #expect(error?.message.contains("No such configuration property") == true, "\(String(describing: error))")
        #expect(error.map { "\($0)" }?.contains("no.such.property") == true)
    }

    @Test func invalidValueIsNamed() {
        let error = #expect(throws: KafkaConfigurationError.self) {
            _ = try KafkaProducer(properties: ["acks": "banana"], logger: logger) { _ in }
        }
        #expect(error?.property == "acks")
        #expect(error?.message.isEmpty == false)
    }

    @Test func unreachableBrokerReportsTimedOutMessages() throws {
        let port = try KafkaPeers.freePort() // nothing listens there
        let collector = ReportCollector(target: 5)
        let clientErrors = Mutex<[KafkaError]>([])
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": "127.0.0.1:\(port)", "message.timeout.ms": "1000"],
            logger: logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { collector.add($0) },
                error: { error in clientErrors.withLock { $0.append(error) } }
            )
        )
        defer { producer.close(timeout: .zero) }
        for tag in 0..<5 {
            try producer.produce(topic: "nowhere", key: nil, value: Array("m\(tag)".utf8), tag: UInt64(100 + tag))
        }
        #expect(collector.wait(timeout: .seconds(30)))
        let reports = collector.reports
        #expect(Set(reports.map(\.tag)) == Set(100..<105))
        for report in reports {
            #expect(report.error?.name == "_MSG_TIMED_OUT", "\(String(describing: report.error))")
            #expect(report.error?.code == KafkaError.Code.messageTimedOut)
            #expect(report.error?.isRetriable == true)
            #expect(report.error?.isFatal == false)
            #expect(report.offset == KafkaDeliveryReport.invalidOffset)
        }
        let names = clientErrors.withLock { $0.map(\.name) }
        #expect(names.contains { $0 == "_TRANSPORT" || $0 == "_ALL_BROKERS_DOWN" }, "client errors: \(names)")
    }

    @Test func fullQueueThrowsQueueFull() throws {
        let port = try KafkaPeers.freePort()
        let collector = ReportCollector(target: 10)
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": "127.0.0.1:\(port)", "queue.buffering.max.messages": "10"], logger: logger
        ) { collector.add($0) }
        for tag in 0..<10 { try producer.produce(topic: "t", value: [1, 2, 3], tag: UInt64(tag)) }
        let error = #expect(throws: KafkaError.self) { try producer.produce(topic: "t", value: [4], tag: 10) }
        #expect(error?.isQueueFull == true)
        #expect(error?.name == "_QUEUE_FULL")
        #expect(error?.isRetriable == true)
        // Closing purges the 10 queued messages: each still gets exactly one report.
        #expect(producer.close(timeout: .zero) == 10)
        #expect(collector.wait(timeout: .seconds(5)))
        let reports = collector.reports
        #expect(reports.map(\.tag).sorted() == Array(0..<10))
        #expect(reports.allSatisfy { $0.error?.name == "_PURGE_QUEUE" }, "\(reports.map { String(describing: $0.error) })")
        let closed = #expect(throws: KafkaError.self) { try producer.produce(topic: "t", value: [5], tag: 11) }
        #expect(closed?.name == "_STATE")
        #expect(producer.close() == 0) // idempotent
    }

    // MARK: Statistics and OAUTHBEARER

    @Test func statisticsArriveAsJSON() throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let statistics = Signal<String>()
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": broker.bootstrapServers, "statistics.interval.ms": "100"],
            logger: logger,
            handlers: KafkaClientHandlers(deliveryReports: { _ in }, statistics: { statistics.set($0) })
        )
        defer { producer.close() }
        let json = try #require(statistics.wait(seconds: 20))
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["type"] as? String == "producer")
        #expect(object?["brokers"] != nil)
    }

    @Test(arguments: [true, false])
    func oauthBearerRefreshIsTriggered(succeed: Bool) throws {
        let port = try KafkaPeers.freePort()
        let asked = Signal<String>()
        let expiry = Int64(Date().timeIntervalSince1970 * 1000) + 600_000
        let producer = try KafkaProducer(
            properties: [
                "bootstrap.servers": "127.0.0.1:\(port)",
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "OAUTHBEARER",
                "sasl.oauthbearer.config": "principal=test-principal",
            ],
            logger: logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { _ in },
                oauthBearerToken: { config in
                    asked.set(config ?? "<nil>")
                    if succeed {
                        return .success(
                            KafkaOAuthBearerToken(
                                value: "eyJhbGciOiJub25lIn0.e30.", lifetimeMs: expiry, principal: "test-principal",
                                extensions: ["traceId": "abc"]))
                    }
                    return .failure(KafkaOAuthBearerTokenError("no credentials in this test"))
                }
            )
        )
        let config = asked.wait(seconds: 20)
        #expect(config == "principal=test-principal")
        producer.close(timeout: .zero) // joins the poll thread: the callback has finished
        switch producer.lastOAuthBearerTokenRefresh {
        case .success(let lifetime):
            #expect(succeed)
            #expect(lifetime == expiry)
        case .failure(let failure):
            #expect(!succeed, "\(failure)")
            #expect(failure.message == "no credentials in this test")
        case nil:
            Issue.record("no token refresh recorded")
        }
    }
}
