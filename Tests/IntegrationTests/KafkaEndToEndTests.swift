import Foundation
import GatewayTesting
import Testing

/// The independent Kafka reader (Python confluent-kafka), shared with the Kafka module's tests.
private let readTopicScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("KafkaTests/read_topic.py")

/// One message read back from the topic (also read by the subscription tests).
struct KafkaMessage {
    var partition: Int
    var offset: Int
    var key: String
    var headers: [String: String]
    var valueLength: Int
    var envelope: [String: Any]?
}

func readTopic(_ broker: TansuBroker, _ topic: String, expected: Int) throws -> [KafkaMessage] {
    let output = try PythonScript.run(
        readTopicScript, arguments: [broker.bootstrapServers, topic, String(expected), "120"],
        hint: "read_topic.py needs python3 with confluent-kafka: run scripts/kafka-peers")
    func text(_ base64: String?) -> String { base64.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
    return try output.split(separator: UInt8(ascii: "\n")).map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] ?? [:]
        var headers: [String: String] = [:]
        for pair in object["headers"] as? [[Any]] ?? [] where pair.count == 2 {
            if let name = pair[0] as? String { headers[name] = text(pair[1] as? String) }
        }
        let value = (object["value"] as? String).flatMap { Data(base64Encoded: $0) }
        return KafkaMessage(
            partition: object["partition"] as? Int ?? -1, offset: object["offset"] as? Int ?? -1, key: text(object["key"] as? String),
            headers: headers, valueLength: object["value_len"] as? Int ?? -1,
            envelope: value.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        )
    }
}

private func kafkaConfig(bootstrap: String, kinesisEndpoint: String?, extra: String = "") -> String {
    backendTestConfig(
        streamLines: (kinesisEndpoint == nil ? [] : ["kinesis_stream: clicks-stream"]) + ["kafka_topic: clicks-large"],
        sections: (kinesisEndpoint.map { "kinesis:\n  endpoint_url: \($0)\n  region: us-east-1\n" } ?? "")
            + "kafka:\n  bootstrap_servers: \(bootstrap)\n  linger_ms: 5\n\(extra)"
    )
}

private func backlog(_ client: GatewayClient, sink: String) async throws -> Int {
    let health = try await client.get("/health")
    let sinks = health.object["sinks"] as? [String: Any]
    return (sinks?[sink] as? [String: Any])?["backlog_records"] as? Int ?? -1
}

private func event(_ id: String, padding: Int, largeMessage: Bool = false) -> String {
    "{\"team\":\"web\",\"app\":\"clicks\",\"event_id\":\"\(id)\"\(largeMessage ? ",\"large_message\":true" : ""),\"payload\":{\"id\":\"\(id)\",\"pad\":\"\(String(repeating: "k", count: padding))\"}}"
}

@Suite("Kafka end to end: sluice → Tansu (Kafka protocol) → confluent-kafka", .serialized, .timeLimit(.minutes(5)))
struct KafkaEndToEndTests {
    @Test(
        "large events (and small ones marked large_message) reach Kafka exactly once with key, headers and value; small ones go to Kinesis; receipts match offsets"
    )
    func mixedRouting() async throws {
        let directory = try makeTemporaryDirectory("kafka-e2e")
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        try broker.createTopic("clicks-large", partitions: 3)
        let moto = try MotoServer(logDirectory: directory)
        defer { moto.peer.stop() }
        let created = try runCommand(
            "python3",
            [
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("kinesis_peer.py").path,
                moto.endpoint, "create-stream", "clicks-stream", "2",
            ])
        #expect(created.status == 0, "\(created.errors)")

        let sluice = try SluiceProcess(
            directory: directory, config: kafkaConfig(bootstrap: broker.bootstrapServers, kinesisEndpoint: moto.endpoint),
            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]
        )
        defer { sluice.terminate() }
        #expect(sluice.log.contains("librdkafka"))
        let client = GatewayClient(baseURL: sluice.baseURL)

        let small = (0..<300).map { "small-\($0)" }
        let large = (0..<40).map { "large-\($0)" }
        let marked = (0..<20).map { "marked-\($0)" }
        let smallBody = small.map { event($0, padding: 200) }.joined(separator: "\n")
        let batch = try await client.post("/v1/events/batch", smallBody, contentType: "application/x-ndjson")
        #expect(batch.status == 200)
        let receipts = try await withThrowingTaskGroup(of: (String, GatewayClient.Reply).self) { group in
            for (index, id) in large.enumerated() {
                group.addTask { (id, try await client.post(index % 2 == 0 ? "/v1/events/confirmed" : "/v1/events", event(id, padding: 300_000))) }
            }
            for id in marked {
                group.addTask { (id, try await client.post("/v1/events/confirmed", event(id, padding: 200, largeMessage: true))) }
            }
            var replies: [String: GatewayClient.Reply] = [:]
            for try await (id, reply) in group { replies[id] = reply }
            return replies
        }
        for (id, reply) in receipts {
            #expect((200...202).contains(reply.status), "\(id): \(reply.body.prefix(500))")
            #expect(reply.object["route"] as? String == "kafka", "\(id)")
        }
        // Up to the configured maximum (message_max_bytes, 8 MiB as on MSK Serverless) an event flows; past every
        // route's limit it is a 413 naming the limit.
        let huge = try await client.post("/v1/events/confirmed", event("huge-0", padding: 7_000_000))
        #expect(huge.status == 200, "\(huge.body.prefix(500))")
        let tooLarge = try await client.post("/v1/events", event("too-large", padding: 9_000_000))
        #expect(tooLarge.status == 413)
        #expect(tooLarge.body.contains("8388608"), "\(tooLarge.body.prefix(500))")
        #expect(try await eventually { try await backlog(client, sink: "kafka") == 0 }, "\(sluice.log.suffix(2000))")
        #expect(try await eventually { try await backlog(client, sink: "kinesis") == 0 })

        let messages = try readTopic(broker, "clicks-large", expected: large.count + marked.count + 1)
        var byID: [String: [KafkaMessage]] = [:]
        for message in messages { byID[message.headers["event_id"] ?? "", default: []].append(message) }
        #expect(messages.count == large.count + marked.count + 1)
        #expect(Set(byID.keys) == Set(large + marked + ["huge-0"]))
        #expect(byID["huge-0"]?.first?.valueLength ?? 0 > 7_000_000)
        #expect(byID.values.allSatisfy { $0.count == 1 })
        #expect(!small.contains { byID[$0] != nil }, "a small event reached Kafka")
        for (id, found) in byID {
            guard let message = found.first else { continue }
            #expect(message.key == id) // the partition key defaults to the event id
            #expect(message.headers["team"] == "web")
            #expect(message.headers["app"] == "clicks")
            if id.hasPrefix("large") || id.hasPrefix("huge") {
                #expect(message.valueLength > 300_000)
            } else {
                let payload = message.envelope?["payload"] as? [String: Any]
                #expect(payload?["id"] as? String == id)
                #expect(message.envelope?["event_id"] as? String == id)
            }
            if let reply = receipts[id], reply.status == 200 {
                let kafka = reply.object["kafka"] as? [String: Any]
                #expect(kafka?["topic"] as? String == "clicks-large")
                #expect(kafka?["partition"] as? Int == message.partition, "\(id)")
                #expect(kafka?["offset"] as? Int == message.offset, "\(id)")
            }
        }
        let metrics = try await client.get("/metrics").body
        #expect(metrics.contains("sluice_kafka_produced_messages_total"))

        // The audit a user runs: the acknowledged ids, against the stream and the topic together (each event went to
        // exactly one of them) and against the archive (which has every event), with the gateway's own config.
        let accepted = small + large + marked + ["huge-0"]
        try accepted.joined(separator: "\n").write(to: directory.appendingPathComponent("acked.txt"), atomically: true, encoding: .utf8)
        #expect(sluice.terminate() == 0)
        let credentials = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]
        let verified = try SluiceProcess.run(
            [
                "verify", "--ids", "acked.txt", "--config", "config.yaml", "--kinesis", "clicks-stream", "--kafka", "clicks-large",
                "--archive", "archive", "--fail-on-duplicates", "--timeout", "60s", "--json", "verify.json",
            ],
            in: directory, environment: credentials)
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("against kinesis stream clicks-stream, kafka topic clicks-large: "), "\(verified.output)")
        let reports = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("verify.json"))) as? [[String: Any]])
        #expect(reports.count == 2)
        #expect(reports.allSatisfy { $0["found"] as? Int == accepted.count && $0["missing"] as? Int == 0 && $0["duplicated"] as? Int == 0 })

        // An id that never reached either backend fails the audit and is named; an unknown topic is a clear error.
        try (accepted + ["never-sent"]).joined(separator: "\n").write(
            to: directory.appendingPathComponent("tampered.txt"), atomically: true, encoding: .utf8)
        let tampered = try SluiceProcess.run(
            [
                "verify", "--ids", "tampered.txt", "--kafka", "clicks-large", "--bootstrap-servers", broker.bootstrapServers, "--timeout", "60s",
                "--show", "400",
            ],
            in: directory)
        #expect(tampered.status == 1, "\(tampered.output)")
        #expect(tampered.output.contains("never-sent"))
        #expect(tampered.output.contains("missing     301"), "\(tampered.output)") // the 300 small events went to Kinesis
        let unknown = try SluiceProcess.run(
            ["verify", "--ids", "acked.txt", "--kafka", "no-such-topic", "--bootstrap-servers", broker.bootstrapServers, "--timeout", "20s"],
            in: directory)
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(unknown.output.contains("no-such-topic"), "\(unknown.output)")
    }

    @Test("the broker stopped and started again mid-run: events accepted meanwhile wait in the log and all arrive")
    func brokerOutage() async throws {
        let directory = try makeTemporaryDirectory("kafka-outage")
        let broker = try TansuBroker.start()
        try broker.createTopic("clicks-large", partitions: 2)
        let sluice = try SluiceProcess(
            directory: directory,
            config: kafkaConfig(bootstrap: broker.bootstrapServers, kinesisEndpoint: nil, extra: "  properties:\n    message.timeout.ms: \"4000\"")
        )
        defer { sluice.terminate() }
        let client = GatewayClient(baseURL: sluice.baseURL)
        let before = (0..<50).map { "before-\($0)" }
        for id in before { #expect(try await client.post("/v1/events", event(id, padding: 120_000)).status == 202) }
        #expect(try await eventually { try await backlog(client, sink: "kafka") == 0 })
        let first = try readTopic(broker, "clicks-large", expected: before.count)
        #expect(Set(first.compactMap { $0.headers["event_id"] }) == Set(before))
        broker.stop()

        let during = (0..<60).map { "during-\($0)" }
        for id in during { #expect(try await client.post("/v1/events", event(id, padding: 120_000)).status == 202) }
        #expect(try await backlog(client, sink: "kafka") > 0)

        let restarted = try TansuBroker.start(port: broker.port)
        defer { restarted.stop() }
        try restarted.createTopic("clicks-large", partitions: 2)
        #expect(try await eventually(timeout: .seconds(120)) { try await backlog(client, sink: "kafka") == 0 }, "\(sluice.log.suffix(3000))")
        let second = try readTopic(restarted, "clicks-large", expected: -1)
        let ids = second.compactMap { $0.headers["event_id"] }
        #expect(Set(ids).isSuperset(of: during), "missing \(Set(during).subtracting(ids).count)")
    }

    @Test("bad Kafka config: an unknown librdkafka property is a clear start-up error; an unreachable broker fails /ready")
    func badConfig() async throws {
        let directory = try makeTemporaryDirectory("kafka-bad-config")
        let unknown = kafkaConfig(bootstrap: "127.0.0.1:9", kinesisEndpoint: nil, extra: "  properties:\n    no.such.property: \"1\"")
        try unknown.write(to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let check = try SluiceProcess.run(["check-config", "bad.yaml"], in: directory)
        #expect(check.status != 0)
        #expect(check.output.contains("no.such.property"), "\(check.output)")
        #expect(throws: (any Error).self) { try SluiceProcess(directory: directory, config: unknown, logName: "refused.log") }

        let unreachable = try SluiceProcess(
            directory: directory.appendingPathComponent("unreachable"), config: kafkaConfig(bootstrap: "127.0.0.1:1", kinesisEndpoint: nil)
        )
        defer { unreachable.terminate() }
        let client = GatewayClient(baseURL: unreachable.baseURL)
        #expect(try await client.post("/v1/events", event("queued", padding: 200_000)).status == 202)
        #expect(try await eventually { try await client.get("/ready").status == 503 }, "\(unreachable.log.suffix(2000))")
        let ready = try await client.get("/ready")
        #expect(ready.body.contains("kafka"), "\(ready.body)")
    }
}
