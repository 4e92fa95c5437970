import AsyncHTTPClient
import Crypto
import Foundation
import GatewayTesting
import NIOCore
import NIOHTTP1
import Testing

// The OpenAPI document (docs/openapi.json, embedded from Sources/Intake/GatewayHTTP/OpenAPI/openapi.json) against the
// built `sluice` binary: every documented operation and the main error answers are exercised, every response is
// recorded, and openapi_check.py validates them against the document (statuses, content types, bodies, headers).

/// The keys of the contract gateway: one per scope.
private enum ContractKey {
    static let writer = "sk-contract-writer-0123456789"
    static let confirmer = "sk-contract-confirmer-abcdef"
    static let reader = "sk-contract-reader-987654"
    static let operator_ = "sk-contract-operator-zyxwvu"
}

private func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// The package's root (not through `standardizedFileURL`, which would resolve the docs/openapi.json link).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// The committed document (the one `docs/openapi.json` links to).
private let documentURL = packageRoot.appendingPathComponent("Sources/Intake/GatewayHTTP/OpenAPI/openapi.json")
private let docsLinkURL = packageRoot.appendingPathComponent("docs/openapi.json")
private let checkerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("openapi_check.py").path

/// `auth:` with a key per scope and anonymous ingest on web/clicks, a rate-limited stream, small body and batch
/// limits (413), CORS for one origin, and a subscription whose webhook address is not allowed, so that its first
/// batch becomes a `PermanentFailure` dead letter at once (something to list and redrive).
private let contractConfig = """
    server:
      max_body_kb: 4
      max_batch_events: 3
      cors: {allowed_origins: ["https://shop.example"]}
    streams:
      - {team: shop, app: orders}
      - {team: shop, app: slow, rate_limit: {events_per_second: 1, burst: 1}}
      - {team: web, app: clicks}
    durability:
      dir: ./wal
    archive:
      url: file://./archive
      buffer:
        interval_s: 0.2
    auth:
      api_keys:
        - {name: writer, sha256: \(sha256Hex(ContractKey.writer)), streams: ["shop/*"], scopes: [ingest]}
        - {name: confirmer, sha256: \(sha256Hex(ContractKey.confirmer)), streams: ["shop/*"], scopes: [confirmed]}
        - {name: reader, sha256: \(sha256Hex(ContractKey.reader)), streams: ["shop/orders"], scopes: [read]}
        - {name: operator, sha256: \(sha256Hex(ContractKey.operator_)), streams: ["*"], scopes: [admin, read]}
      anonymous: {streams: ["web/clicks"], scopes: [ingest]}
    subscriptions:
      - name: orders-hook
        source: {log: {streams: ["shop/orders"], starting_position: trim_horizon}}
        handler:
          webhook: {url: "http://127.0.0.1:9/hook", timeout_s: 1}
        maximum_retry_attempts: 0
    """

@Suite("The OpenAPI document against the binary", .serialized, .timeLimit(.minutes(5)))
struct OpenAPIContractTests {
    static func event(_ stream: String, _ id: String, pad: Int = 10) -> String {
        let parts = stream.split(separator: "/")
        return "{\"team\":\"\(parts[0])\",\"app\":\"\(parts[1])\",\"event_id\":\"\(id)\","
            + "\"payload\":{\"id\":\"\(id)\",\"pad\":\"\(String(repeating: "x", count: pad))\"}}"
    }

    static func bearer(_ key: String) -> [(String, String)] { [("Authorization", "Bearer \(key)")] }

    @Test("GET /openapi.json serves the committed document byte for byte, without credentials, and it is OpenAPI 3.1.0")
    func servesTheDocument() async throws {
        let committed = try Data(contentsOf: documentURL)
        // docs/openapi.json is the same file (a link), not a copy.
        #expect(try Data(contentsOf: docsLinkURL) == committed)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: docsLinkURL.path)
                == "../Sources/Intake/GatewayHTTP/OpenAPI/openapi.json")
        let object = try #require(try JSONSerialization.jsonObject(with: committed) as? [String: Any])
        #expect(object["openapi"] as? String == "3.1.0")
        #expect((object["paths"] as? [String: Any])?["/openapi.json"] != nil)

        let directory = try makeTemporaryDirectory("sluice-openapi-bytes")
        let gateway = try SluiceProcess(directory: directory, config: contractConfig)
        defer { _ = gateway.terminate() }
        for headers in [[], Self.bearer("sk-not-a-key")] {
            var request = HTTPClientRequest(url: gateway.baseURL + "/openapi.json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 16 << 20)
            #expect(response.status == .ok, "with \(headers): \(response.status)")
            #expect(response.headers.first(name: "Content-Type") == "application/json")
            #expect(Data(body.readableBytesView) == committed, "the served document differs from \(documentURL.path)")
        }
    }

    @Test("every documented operation and the main error answers conform to the document (openapi_check.py)")
    func responsesConform() async throws {
        let directory = try makeTemporaryDirectory("sluice-openapi-contract")
        let logPath = directory.appendingPathComponent("responses.jsonl").path
        let gateway = try SluiceProcess(directory: directory, config: contractConfig)
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL, responseLog: ResponseLog(path: logPath))
        let writer = Self.bearer(ContractKey.writer)
        let confirmer = [("X-Api-Key", ContractKey.confirmer)]
        let reader = Self.bearer(ContractKey.reader)
        let admin = Self.bearer(ContractKey.operator_)

        func expectStatus(_ reply: GatewayClient.Reply, _ expected: Int, _ what: String) {
            #expect(reply.status == expected, "\(what): \(reply.status) \(reply.body.prefix(300))")
        }

        // Intake: 202 (with RateLimit-* on the rate-limited stream), confirmed 200, batches 200 and 207 (JSON, NDJSON).
        for n in 0..<3 {
            expectStatus(try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "o-\(n)"), headers: writer), 202, "202")
        }
        expectStatus(try await client.send(.POST, "/v1/events", body: Self.event("web/clicks", "anon-1")), 202, "anonymous 202")
        expectStatus(
            try await client.send(
                .POST, "/v1/events", body: Self.event("shop/orders", "o-sent-at"),
                headers: writer + [("X-Client-Sent-At", "\(Int(Date().timeIntervalSince1970 * 1000))")]),
            202, "202 with X-Client-Sent-At")
        expectStatus(
            try await client.post("/v1/events", Self.event("web/clicks", "beacon-1"), contentType: "text/plain;charset=UTF-8"), 202, "text/plain")
        expectStatus(
            try await client.send(.POST, "/v1/events/confirmed", body: Self.event("shop/orders", "c-1"), headers: confirmer), 200, "confirmed")
        expectStatus(
            try await client.send(
                .POST, "/v1/events/batch", body: "[\(Self.event("shop/orders", "b-1")),\(Self.event("shop/orders", "b-2"))]", headers: writer),
            200, "batch")
        expectStatus(
            try await client.send(
                .POST, "/v1/events/batch", body: "[\(Self.event("shop/orders", "b-3")),\(Self.event("shop/nope", "b-4")),{\"payload\":1,\"x\":2}]",
                headers: writer),
            207, "batch 207")
        expectStatus(
            try await client.post(
                "/v1/events/batch", Self.event("web/clicks", "n-1") + "\n" + Self.event("shop/orders", "n-2") + "\n",
                contentType: "application/x-ndjson"),
            207, "NDJSON batch with an event anonymous access does not reach")

        // Explain, and Idempotency-Key: a replay, another body (422).
        expectStatus(try await client.send(.POST, "/v1/events/explain", body: Self.event("shop/orders", "x-1"), headers: writer), 200, "explain")
        expectStatus(try await client.send(.POST, "/v1/events/explain", body: Self.event("shop/orders", "x-2")), 200, "explain, anonymous")
        for _ in 0..<2 {
            expectStatus(
                try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "i-1"), headers: writer + [("Idempotency-Key", "k-1")]),
                202, "idempotent 202 (and its replay)")
        }
        expectStatus(
            try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "i-2"), headers: writer + [("Idempotency-Key", "k-1")]),
            422, "an idempotency key reused with another body")

        // Intake errors: 400, 401, 403, 404, 413 (body, batch), 415, 429, 405.
        expectStatus(try await client.send(.POST, "/v1/events", body: "{\"team\":", headers: writer), 400, "malformed JSON")
        expectStatus(try await client.send(.POST, "/v1/events", body: "", headers: writer), 400, "empty body")
        expectStatus(try await client.send(.POST, "/v1/events", body: "{\"team\":\"shop\",\"app\":\"orders\"}", headers: writer), 400, "no payload")
        expectStatus(try await client.send(.POST, "/v1/events/batch", body: "[]", headers: writer), 400, "empty batch")
        expectStatus(try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "u-1")), 401, "no credentials")
        expectStatus(
            try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "u-2"), headers: [("X-Api-Key", "sk-not-a-key")]), 401,
            "bad key")
        expectStatus(try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "f-1"), headers: reader), 403, "reader ingests")
        expectStatus(
            try await client.send(.POST, "/v1/events/confirmed", body: Self.event("shop/orders", "f-2"), headers: writer), 403,
            "ingest key waits")
        expectStatus(try await client.send(.POST, "/v1/events", body: Self.event("shop/nope", "n-1"), headers: writer), 404, "unknown stream")
        expectStatus(
            try await client.send(.POST, "/v1/events", body: Self.event("shop/orders", "big", pad: 5000), headers: writer), 413, "body too large")
        let four = (1...4).map { Self.event("shop/orders", "t-\($0)") }.joined(separator: ",")
        expectStatus(try await client.send(.POST, "/v1/events/batch", body: "[\(four)]", headers: writer), 413, "batch too large")
        expectStatus(try await client.post("/v1/events", "<event/>", contentType: "application/xml"), 415, "XML")
        expectStatus(
            try await client.send(
                .POST, "/v1/events", body: Self.event("shop/orders", "br"), headers: writer + [("Content-Encoding", "br")]), 415, "brotli")
        var limited = false
        for n in 0..<5 where !limited {
            let reply = try await client.send(.POST, "/v1/events", body: Self.event("shop/slow", "s-\(n)"), headers: writer)
            #expect(reply.status == 202 || reply.status == 429, "rate-limited stream: \(reply.status) \(reply.body)")
            limited = reply.status == 429
        }
        #expect(limited, "no 429 from a stream limited to 1 event/s")
        for path in ["/v1/events", "/v1/events/confirmed", "/v1/events/batch", "/v1/events/explain"] {
            for method in [HTTPMethod.GET, .PUT, .DELETE, .PATCH] {
                let reply = try await client.send(method, path, headers: writer)
                expectStatus(reply, 405, "\(method) \(path)")
                #expect(reply.header("Allow") == "POST")
            }
        }

        // Streams: the list, an events page (and its errors), the live SSE stream and its refusals.
        expectStatus(try await client.send(.GET, "/v1/streams", headers: reader), 200, "stream list")
        expectStatus(try await client.send(.GET, "/v1/streams", headers: writer), 403, "stream list without read")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/orders/events?from=0&limit=2", headers: reader), 200, "events page")
        expectStatus(try await client.get("/v1/streams/shop/orders/events?access_token=\(ContractKey.reader)&partition_key=o-1"), 200, "access_token")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/orders/events?limit=0", headers: reader), 400, "bad limit")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/orders/events?from=x", headers: reader), 400, "bad from")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/nope/events", headers: admin), 404, "unknown stream")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/slow/events", headers: reader), 403, "not granted")
        expectStatus(try await client.send(.GET, "/v1/streams/shop/orders/events"), 401, "no credentials")
        let live = HTTPClient(eventLoopGroupProvider: .singleton)
        expectStatus(
            try await client.send(
                .GET, "/v1/streams/shop/orders/live?from=0", headers: reader + [("Accept", "text/event-stream")], headOnly: true, client: live),
            200, "SSE")
        try await live.shutdown()
        expectStatus(try await client.send(.GET, "/v1/streams/shop/orders/live", headers: reader), 406, "live without Accept")
        expectStatus(
            try await client.send(.GET, "/v1/streams/shop/orders/live", headers: reader + [("Upgrade", "websocket")]), 501, "WebSocket off")
        expectStatus(
            try await client.send(
                .GET, "/v1/streams/shop/orders/live", headers: reader + [("Accept", "text/event-stream"), ("Last-Event-ID", "x")]),
            400, "bad Last-Event-ID")

        // Subscriptions: the orders-hook's first batch is refused by the network policy and becomes a dead letter.
        expectStatus(try await client.send(.GET, "/v1/subscriptions", headers: admin), 200, "subscriptions")
        expectStatus(try await client.send(.GET, "/v1/subscriptions", headers: reader), 403, "subscriptions without admin")
        let hook = "/v1/subscriptions/orders-hook"
        let found = try await eventually(timeout: .seconds(60)) {
            let reply = try await client.send(.GET, hook + "/dead-letters", headers: admin)
            return (reply.object["count"] as? Int ?? 0) > 0
        }
        #expect(found, "no dead letter from a webhook whose address is not allowed")
        let letters = try await client.send(.GET, hook + "/dead-letters?limit=1", headers: admin)
        expectStatus(letters, 200, "dead letters")
        let letterID = ((letters.object["dead_letters"] as? [[String: Any]])?.first?["id"] as? String) ?? "none"
        expectStatus(try await client.send(.GET, hook + "/dead-letters?id=\(letterID)", headers: admin), 200, "one dead letter")
        expectStatus(try await client.send(.GET, hook + "/dead-letters?id=nope", headers: admin), 404, "unknown dead letter")
        expectStatus(try await client.send(.GET, hook + "/dead-letters?limit=0", headers: admin), 400, "bad limit")
        expectStatus(try await client.send(.POST, hook + "/dead-letters/redrive?id=\(letterID)", headers: admin), 202, "redrive")
        expectStatus(try await client.send(.GET, hook, headers: admin), 200, "one subscription")
        expectStatus(try await client.send(.POST, hook + "/pause", headers: admin), 200, "pause")
        expectStatus(try await client.send(.POST, hook + "/resume", headers: admin), 200, "resume")
        expectStatus(try await client.send(.POST, hook + "/replay", body: "{\"from\":{\"sequence\":0}}", headers: admin), 202, "replay to a sequence")
        expectStatus(
            try await client.send(.POST, hook + "/replay", body: "{\"from\":{\"timestamp\":\"2026-01-01T00:00:00Z\"}}", headers: admin), 202,
            "replay to a time")
        expectStatus(try await client.send(.POST, hook + "/replay", body: "{\"from\":{\"sequence\":-1}}", headers: admin), 400, "bad replay")
        expectStatus(try await client.send(.GET, "/v1/subscriptions/nope", headers: admin), 404, "unknown subscription")
        expectStatus(try await client.send(.POST, "/v1/subscriptions/nope/pause", headers: admin), 404, "unknown subscription")

        // Operations: no credentials for /health, /ready and /openapi.json; admin for /metrics.
        expectStatus(try await client.get("/health"), 200, "health")
        expectStatus(try await client.get("/ready"), 200, "ready")
        expectStatus(try await client.send(.GET, "/metrics", headers: admin), 200, "metrics")
        expectStatus(try await client.get("/metrics"), 401, "metrics without credentials")
        expectStatus(try await client.get("/dashboard"), 200, "dashboard")
        expectStatus(try await client.send(.GET, "/dashboard", headers: [("X-Api-Key", "sk-not-a-key")]), 401, "dashboard with a bad key")
        expectStatus(try await client.get("/openapi.json"), 200, "openapi.json")
        expectStatus(try await client.send(.GET, "/openapi.json", headers: [("X-Api-Key", "sk-not-a-key")]), 200, "openapi.json, a bad key")
        expectStatus(try await client.get("/v1/nothing-here"), 404, "no such endpoint")

        // CORS: every documented path's preflight from the allowed origin, one from another origin, OPTIONS without one.
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: documentURL)) as? [String: Any]
        let paths = (document?["paths"] as? [String: Any])?.keys.sorted() ?? []
        #expect(paths.count == 19, "\(paths)")
        for template in paths {
            let path = template.replacingOccurrences(of: "{team}", with: "shop").replacingOccurrences(of: "{app}", with: "orders")
                .replacingOccurrences(of: "{name}", with: "orders-hook")
            expectStatus(
                try await client.send(
                    .OPTIONS, path, headers: [("Origin", "https://shop.example"), ("Access-Control-Request-Method", "POST")]), 204,
                "preflight \(path)")
        }
        expectStatus(
            try await client.send(.OPTIONS, "/v1/events", headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]),
            403, "preflight from another origin")
        expectStatus(try await client.send(.OPTIONS, "/v1/events"), 404, "OPTIONS without Origin")

        // The whole suite's log (scripts/test) gets these responses too.
        if let suiteLog = ResponseLog.fromEnvironment { suiteLog.append(try Data(contentsOf: URL(fileURLWithPath: logPath))) }
        let result = try runCommand("python3", [checkerScript, "--require-operations", logPath])
        #expect(result.status == 0, "openapi_check.py:\n\(result.output)\n\(result.errors)")
    }
}
