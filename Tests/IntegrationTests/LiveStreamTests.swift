import Foundation
import GatewayTesting
import Testing

/// The standard-library SSE client next to this file.
private let liveClient = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("live_client.py").path

private let liveConfig = """
    streams:
      - {team: shop, app: orders}
      - {team: shop, app: refunds}
    durability: {dir: ./wal}
    archive: {url: file://./archive}
    live: {ping_interval_s: 1}
    """

/// The WebSocket client next to this file (the `websockets` package of .tools/venv).
private let webSocketClient = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ws_client.py").path

/// Starts `live_client.py` (or `script`) with `arguments` and waits until its request is sent (or answered).
private func startClient(_ directory: URL, _ name: String, _ arguments: [String], script: String = liveClient) throws -> TestProcess {
    let client = try TestProcess(
        TestProcess.Command("python3", [script] + arguments), log: directory.appendingPathComponent("\(name).log"))
    try client.waitUntil(timeout: .seconds(20), "the live client connected") { client.log.contains("open") }
    return client
}

/// The events a client printed, in order.
private func received(_ client: TestProcess) -> [(id: String, eventID: String, sequence: Int)] {
    client.log.split(separator: "\n").compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let eventID = object["event_id"] as? String
        else { return nil }
        return (object["id"] as? String ?? "", eventID, object["sequence"] as? Int ?? -1)
    }
}

/// `numbers` as events of `shop/<app>` with about 2 KB of payload each, 50 per NDJSON batch.
private func post(_ gateway: GatewayClient, _ numbers: Range<Int>, app: String = "orders") async throws {
    let pad = String(repeating: "p", count: 2000)
    var start = numbers.lowerBound
    while start < numbers.upperBound {
        let end = min(start + 50, numbers.upperBound)
        let lines = (start..<end).map { n in
            "{\"team\":\"shop\",\"app\":\"\(app)\",\"partition_key\":\"k\(n % 4)\",\"event_id\":\"\(app)-\(n)\",\"payload\":{\"n\":\(n),\"pad\":\"\(pad)\"}}"
        }
        let reply = try await gateway.post("/v1/events/batch", lines.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(reply.status == 200, "\(reply.body)")
        start = end
    }
}

@Suite("Live streams (server-sent events) and the events API, through the binary", .serialized, .timeLimit(.minutes(3)))
struct LiveStreamTests {
    @Test(
        "an SSE client gets every event of its stream in order while another stops reading; a reconnect with Last-Event-ID misses nothing"
    )
    func serverSentEvents() async throws {
        let directory = try makeTemporaryDirectory("live-sse")
        let gateway = try SluiceProcess(directory: directory, config: liveConfig)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        let url = gateway.baseURL + "/v1/streams/shop/orders/live"
        // A client that never reads: its socket buffers fill within the first few hundred KB.
        let stalled = try startClient(directory, "stalled", [url, "stall"])
        defer { stalled.stop() }
        let reader = try startClient(directory, "reader", [url, "300"])
        defer { reader.stop() }

        try await post(client, 0..<150)
        try await post(client, 0..<40, app: "refunds") // another stream: never on this one
        try await post(client, 150..<300)
        try reader.waitUntil(timeout: .seconds(60), "the reader got 300 events") { !reader.isRunning }
        #expect(reader.terminationStatus == 0, "\(reader.logTail())")
        let events = received(reader)
        #expect(events.map(\.eventID) == (0..<300).map { "orders-\($0)" })
        #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        #expect(events.allSatisfy { $0.id == String($0.sequence) })
        #expect(stalled.isRunning)

        // Reconnecting after the 200th event resumes right after it: the last 100, each once.
        let resumed = try startClient(directory, "resumed", [url, "100", events[199].id])
        defer { resumed.stop() }
        try resumed.waitUntil(timeout: .seconds(30), "the resumed reader got 100 events") { !resumed.isRunning }
        #expect(received(resumed).map(\.eventID) == (200..<300).map { "orders-\($0)" })

        // ?from= starts at a sequence; a filter keeps one partition key.
        let filtered = try startClient(
            directory, "filtered", [url + "?from=0&partition_key=k1", "75"])
        defer { filtered.stop() }
        try filtered.waitUntil(timeout: .seconds(30), "the filtered reader got 75 events") { !filtered.isRunning }
        #expect(received(filtered).map(\.eventID) == stride(from: 1, to: 300, by: 4).map { "orders-\($0)" })
    }

    @Test("the events API pages through a stream with a cursor and filters; mistakes are problem+json; SIGTERM ends open live streams")
    func eventsAPIAndShutdown() async throws {
        let directory = try makeTemporaryDirectory("live-events")
        let gateway = try SluiceProcess(directory: directory, config: liveConfig)
        var stopped = false
        defer { if !stopped { _ = gateway.terminate() } }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await post(client, 0..<30)
        try await post(client, 0..<10, app: "refunds")

        var ids: [String] = []
        var from = 0
        var pages = 0
        while pages < 10 {
            let page = try await client.get("/v1/streams/shop/orders/events?from=\(from)&limit=12").object
            let events = page["events"] as? [[String: Any]] ?? []
            ids += events.compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String }
            pages += 1
            guard let next = page["next"] as? Int, next > from, !events.isEmpty else { break }
            from = next
        }
        #expect(ids == (0..<30).map { "orders-\($0)" })
        let filtered = try await client.get("/v1/streams/shop/orders/events?pointer=/n&value=7").object
        #expect((filtered["events"] as? [[String: Any]])?.count == 1)

        let unknown = try await client.get("/v1/streams/shop/nope/events")
        #expect(unknown.status == 404)
        #expect(unknown.object["type"] as? String == "urn:sluice:problem:unknown-stream")
        let badLimit = try await client.get("/v1/streams/shop/orders/events?limit=0")
        #expect(badLimit.status == 400)
        #expect(badLimit.body.contains("limit"))
        let badPointer = try await client.get("/v1/streams/shop/orders/events?pointer=n&value=1")
        #expect(badPointer.status == 400)
        let noAccept = try await client.get("/v1/streams/shop/orders/live")
        #expect(noAccept.status == 406)

        // A live connection open at SIGTERM is ended by the server, and the gateway stops.
        let open = try startClient(directory, "open", [gateway.baseURL + "/v1/streams/shop/orders/live", "1000"])
        defer { open.stop() }
        stopped = true
        #expect(gateway.terminate() == 0)
        try open.waitUntil(timeout: .seconds(20), "the live client saw the end") { !open.isRunning }
        #expect(open.log.contains("end"))
    }

    @Test("a client resuming from records the log no longer holds gets a lagged notice, then every event from the oldest held")
    func laggedNotice() async throws {
        let directory = try makeTemporaryDirectory("live-lagged")
        // 1 MiB segments and a 6 MiB quota: once the archive released them, the oldest segments make room for new ones.
        let config = """
            streams:
              - {team: shop, app: orders}
            durability: {dir: ./wal, segment_size_mb: 1, max_disk_mb: 6}
            archive: {url: file://./archive, buffer: {interval_s: 0.2}}
            live: {ping_interval_s: 1}
            """
        let gateway = try SluiceProcess(directory: directory, config: config)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        var first = 0
        var posted = 0
        while first == 0, posted < 20_000 {
            try await post(client, posted..<(posted + 500))
            posted += 500
            #expect(try await eventually { try await client.archiveBacklog() == 0 })
            first = try await client.get("/v1/streams").object["first_sequence"] as? Int ?? 0
        }
        #expect(first > 0, "the log dropped its oldest records")
        let next = try await client.get("/v1/streams").object["next_sequence"] as? Int ?? 0

        let resumed = try startClient(directory, "lagged", [gateway.baseURL + "/v1/streams/shop/orders/live?from=0", String(next - first)])
        defer { resumed.stop() }
        try resumed.waitUntil(timeout: .seconds(60), "the client got every event held") { !resumed.isRunning }
        #expect(resumed.terminationStatus == 0, "\(resumed.logTail())")
        let lines = resumed.log.split(separator: "\n").map(String.init)
        let notice = try #require(lines.first { $0.contains("\"notice\"") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(notice.utf8)) as? [String: Any])
        #expect(object["notice"] as? String == "lagged")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["skipped_from"] as? Int == 0)
        #expect(data["skipped_to"] as? Int == first - 1)
        #expect(data["resume_from"] as? Int == first)
        let events = received(resumed)
        #expect(events.first?.sequence == first)
        #expect(events.map(\.sequence) == Array(first..<next), "nothing skipped or repeated after the gap")

        let page = try await client.get("/v1/streams/shop/orders/events?from=0&limit=5").object
        let skipped = try #require(page["skipped"] as? [String: Any])
        #expect(skipped["from"] as? Int == 0 && skipped["to"] as? Int == first - 1)
    }

    @Test(
        "with live.websocket, a WebSocket client and an SSE client get every event in order, ?from resumes, and the edge still sees every first request"
    )
    func webSocket() async throws {
        let directory = try makeTemporaryDirectory("live-ws")
        let config = liveConfig.replacingOccurrences(
            of: "live: {ping_interval_s: 1}", with: "live: {ping_interval_s: 1, websocket: true}\nserver: {max_header_kb: 8, read_timeout_s: 2}")
        let gateway = try SluiceProcess(directory: directory, config: config)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        let path = "/v1/streams/shop/orders/live"
        let webSocketURL = "ws://127.0.0.1:\(gateway.port)" + path
        let stalled = try startClient(directory, "stalled", [gateway.baseURL + path, "stall"])
        defer { stalled.stop() }
        let ws = try startClient(directory, "ws", [webSocketURL, "300"], script: webSocketClient)
        defer { ws.stop() }
        let sse = try startClient(directory, "sse", [gateway.baseURL + path, "300"])
        defer { sse.stop() }

        try await post(client, 0..<150)
        try await post(client, 0..<40, app: "refunds")
        try await post(client, 150..<300)
        for reader in [ws, sse] {
            try reader.waitUntil(timeout: .seconds(60), "the reader got 300 events") { !reader.isRunning }
            #expect(reader.terminationStatus == 0, "\(reader.logTail())")
            #expect(received(reader).map(\.eventID) == (0..<300).map { "orders-\($0)" })
        }
        let sequences = received(ws).map(\.sequence)
        #expect(sequences == received(sse).map(\.sequence), "the same events, the same sequences")

        let resumed = try startClient(directory, "ws-resumed", [webSocketURL + "?from=\(sequences[199] + 1)", "100"], script: webSocketClient)
        defer { resumed.stop() }
        try resumed.waitUntil(timeout: .seconds(30), "the resumed reader got 100 events") { !resumed.isRunning }
        #expect(received(resumed).map(\.eventID) == (200..<300).map { "orders-\($0)" })

        let unknown = try TestProcess.run(
            TestProcess.Command("python3", [webSocketClient, "ws://127.0.0.1:\(gateway.port)/v1/streams/shop/nope/live", "refused"]),
            timeout: .seconds(30), mergingErrors: true)
        #expect(
            unknown.status == 0 && unknown.output.contains("closed 1008 unknown-stream: no stream 'shop/nope'"),
            "an upgrade to an unknown stream is closed with the problem: \(unknown.output)")
        let badPointer = try TestProcess.run(
            TestProcess.Command("python3", [webSocketClient, webSocketURL + "?pointer=status&value=1", "refused"]),
            timeout: .seconds(30), mergingErrors: true)
        #expect(
            badPointer.status == 0 && badPointer.output.contains("closed 1008 invalid-parameter: pointer:"),
            "a bad filter is closed with the parameter named: \(badPointer.output)")

        // The edge sits in front of the upgrade handler: a connection's first request with headers over
        // max_header_kb (8 KiB here; the HTTP/1 decoder's own limit is that plus 10 KiB) is answered 431 problem+json.
        let port = gateway.port
        let connection = try await offCooperativePool { try RawHTTPConnection(port: port) }
        defer { connection.close() }
        let padded = rawRequest("GET", "/health", headers: [("X-Pad", String(repeating: "h", count: 10_000))])
        try await connection.write(padded)
        expectProblem(try await connection.response(), 431, "headers-too-large", "the first request on a connection, with a 10 KB header")
        // And its header deadline runs from a connection's first byte: half a header section, then nothing, is
        // answered 408 (hummingbird-websocket's channel alone would add the edge only after a complete first head).
        let halfHead = try await offCooperativePool { try RawHTTPConnection(port: port) }
        defer { halfHead.close() }
        try await halfHead.write(Array("GET /v1/streams/shop/orders/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n".utf8))
        expectProblem(try await halfHead.response(within: .seconds(10)), 408, "request-timeout", "half a first header section, then nothing")
        // Ordinary requests still work on a keep-alive connection.
        let health = try await client.get("/health")
        #expect(health.status == 200)
    }
}
