import Foundation
import GatewayTesting
import Testing

/// The Lambda-style Node.js receiver (webhook_receiver.js) as a running peer.
final class WebhookReceiver: Sendable {
    let port: Int
    let process: TestProcess
    var url: String { "http://127.0.0.1:\(port)/hook" }

    init(directory: URL, port: Int? = nil, secret: String = "") throws {
        let port = try port ?? freeLoopbackPort()
        self.port = port
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("webhook_receiver.js").path
        process = try TestProcess(
            TestProcess.Command("node", [script, String(port)], environment: ["SIGNING_SECRET": secret]),
            log: directory.appendingPathComponent("receiver-\(port).log"))
        try process.waitUntil(timeout: .seconds(20), "listening") { isListening(port: port) }
    }

    deinit { process.stop() }

    struct Record: Sendable {
        var sequence: Int
        var eventID: String
        var partitionKey: String
        var n: Int
        var ok: Bool
        var signatureOK: Bool?
        var format: String
        /// The Kafka partition, from a Kafka source.
        var partition: Int?
    }

    /// Every record handed to the receiver so far, in arrival order.
    func received() async throws -> [Record] {
        let reply = try await GatewayClient(baseURL: "http://127.0.0.1:\(port)").get("/received")
        let items = (try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [[String: Any]]) ?? []
        return items.map { item in
            Record(
                sequence: item["sequence"] as? Int ?? -1, eventID: item["event_id"] as? String ?? "",
                partitionKey: item["partition_key"] as? String ?? "", n: item["n"] as? Int ?? -1, ok: item["ok"] as? Bool ?? false,
                signatureOK: item["signature_ok"] as? Bool, format: item["format"] as? String ?? "", partition: item["partition"] as? Int)
        }
    }

    /// The distinct event numbers processed successfully.
    func delivered() async throws -> Set<Int> {
        Set(try await received().filter(\.ok).map(\.n))
    }

    func control(_ json: String) async throws {
        let reply = try await GatewayClient(baseURL: "http://127.0.0.1:\(port)").post("/control", json)
        #expect(reply.status == 200)
    }
}

/// A gateway with one subscription `orders` on `shop/orders`.
func subscriptionConfig(url: String, policy: String = "", allowLoopback: Bool = true, format: String = "sluice", secret: String? = nil)
    -> String
{
    """
    streams:
      - {team: shop, app: orders}
      - {team: shop, app: refunds}
    durability:
      dir: ./wal
    archive:
      url: file://./archive
    subscriptions:
      - name: orders
        source: {log: {streams: ["shop/orders"], starting_position: trim_horizon}}
        handler:
          webhook:
            url: "\(url)"
            format: \(format)
            timeout_s: 5
    \(secret.map { "        signing_secret: \"\($0)\"" } ?? "")
    \(policy.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    \(allowLoopback ? "network: {allowed_webhook_hosts: [\"127.0.0.1/32\"]}" : "")
    """
}

/// `n` events for `shop/orders` (numbered `from…`, keys `k0…k4`), in one NDJSON batch per 100.
func postOrders(_ gateway: GatewayClient, _ numbers: Range<Int>, poison: Set<Int> = [], app: String = "orders") async throws {
    var lines: [String] = []
    for n in numbers {
        let payload = poison.contains(n) ? "{\"n\":\(n),\"poison\":true}" : "{\"n\":\(n)}"
        lines.append("{\"team\":\"shop\",\"app\":\"\(app)\",\"partition_key\":\"k\(n % 5)\",\"event_id\":\"e-\(n)\",\"payload\":\(payload)}")
    }
    try await postLines(gateway, lines)
}

/// Posts `lines` (NDJSON events) in batches of 100 and expects each batch accepted.
func postLines(_ gateway: GatewayClient, _ lines: [String]) async throws {
    var start = 0
    while start < lines.count {
        let chunk = lines[start..<min(start + 100, lines.count)]
        let reply = try await gateway.post("/v1/events/batch", chunk.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(reply.status == 200, "\(reply.body)")
        start += 100
    }
}

@Suite("Subscriptions through the binary", .serialized)
struct SubscriptionEndToEndTests {
    @Test("every event reaches the webhook, signed, in per-key order; other streams are not delivered")
    func everyEventInOrder() async throws {
        let directory = try makeTemporaryDirectory("sub-order")
        let receiver = try WebhookReceiver(directory: directory, secret: "hook-secret")
        let gateway = try SluiceProcess(
            directory: directory, config: subscriptionConfig(url: receiver.url, policy: "batch_size: 7", secret: "${HOOK_SECRET}"),
            environment: ["HOOK_SECRET": "hook-secret"])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<200)
        try await postOrders(client, 1000..<1010, app: "refunds")
        #expect(try await eventually { try await receiver.delivered().count == 200 })
        let records = try await receiver.received()
        #expect(Set(records.map(\.n)) == Set(0..<200), "only shop/orders is subscribed")
        #expect(records.allSatisfy { $0.signatureOK == true }, "every batch carries a valid Sluice-Signature")
        for key in 0..<5 {
            let sequences = records.filter { $0.partitionKey == "k\(key)" }.map(\.sequence)
            #expect(sequences == sequences.sorted(), "per-key order for k\(key)")
        }
        let status = try await client.get("/v1/subscriptions/orders").object
        #expect((status["counts"] as? [String: Any])?["delivered"] as? Int == 200)
        #expect((status["lag"] as? [String: Any])?["records"] as? Int == 0)
        #expect(status["state"] as? String == "running")
        let metrics = try await client.get("/metrics").body
        #expect(metrics.contains("sluice_subscription_delivered_total{subscription=\"orders\"} 200"))
        #expect(metrics.contains("sluice_subscription_handler_duration_seconds"))
    }

    @Test("the Lambda format: batchItemFailures retried, bisection isolates a poison record into the dead letters, redrive delivers it")
    func poisonRecordIsolated() async throws {
        let directory = try makeTemporaryDirectory("sub-poison")
        let receiver = try WebhookReceiver(directory: directory)
        let gateway = try SluiceProcess(
            directory: directory,
            config: subscriptionConfig(url: receiver.url, policy: "batch_size: 20\nmaximum_retry_attempts: 2", format: "lambda"))
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<60, poison: [17])
        #expect(try await eventually { try await receiver.delivered() == Set(0..<60).subtracting([17]) })
        #expect(try await receiver.received().allSatisfy { $0.format == "lambda" })
        // The poison record: retried, then a dead letter with its metadata, while the rest flowed.
        var letters: [[String: Any]] = []
        #expect(
            try await eventually {
                letters = (try await client.get("/v1/subscriptions/orders/dead-letters").object["dead_letters"] as? [[String: Any]]) ?? []
                return letters.count == 1
            })
        let letter = try #require(letters.first)
        #expect(letter["condition"] as? String == "RetryAttemptsExhausted")
        #expect(letter["attempts"] as? Int == 3)
        let records = (letter["records"] as? [[String: Any]]) ?? []
        #expect(records.map { $0["event_id"] as? String } == ["e-17"])
        #expect((letter["last_error"] as? [String: Any])?["kind"] as? String == "functionError")
        // In its batch, then in the halves bisection made, then alone: 1 call + maximum_retry_attempts.
        #expect(try await receiver.received().filter { $0.n == 17 }.count >= 3)
        // Dead letters survive a restart, then redrive delivers the record once the receiver is fixed.
        _ = gateway.terminate()
        let restarted = try SluiceProcess(
            directory: directory,
            config: subscriptionConfig(url: receiver.url, policy: "batch_size: 20\nmaximum_retry_attempts: 2", format: "lambda"),
            logName: "sluice-2.log")
        defer { _ = restarted.terminate() }
        let again = GatewayClient(baseURL: restarted.baseURL)
        try await receiver.control(#"{"healed":true}"#)
        // Through the command line, as an operator would.
        let url = ["--url", restarted.baseURL, "--subscription", "orders"]
        let list = try SluiceProcess.run(["dlq", "list"] + url, in: directory)
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains("RetryAttemptsExhausted"))
        let id = try #require(letter["id"] as? String)
        let show = try SluiceProcess.run(["dlq", "show", "--id", id] + url, in: directory)
        #expect(show.status == 0 && show.output.contains("e-17"), "\(show.output)")
        let missing = try SluiceProcess.run(["dlq", "show", "--id", "nope"] + url, in: directory)
        #expect(missing.status == 1 && missing.output.contains("unknown-dead-letter"), "\(missing.output)")
        let redrive = try SluiceProcess.run(["dlq", "redrive"] + url, in: directory)
        #expect(redrive.status == 0, "\(redrive.output)")
        #expect(redrive.output.contains("\"redriven\":[\"\(id)\"]"), "\(redrive.output)")
        #expect(try await receiver.delivered() == Set(0..<60))
        #expect((try await again.get("/v1/subscriptions/orders/dead-letters").object["count"] as? Int) == 0)
    }

    @Test("a receiver down for 30 s: backoff, visible lag and age, the last error, no dead letters, everything delivered once it is up")
    func receiverDown() async throws {
        let directory = try makeTemporaryDirectory("sub-down")
        let port = try freeLoopbackPort()
        let gateway = try SluiceProcess(
            directory: directory, config: subscriptionConfig(url: "http://127.0.0.1:\(port)/hook", policy: "batch_size: 10"))
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        let outageStart = ContinuousClock.now
        try await postOrders(client, 0..<50)
        var status: [String: Any] = [:]
        #expect(
            try await eventually {
                status = try await client.get("/v1/subscriptions/orders").object
                return (status["consecutive_failures"] as? Int ?? 0) >= 2
            })
        #expect(["backing_off", "failing"].contains(status["state"] as? String ?? ""))
        #expect(((status["lag"] as? [String: Any])?["records"] as? Int ?? 0) > 0)
        #expect((status["last_error"] as? [String: Any])?["kind"] as? String == "unreachable")
        // The outage itself is the scenario: the receiver stays down for 30 s, while the lag's age grows.
        #expect(
            try await eventually(timeout: .seconds(60)) {
                let lag = try await client.get("/v1/subscriptions/orders").object["lag"] as? [String: Any]
                return (lag?["age_seconds"] as? Double ?? 0) >= 30 && ContinuousClock.now - outageStart >= .seconds(30)
            })
        #expect((try await client.get("/health").body).contains("\"orders\":{\"state\":\"failing\""))
        let receiver = try WebhookReceiver(directory: directory, port: port)
        #expect(try await eventually(timeout: .seconds(90)) { try await receiver.delivered() == Set(0..<50) })
        let after = try await client.get("/v1/subscriptions/orders").object
        #expect((after["counts"] as? [String: Any])?["dead_lettered"] as? Int == 0)
    }

    @Test("kill -9 mid-delivery: the restarted gateway resumes from the checkpoint and nothing is lost")
    func killMidDelivery() async throws {
        let directory = try makeTemporaryDirectory("sub-kill")
        let receiver = try WebhookReceiver(directory: directory)
        try await receiver.control(#"{"delay_ms":50}"#)
        let config = subscriptionConfig(url: receiver.url, policy: "batch_size: 10")
        let gateway = try SluiceProcess(directory: directory, config: config)
        try await postOrders(GatewayClient(baseURL: gateway.baseURL), 0..<400)
        #expect(try await eventually { try await receiver.delivered().count >= 50 })
        gateway.kill()
        let partial = try await receiver.delivered().count
        #expect(partial < 400, "killed mid-delivery")
        try await receiver.control(#"{"delay_ms":0}"#)
        let restarted = try SluiceProcess(directory: directory, config: config, logName: "sluice-2.log")
        defer { _ = restarted.terminate() }
        #expect(try await eventually { try await receiver.delivered() == Set(0..<400) })
    }

    @Test("replay from a timestamp redelivers exactly the events received after it; pause holds delivery back")
    func replayAndPause() async throws {
        let directory = try makeTemporaryDirectory("sub-replay")
        let receiver = try WebhookReceiver(directory: directory)
        let gateway = try SluiceProcess(directory: directory, config: subscriptionConfig(url: receiver.url))
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<20)
        #expect(try await eventually { try await receiver.delivered().count == 20 })
        let cutoff = Date()
        #expect(try await eventually { Date().timeIntervalSince(cutoff) > 0.002 }) // the next events arrive after it
        try await postOrders(client, 20..<30)
        #expect(try await eventually { try await receiver.delivered().count == 30 })
        let before = try await receiver.received().count

        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let replay = try SluiceProcess.run(
            ["replay", "--url", gateway.baseURL, "--subscription", "orders", "--timestamp", formatter.string(from: cutoff)], in: directory)
        #expect(replay.status == 0, "\(replay.output)")
        #expect(try await eventually { try await receiver.received().count == before + 10 })
        let redelivered = try await receiver.received().dropFirst(before).map(\.n)
        #expect(Set(redelivered) == Set(20..<30))

        let bad = try await client.post("/v1/subscriptions/orders/replay", #"{"from":{"timestamp":"yesterday"}}"#)
        #expect(bad.status == 400)
        let offsets = try await client.post("/v1/subscriptions/orders/replay", #"{"from":{"offset":{"partitions":[{"partition":0,"offset":1}]}}}"#)
        #expect(offsets.status == 400 && offsets.body.contains("only a kafka source"), "\(offsets.body)")
        #expect(bad.header("Content-Type") == "application/problem+json")
        #expect(try await client.get("/v1/subscriptions/nope").status == 404)

        let pause = try await client.post("/v1/subscriptions/orders/pause", "")
        #expect(pause.object["state"] as? String == "paused")
        try await postOrders(client, 30..<35)
        #expect(
            try await eventually {
                ((try await client.get("/v1/subscriptions/orders").object["lag"] as? [String: Any])?["records"] as? Int) == 5
            })
        #expect(try await receiver.delivered().count == 30, "nothing is delivered while paused")
        #expect(try await client.post("/v1/subscriptions/orders/resume", "").status == 200)
        #expect(try await eventually { try await receiver.delivered().count == 35 })
    }

    @Test("a webhook to a loopback or metadata address that is not allowed is refused, and its records are dead letters")
    func forbiddenAddress() async throws {
        let directory = try makeTemporaryDirectory("sub-ssrf")
        let receiver = try WebhookReceiver(directory: directory)
        let gateway = try SluiceProcess(directory: directory, config: subscriptionConfig(url: receiver.url, allowLoopback: false))
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<3)
        var letters: [[String: Any]] = []
        #expect(
            try await eventually {
                letters = (try await client.get("/v1/subscriptions/orders/dead-letters").object["dead_letters"] as? [[String: Any]]) ?? []
                return letters.count >= 1
            })
        #expect(letters.allSatisfy { $0["condition"] as? String == "PermanentFailure" })
        let message = ((letters.first?["last_error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("allowed_webhook_hosts"), "\(message)")
        #expect(try await receiver.received().isEmpty, "no request reached the refused address")
    }
}
