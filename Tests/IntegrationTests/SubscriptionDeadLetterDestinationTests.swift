import Foundation
import GatewayTesting
import Testing

/// `n` events for `shop/orders` with a payload of about `padding` bytes each, in one NDJSON batch.
private func postLargeOrders(_ gateway: GatewayClient, _ numbers: Range<Int>, padding: Int) async throws {
    let pad = String(repeating: "x", count: padding)
    let lines = numbers.map { n in
        "{\"team\":\"shop\",\"app\":\"orders\",\"partition_key\":\"k\(n)\",\"event_id\":\"e-\(n)\",\"payload\":{\"n\":\(n),\"pad\":\"\(pad)\"}}"
    }
    let reply = try await gateway.post("/v1/events/batch", lines.joined(separator: "\n"), contentType: "application/x-ndjson")
    #expect(reply.status == 200, "\(reply.body)")
}

/// The event ids of a dead letter's JSON object (or of a part of it).
private func eventIDs(_ letter: [String: Any]) -> [String] {
    (letter["records"] as? [[String: Any]])?.compactMap { $0["event_id"] as? String } ?? []
}

@Suite("on_failure to the archive and to Kinesis, through the binary", .serialized)
struct SubscriptionDeadLetterDestinationTests {
    @Test("on_failure to the archive: the dead letter is a file under the error prefix, apart from the sinks' rejected records")
    func deadLettersToArchive() async throws {
        let directory = try makeTemporaryDirectory("archive-dead-letters")
        let receiver = try WebhookReceiver(directory: directory)
        let config = subscriptionConfig(
            url: receiver.url, policy: "batch_size: 10\nmaximum_retry_attempts: 1\non_failure: {archive: {}}")
        let gateway = try SluiceProcess(directory: directory, config: config)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<20, poison: [7])
        #expect(try await eventually { try await receiver.delivered() == Set(0..<20).subtracting([7]) })
        let archive = directory.appendingPathComponent("archive").path
        #expect(try await eventually { try ArchiveContents.read(archive).subscriptionDeadLetterLines.count == 1 })
        let contents = try ArchiveContents.read(archive)
        let line = try #require(contents.subscriptionDeadLetterLines.first)
        #expect(line.file.hasPrefix("errors/subscriptions/subscription=orders/condition=RetryAttemptsExhausted/dt="))
        let letter = try #require(try JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any])
        #expect(letter["subscription"] as? String == "orders")
        #expect(letter["attempts"] as? Int == 2) // the first call and one retry
        #expect(eventIDs(letter) == ["e-7"])
        #expect(((letter["last_error"] as? [String: Any])?["kind"] as? String) == "functionError")
        // The sinks' error lines are untouched.
        #expect(contents.errorLines.isEmpty)
        // The gateway's own store has it too, for inspection and redrive.
        #expect((try await client.get("/v1/subscriptions/orders/dead-letters").object["count"] as? Int) == 1)
    }

    @Test(
        "on_failure to a Kinesis stream: the dead letter is a record read back with boto3; one larger than a record is split into parts"
    )
    func deadLettersToKinesis() async throws {
        let directory = try makeTemporaryDirectory("kinesis-dead-letters")
        let moto = try MotoServer(logDirectory: directory)
        defer { moto.peer.stop() }
        _ = try runKinesisPeer([moto.endpoint, "create-stream", "orders-dlq", "1"])
        let receiver = try WebhookReceiver(directory: directory)
        let config =
            subscriptionConfig(
                url: receiver.url,
                policy:
                    "batch_size: 10\nmaximum_retry_attempts: 1\nbisect_batch_on_function_error: false\non_failure: {kinesis: {stream: orders-dlq}}")
            + "\nkinesis: {endpoint_url: \"\(moto.endpoint)\", region: us-east-1}\n"
        let gateway = try SluiceProcess(
            directory: directory, config: config, environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)

        // One poison record among small ones: one dead letter, one record on the stream.
        try await postOrders(client, 0..<20, poison: [7])
        #expect(try await eventually { try await receiver.delivered() == Set(0..<20).subtracting([7]) })
        #expect(try await eventually(timeout: .seconds(30)) { try readKinesisStream(moto, "orders-dlq").count == 1 })
        let first = try #require(try readKinesisStream(moto, "orders-dlq").first?.envelope)
        #expect(first["condition"] as? String == "RetryAttemptsExhausted")
        #expect(first["subscription"] as? String == "orders")
        #expect(eventIDs(first).first == "e-7") // without bisection: from the failed item to the end of its batch, as Lambda does
        #expect(first["part"] == nil)

        // Three 400 KB records that all fail: their dead letter (1.2 MB) is larger than a record may be, so it
        // arrives as parts with the same id, covering every record once.
        try await receiver.control(#"{"status":500}"#)
        try await postLargeOrders(client, 100..<103, padding: 400_000)
        #expect(try await eventually(timeout: .seconds(60)) { try readKinesisStream(moto, "orders-dlq").count >= 3 })
        let parts = try readKinesisStream(moto, "orders-dlq").dropFirst().map(\.envelope)
        #expect(parts.count == 2)
        #expect(Set(parts.compactMap { $0["id"] as? String }).count == 1)
        #expect(parts.compactMap { $0["part"] as? Int } == [1, 2])
        #expect(parts.allSatisfy { $0["parts"] as? Int == 2 })
        #expect(parts.flatMap(eventIDs) == ["e-100", "e-101", "e-102"])
        // The gateway's store keeps each dead letter whole.
        let stored = try await client.get("/v1/subscriptions/orders/dead-letters").object
        #expect(stored["count"] as? Int == 2)
    }
}
