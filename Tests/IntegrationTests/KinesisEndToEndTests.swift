import Foundation
import GatewayTesting
import Testing

/// The Kinesis peer script next to this file (boto3 + aws-kinesis-agg).
private let kinesisPeerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("kinesis_peer.py").path

/// Runs `kinesis_peer.py`; fails the test with its stderr when it fails.
func runKinesisPeer(_ arguments: [String]) throws -> String {
    let result = try runCommand("python3", [kinesisPeerScript] + arguments)
    guard result.status == 0 else {
        throw PeerProcessError(message: "kinesis_peer.py \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.errors)")
    }
    return result.output
}

/// One user record read back from Kinesis by the independent client.
struct KinesisStoredEvent {
    var eventID: String
    var shardID: String
    var sequenceNumber: String
    var subSequenceNumber: Int?
    var aggregated: Bool
    var envelope: [String: Any]
}

/// Every user record of `stream`, read back with boto3 and deaggregated.
func readKinesisStream(_ moto: MotoServer, _ stream: String, credentials: (String, String)? = nil) throws -> [KinesisStoredEvent] {
    var arguments = [moto.endpoint, "read", stream]
    if let credentials { arguments += [credentials.0, credentials.1] }
    return try runKinesisPeer(arguments).split(separator: "\n").compactMap { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let data = object["data"] as? String,
            let envelope = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
        else { return nil }
        return KinesisStoredEvent(
            eventID: envelope["event_id"] as? String ?? "", shardID: object["shard_id"] as? String ?? "",
            sequenceNumber: object["sequence_number"] as? String ?? "", subSequenceNumber: object["sub_sequence_number"] as? Int,
            aggregated: object["aggregated"] as? Bool ?? false, envelope: envelope
        )
    }
}

private func kinesisConfig(endpoint: String, extra: String = "") -> String {
    backendTestConfig(
        streamLines: ["kinesis_stream: clicks-stream"],
        sections: "kinesis:\n  endpoint_url: \(endpoint)\n  region: us-east-1\n\(extra)"
    )
}

/// Posts `ids` as NDJSON batches of `batchSize`, `parallel` batches at a time; returns how many got a 2xx.
private func postBatches(_ client: GatewayClient, _ ids: [String], batchSize: Int = 100, parallel: Int = 4) async throws -> Int {
    let chunks = stride(from: 0, to: ids.count, by: batchSize).map { Array(ids[$0..<min($0 + batchSize, ids.count)]) }
    var accepted = 0
    try await withThrowingTaskGroup(of: Int.self) { group in
        var next = 0
        func addNext() {
            guard next < chunks.count else { return }
            let chunk = chunks[next]
            next += 1
            group.addTask {
                let body = chunk.map { eventBody($0) }.joined(separator: "\n")
                let reply = try await client.post("/v1/events/batch", body, contentType: "application/x-ndjson")
                return reply.status == 200 ? (reply.object["accepted"] as? Int ?? 0) : 0
            }
        }
        for _ in 0..<parallel { addNext() }
        while let count = try await group.next() {
            accepted += count
            addNext()
        }
    }
    return accepted
}

private func kinesisBacklog(_ client: GatewayClient) async throws -> Int {
    let health = try await client.get("/health")
    let sinks = health.object["sinks"] as? [String: Any]
    return (sinks?["kinesis"] as? [String: Any])?["backlog_records"] as? Int ?? -1
}

@Suite("Kinesis end to end: sluice → moto (real Kinesis protocol) → boto3", .serialized, .timeLimit(.minutes(5)))
struct KinesisEndToEndTests {
    @Test("thousands of events arrive exactly once, aggregated in the KPL format, signed for a signature-checking endpoint; receipts match")
    func endToEnd() async throws {
        let directory = try makeTemporaryDirectory("kinesis-e2e")
        let moto = try MotoServer(logDirectory: directory)
        defer { moto.peer.stop() }
        _ = try runKinesisPeer([moto.endpoint, "create-stream", "clicks-stream", "4"])
        let keys = try JSONSerialization.jsonObject(with: Data(try runKinesisPeer([moto.endpoint, "enable-auth"]).utf8)) as? [String: String] ?? [:]
        let accessKey = try #require(keys["access_key_id"])
        let secret = try #require(keys["secret_access_key"])

        let sluice = try SluiceProcess(
            directory: directory, config: kinesisConfig(endpoint: moto.endpoint),
            environment: ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret]
        )
        defer { sluice.terminate() }
        let client = GatewayClient(baseURL: sluice.baseURL)

        let runID = UUID().uuidString.prefix(8)
        let fireAndForget = (0..<3000).map { "ff-\(runID)-\($0)" }
        let confirmed = (0..<40).map { "cf-\(runID)-\($0)" }
        async let accepted = postBatches(client, fireAndForget)
        let receipts = try await withThrowingTaskGroup(of: (String, GatewayClient.Reply).self) { group in
            for id in confirmed { group.addTask { (id, try await client.post("/v1/events/confirmed", eventBody(id))) } }
            var replies: [String: GatewayClient.Reply] = [:]
            for try await (id, reply) in group { replies[id] = reply }
            return replies
        }
        #expect(try await accepted == fireAndForget.count)
        for (id, reply) in receipts {
            #expect(reply.status == 200, "confirmed \(id): \(reply.body)")
        }
        #expect(try await eventually { try await kinesisBacklog(client) == 0 }, "the Kinesis sink did not catch up:\n\(sluice.log.suffix(3000))")

        let stored = try readKinesisStream(moto, "clicks-stream", credentials: (accessKey, secret))
        var byID: [String: [KinesisStoredEvent]] = [:]
        for event in stored { byID[event.eventID, default: []].append(event) }
        let missing = (fireAndForget + confirmed).filter { byID[$0] == nil }
        let duplicated = byID.filter { $0.value.count > 1 }.keys
        #expect(missing.count == 0, "events missing, e.g. \(missing.prefix(5))")
        #expect(duplicated.count == 0, "events stored more than once, e.g. \(duplicated.prefix(5))")
        #expect(stored.count == fireAndForget.count + confirmed.count)
        #expect(stored.contains { $0.aggregated }, "no record was aggregated")
        #expect(Set(stored.map(\.shardID)).count == 4)
        for event in stored.prefix(200) {
            let payload = event.envelope["payload"] as? [String: Any]
            #expect(payload?["id"] as? String == event.eventID)
            #expect(event.envelope["team"] as? String == "web")
            #expect(event.envelope["partition_key"] as? String == event.eventID)
        }
        for (id, reply) in receipts {
            let kinesis = reply.object["kinesis"] as? [String: Any]
            let record = try #require(byID[id]?.first)
            #expect(kinesis?["stream"] as? String == "clicks-stream")
            #expect(kinesis?["shard_id"] as? String == record.shardID)
            #expect(kinesis?["sequence_number"] as? String == record.sequenceNumber)
            #expect(kinesis?["sub_sequence_number"] as? Int == record.subSequenceNumber)
            #expect((reply.object["attempts"] as? Int ?? 0) >= 1)
        }
        let metrics = try await client.get("/metrics").body
        #expect(metrics.contains("sluice_kinesis_put_records_calls_total"))
        #expect(metrics.contains("sluice_kinesis_shard_user_records_total"))

        // `sluice verify --kinesis` reads the stream back itself (signed, deaggregated) and agrees; an id that never
        // arrived fails the audit by name; a stream that does not exist is a clear error.
        let credentials = ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret]
        try (fireAndForget + confirmed).joined(separator: "\n").write(
            to: directory.appendingPathComponent("acked.txt"), atomically: true, encoding: .utf8)
        let verified = try SluiceProcess.run(
            ["verify", "--ids", "acked.txt", "--config", "config.yaml", "--kinesis", "clicks-stream", "--fail-on-duplicates", "--timeout", "60s"],
            in: directory, environment: credentials)
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("4 shards, \(stored.count) records"), "\(verified.output)")
        #expect(verified.output.contains("found       \(fireAndForget.count + confirmed.count)"), "\(verified.output)")
        try (fireAndForget + confirmed + ["never-sent"]).joined(separator: "\n").write(
            to: directory.appendingPathComponent("tampered.txt"), atomically: true, encoding: .utf8)
        let tampered = try SluiceProcess.run(
            ["verify", "--ids", "tampered.txt", "--config", "config.yaml", "--kinesis", "clicks-stream", "--timeout", "60s"],
            in: directory, environment: credentials)
        #expect(tampered.status == 1, "\(tampered.output)")
        #expect(tampered.output.contains("missing     1") && tampered.output.contains("never-sent"), "\(tampered.output)")
        let unknown = try SluiceProcess.run(
            ["verify", "--ids", "acked.txt", "--config", "config.yaml", "--kinesis", "no-such-stream", "--timeout", "20s"],
            in: directory, environment: credentials)
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(unknown.output.contains("ResourceNotFoundException"), "\(unknown.output)")
    }

    @Test("a wrong secret is refused by the signature check: the confirmed request gets 502 with the attempts")
    func wrongSecret() async throws {
        let directory = try makeTemporaryDirectory("kinesis-auth")
        let moto = try MotoServer(logDirectory: directory)
        defer { moto.peer.stop() }
        _ = try runKinesisPeer([moto.endpoint, "create-stream", "clicks-stream", "1"])
        let keys = try JSONSerialization.jsonObject(with: Data(try runKinesisPeer([moto.endpoint, "enable-auth"]).utf8)) as? [String: String] ?? [:]
        let accessKey = try #require(keys["access_key_id"])
        let sluice = try SluiceProcess(
            directory: directory, config: kinesisConfig(endpoint: moto.endpoint, extra: "  record_ttl_ms: 1500\n  min_backoff_ms: 50"),
            environment: ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": "not-the-secret"]
        )
        defer { sluice.terminate() }
        let reply = try await GatewayClient(baseURL: sluice.baseURL).post("/v1/events/confirmed", eventBody("bad-signature"))
        #expect(reply.status == 502, "\(reply.body)")
        #expect(reply.object["error_code"] as? String == "ttl_expired")
        let attempts = reply.object["attempts"] as? [[String: Any]] ?? []
        #expect(!attempts.isEmpty || reply.body.contains("never sent"), "\(reply.body)")
        #expect(sluice.log.contains("SignatureDoesNotMatch") || sluice.log.contains("InvalidSignature"), "\(sluice.log.suffix(2000))")
    }

    @Test("moto stopped and started again: events accepted meanwhile wait in the log and all arrive")
    func outage() async throws {
        let directory = try makeTemporaryDirectory("kinesis-outage")
        let moto = try MotoServer(logDirectory: directory)
        defer { moto.peer.stop() }
        _ = try runKinesisPeer([moto.endpoint, "create-stream", "clicks-stream", "2"])
        let sluice = try SluiceProcess(
            directory: directory, config: kinesisConfig(endpoint: moto.endpoint, extra: "  max_backoff_ms: 500"),
            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]
        )
        defer { sluice.terminate() }
        let client = GatewayClient(baseURL: sluice.baseURL)
        let before = (0..<500).map { "before-\($0)" }
        #expect(try await postBatches(client, before) == before.count)
        #expect(try await eventually { try await kinesisBacklog(client) == 0 })
        let storedBefore = Set(try readKinesisStream(moto, "clicks-stream").map(\.eventID))
        #expect(storedBefore.count == before.count && storedBefore.isSuperset(of: before))

        moto.peer.stop()
        let during = (0..<800).map { "during-\($0)" }
        #expect(try await postBatches(client, during) == during.count)
        let health = try await client.get("/health")
        #expect(try await kinesisBacklog(client) > 0, "\(health.body)")

        try moto.peer.start()
        _ = try runKinesisPeer([moto.endpoint, "create-stream", "clicks-stream", "2"])
        #expect(try await eventually { try await kinesisBacklog(client) == 0 }, "\(sluice.log.suffix(3000))")
        let storedAfter = try readKinesisStream(moto, "clicks-stream").map(\.eventID)
        let missingAfter = Set(during).subtracting(storedAfter)
        #expect(missingAfter.count == 0, "e.g. \(missingAfter.prefix(5))")
        #expect(storedAfter.count == during.count)
        #expect(sluice.log.contains("ConnectionError") || sluice.log.contains("ResourceNotFoundException"))
    }
}
