import Foundation
import GatewayTesting
import Testing

/// A gateway whose `shop/orders` events go to the Kafka topic `orders-large`, with a subscription reading that topic
/// through consumer group `group`.
private func kafkaSubscriptionConfig(bootstrap: String, group: String, url: String) -> String {
    """
    streams:
      - {team: shop, app: orders, kafka_topic: orders-large}
    durability:
      dir: ./wal
    archive:
      url: file://./archive
    kafka:
      bootstrap_servers: \(bootstrap)
      linger_ms: 5
    subscriptions:
      - name: orders-from-kafka
        source:
          kafka:
            topic: orders-large
            group_id: \(group)
            starting_position: trim_horizon
            properties: {session.timeout.ms: 6000, heartbeat.interval.ms: 500}
        handler: {webhook: {url: "\(url)", timeout_s: 5}}
        batch_size: 20
    network: {allowed_webhook_hosts: ["127.0.0.1/32"]}
    """
}

/// The partitions a gateway's Kafka subscription owns now (from its status).
private func assignedPartitions(_ client: GatewayClient) async throws -> Set<String> {
    let positions = (try await client.get("/v1/subscriptions/orders-from-kafka").object["positions"] as? [[String: Any]]) ?? []
    return Set(positions.compactMap { $0["partition"] as? String })
}

/// `numbers` as large_message events (the Kafka route) through `client`.
private func postToKafka(_ client: GatewayClient, _ numbers: Range<Int>) async throws {
    let lines = numbers.map {
        "{\"team\":\"shop\",\"app\":\"orders\",\"partition_key\":\"k\($0 % 8)\",\"event_id\":\"e-\($0)\",\"large_message\":true,\"payload\":{\"n\":\($0)}}"
    }
    let reply = try await client.post("/v1/events/batch", lines.joined(separator: "\n"), contentType: "application/x-ndjson")
    #expect(reply.status == 200, "\(reply.body)")
}

@Suite("A Kafka topic as a subscription source, shared by two gateways in one consumer group", .serialized, .timeLimit(.minutes(4)))
struct KafkaSubscriptionTests {
    @Test("two gateways split the partitions; kill -9 of one moves its partitions to the other and nothing is lost")
    func groupSplitsAndFailsOver() async throws {
        let directory = try makeTemporaryDirectory("kafka-subscription")
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        try broker.createTopic("orders-large", partitions: 4)
        let receiver = try WebhookReceiver(directory: directory)
        let group = "sluice-test-\(UInt32.random(in: 0...UInt32.max))"
        let config = kafkaSubscriptionConfig(bootstrap: broker.bootstrapServers, group: group, url: receiver.url)
        let first = try SluiceProcess(directory: directory.appendingPathComponent("a"), config: config)
        defer { _ = first.terminate() }
        let second = try SluiceProcess(directory: directory.appendingPathComponent("b"), config: config)
        defer { second.kill() }
        let a = GatewayClient(baseURL: first.baseURL)
        let b = GatewayClient(baseURL: second.baseURL)

        // Both members joined: the four partitions are split between them.
        #expect(
            try await eventually(timeout: .seconds(90)) {
                let (ofA, ofB) = (try await assignedPartitions(a), try await assignedPartitions(b))
                return !ofA.isEmpty && !ofB.isEmpty && ofA.isDisjoint(with: ofB) && ofA.union(ofB).count == 4
            })
        try await postToKafka(a, 0..<100)
        #expect(try await eventually(timeout: .seconds(60)) { try await receiver.delivered() == Set(0..<100) })

        // One member dies without leaving the group: after the session timeout its partitions move to the other,
        // which resumes at the committed offsets.
        let cutoff = Date()
        #expect(try await eventually { Date().timeIntervalSince(cutoff) > 0.005 }) // the next events are produced after it
        second.kill()
        try await postToKafka(a, 100..<200)
        #expect(try await eventually(timeout: .seconds(90)) { try await receiver.delivered() == Set(0..<200) })
        #expect(try await assignedPartitions(a).count == 4)
        // Replay by time: offsets-for-times, then the time checked on every message (Tansu answers per batch).
        let before = try await receiver.received().count
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let replay = try await a.post(
            "/v1/subscriptions/orders-from-kafka/replay", "{\"from\":{\"timestamp\":\"\(formatter.string(from: cutoff))\"}}")
        #expect(replay.status == 202)
        #expect(try await eventually(timeout: .seconds(60)) { try await receiver.received().count >= before + 100 })
        let replayed = try await receiver.received().dropFirst(before).map(\.n)
        #expect(Set(replayed) == Set(100..<200), "exactly the events produced after the time")
        // Replay one partition to an offset: exactly that partition's records from there are delivered again.
        let partitionZero = Set(try await receiver.received().filter { $0.partition == 0 }.map(\.n))
        #expect(!partitionZero.isEmpty)
        let beforeOffsets = try await receiver.received().count
        let byOffset = try await a.post(
            "/v1/subscriptions/orders-from-kafka/replay", #"{"from":{"offset":{"partitions":[{"partition":0,"offset":0}]}}}"#)
        #expect(byOffset.status == 202, "\(byOffset.body)")
        #expect(
            try await eventually(timeout: .seconds(60)) { try await receiver.received().count >= beforeOffsets + partitionZero.count })
        let again = try await receiver.received().dropFirst(beforeOffsets)
        #expect(again.allSatisfy { $0.partition == 0 })
        #expect(Set(again.map(\.n)) == partitionZero)
        let status = try await a.get("/v1/subscriptions/orders-from-kafka").object
        #expect((status["source"] as? [String: Any])?["kafka"] != nil)
        #expect((status["counts"] as? [String: Any])?["dead_lettered"] as? Int == 0)
    }

    @Test("on_failure to a Kafka topic: the dead letter, with its metadata and records, is produced there before the position moves")
    func deadLettersToKafka() async throws {
        let directory = try makeTemporaryDirectory("kafka-dead-letters")
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        try broker.createTopic("orders-dlq", partitions: 1)
        let receiver = try WebhookReceiver(directory: directory)
        let config =
            subscriptionConfig(
                url: receiver.url,
                policy: "batch_size: 10\nmaximum_retry_attempts: 1\non_failure: {kafka: {topic: orders-dlq}}")
            + "\nkafka: {bootstrap_servers: \(broker.bootstrapServers)}\n"
        let gateway = try SluiceProcess(directory: directory, config: config)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<20, poison: [7])
        #expect(try await eventually { try await receiver.delivered() == Set(0..<20).subtracting([7]) })
        let messages = try readTopic(broker, "orders-dlq", expected: 1)
        #expect(messages.count == 1)
        let letter = try #require(messages.first?.envelope)
        #expect(letter["condition"] as? String == "RetryAttemptsExhausted")
        #expect(letter["subscription"] as? String == "orders")
        #expect((letter["records"] as? [[String: Any]])?.map { $0["event_id"] as? String } == ["e-7"])
        #expect(messages.first?.key == "orders")
        // The gateway's own store has it too, for inspection and redrive.
        #expect((try await client.get("/v1/subscriptions/orders/dead-letters").object["count"] as? Int) == 1)
    }

    @Test(
        "with sasl_mechanism AWS_MSK_IAM the Kafka source and the dead-letter producer start, and librdkafka takes their MSK IAM tokens"
    )
    func mskIAMForSubscriptions() async throws {
        let directory = try makeTemporaryDirectory("kafka-subscription-msk")
        // Nothing listens there: the token is built and handed to librdkafka before any connection.
        let port = try freeLoopbackPort()
        let config = """
            streams:
              - {team: shop, app: orders}
            durability: {dir: ./wal}
            archive: {url: file://./archive}
            kafka:
              bootstrap_servers: 127.0.0.1:\(port)
              security: {protocol: sasl_ssl, sasl_mechanism: AWS_MSK_IAM}
            subscriptions:
              - name: msk-orders
                source: {kafka: {topic: orders-large, group_id: billing}}
                handler: {webhook: {url: "http://127.0.0.1:9/hook"}}
                on_failure: {kafka: {topic: orders-dlq}}
            network: {allowed_webhook_hosts: ["127.0.0.1/32"]}
            """
        let gateway = try SluiceProcess(
            directory: directory, config: config,
            environment: [
                "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1", "LOG_LEVEL": "debug",
            ])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        #expect((try await client.get("/v1/subscriptions/msk-orders").object["name"] as? String) == "msk-orders")
        // One token for each librdkafka client: the Kafka sink's producer, the subscription's consumer and its
        // dead-letter producer.
        #expect(try await eventually(timeout: .seconds(30)) { gateway.log.components(separatedBy: "OAUTHBEARER token set").count - 1 >= 3 })
        #expect(!gateway.log.contains("OAUTHBEARER token refresh failed"))
        #expect(!gateway.log.contains("rd_kafka_oauthbearer_set_token:"))
    }
}
