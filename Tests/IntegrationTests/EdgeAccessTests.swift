import AsyncHTTPClient
import Crypto
import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

// `auth:` and the rate limits through the built `sluice` binary: every endpoint against every credential and stream,
// with the expected answer worked out from the grants below (not from the gateway's own code).

/// The keys of the test configuration and what each is granted.
private struct TestKey: Sendable {
    var name: String
    var secret: String
    var streams: [String]
    var scopes: [String]
}

private let keys = [
    TestKey(name: "shop-writer", secret: "sk-shop-writer-0123456789", streams: ["shop/*"], scopes: ["ingest"]),
    TestKey(name: "orders-confirmed", secret: "sk-orders-confirmed-abcdef", streams: ["shop/orders"], scopes: ["confirmed"]),
    TestKey(name: "orders-reader", secret: "sk-orders-reader-987654", streams: ["shop/orders"], scopes: ["read"]),
    TestKey(name: "operator", secret: "sk-operator-zyxwvu", streams: ["*"], scopes: ["admin"]),
]
/// What a request without credentials may do.
private let anonymous = TestKey(name: "anonymous", secret: "", streams: ["web/clicks"], scopes: ["ingest"])

private func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

private func matches(_ pattern: String, _ stream: String) -> Bool {
    pattern == "*" || pattern == stream || (pattern.hasSuffix("/*") && stream.hasPrefix(pattern.dropLast()))
}

private func grants(_ key: TestKey, _ scope: String, _ stream: String?) -> Bool {
    key.scopes.contains(scope) && (stream.map { stream in key.streams.contains { matches($0, stream) } } ?? !key.streams.isEmpty)
}

/// The gateway of these tests: three streams, the keys above (one from the environment), anonymous ingest on web/clicks.
private func accessConfig(extraStreams: String = "", extra: String = "") -> String {
    let keyLines = keys.map { key in
        let secret = key.name == "orders-confirmed" ? "key_env: ORDERS_KEY" : "sha256: \(sha256Hex(key.secret))"
        return
            "    - {name: \(key.name), \(secret), streams: [\(key.streams.map { "\"\($0)\"" }.joined(separator: ", "))], scopes: [\(key.scopes.joined(separator: ", "))]}"
    }
    return """
        streams:
          - {team: shop, app: orders}
          - {team: shop, app: carts}
          - {team: web, app: clicks}
        \(extraStreams)
        durability:
          dir: ./wal
        archive:
          url: file://./archive
          buffer:
            interval_s: 0.2
        auth:
          api_keys:
        \(keyLines.joined(separator: "\n"))
          anonymous: {streams: ["web/clicks"], scopes: [ingest]}
        \(extra)
        """
}

@Suite("Edge access: API keys, scopes, anonymous access and rate limits, through the binary", .serialized)
struct EdgeAccessTests {
    enum Credential: Sendable, CustomStringConvertible {
        case none
        case key(Int)
        case unknownKey, basic
        var headers: [(String, String)] {
            switch self {
            case .none: []
            case .key(let index): [("Authorization", "Bearer \(keys[index].secret)")]
            case .unknownKey: [("X-Api-Key", "sk-not-a-key")]
            case .basic: [("Authorization", "Basic b3BlcmF0b3I6eA==")]
            }
        }
        var description: String {
            switch self {
            case .none: "no credentials"
            case .key(let index): "key \(keys[index].name)"
            case .unknownKey: "an unknown key"
            case .basic: "Basic credentials"
            }
        }
    }

    /// One endpoint: how to call it on a stream, the scope it needs, and the status of success.
    struct Endpoint: Sendable {
        var name: String
        var scope: String?
        var perStream: Bool
        var success: Int
        var call: @Sendable (GatewayClient, String, [(String, String)], HTTPClient) async throws -> GatewayClient.Reply
    }

    static func body(_ stream: String) -> String {
        let parts = stream.split(separator: "/")
        return "{\"team\":\"\(parts[0])\",\"app\":\"\(parts[1])\",\"payload\":{\"n\":1}}"
    }

    static let endpoints: [Endpoint] = [
        Endpoint(name: "POST /v1/events", scope: "ingest", perStream: true, success: 202) { client, stream, headers, _ in
            try await client.send(.POST, "/v1/events", body: body(stream), headers: headers)
        },
        Endpoint(name: "POST /v1/events/confirmed", scope: "confirmed", perStream: true, success: 200) { client, stream, headers, _ in
            try await client.send(.POST, "/v1/events/confirmed", body: body(stream), headers: headers)
        },
        Endpoint(name: "POST /v1/events/batch", scope: "ingest", perStream: true, success: 200) { client, stream, headers, _ in
            var reply = try await client.send(.POST, "/v1/events/batch", body: "[\(body(stream))]", headers: headers)
            // Per event: the item's status is the verdict.
            if reply.status == 207, let item = (reply.object["results"] as? [[String: Any]])?.first, let status = item["status"] as? Int {
                reply.status = status
            }
            return reply
        },
        Endpoint(name: "GET events", scope: "read", perStream: true, success: 200) { client, stream, headers, _ in
            try await client.send(.GET, "/v1/streams/\(stream)/events", headers: headers)
        },
        Endpoint(name: "GET live (SSE)", scope: "read", perStream: true, success: 200) { client, stream, headers, live in
            try await client.send(
                .GET, "/v1/streams/\(stream)/live", headers: headers + [("Accept", "text/event-stream")], headOnly: true, client: live)
        },
        Endpoint(name: "GET /v1/streams", scope: "read", perStream: false, success: 200) { client, _, headers, _ in
            try await client.send(.GET, "/v1/streams", headers: headers)
        },
        Endpoint(name: "GET /metrics", scope: "admin", perStream: false, success: 200) { client, _, headers, _ in
            try await client.send(.GET, "/metrics", headers: headers)
        },
        Endpoint(name: "GET /v1/subscriptions", scope: "admin", perStream: false, success: 200) { client, _, headers, _ in
            try await client.send(.GET, "/v1/subscriptions", headers: headers)
        },
        Endpoint(name: "GET /health", scope: nil, perStream: false, success: 200) { client, _, headers, _ in
            try await client.send(.GET, "/health", headers: headers)
        },
        Endpoint(name: "GET /ready", scope: nil, perStream: false, success: 200) { client, _, headers, _ in
            try await client.send(.GET, "/ready", headers: headers)
        },
    ]

    @Test("every endpoint × credential × stream gets the answer its grants imply")
    func table() async throws {
        let directory = try makeTemporaryDirectory("sluice-access")
        let process = try SluiceProcess(
            directory: directory, config: accessConfig(), environment: ["ORDERS_KEY": keys[1].secret])
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let live = HTTPClient(eventLoopGroupProvider: .singleton)
        let credentials: [Credential] = [.none, .unknownKey, .basic] + keys.indices.map { .key($0) }
        var checked = 0
        for endpoint in Self.endpoints {
            for stream in endpoint.perStream ? ["shop/orders", "shop/carts", "web/clicks", "shop/unknown"] : ["-"] {
                for credential in credentials {
                    let reply = try await endpoint.call(client, stream, credential.headers, live)
                    let expected = Self.expectedStatus(endpoint, stream: endpoint.perStream ? stream : nil, credential)
                    #expect(
                        reply.status == expected,
                        "\(endpoint.name) on \(stream) with \(credential): expected \(expected), got \(reply.status) \(reply.body.prefix(300))")
                    if expected == 401 && reply.status == 401 && endpoint.name != "POST /v1/events/batch" {
                        #expect(
                            reply.header("WWW-Authenticate")?.hasPrefix("Bearer realm=\"sluice\"") == true,
                            "\(endpoint.name): 401 without a challenge")
                        #expect(reply.header("Content-Type") == "application/problem+json")
                    }
                    if expected == 403 && endpoint.name != "POST /v1/events/batch" {
                        #expect(reply.object["type"] as? String == "urn:sluice:problem:forbidden", "\(endpoint.name): \(reply.body)")
                    }
                    checked += 1
                }
            }
        }
        try await live.shutdown()
        #expect(checked == 7 * (4 * 5 + 5))
        // A key is never written to the log, not even a refused one.
        for secret in keys.map(\.secret) + ["sk-not-a-key"] {
            #expect(!process.log.contains(secret), "the log holds the key '\(secret)'")
        }
    }

    /// The answer the grants imply: 401 for bad credentials, or no credentials where anonymous access does not reach;
    /// 403 for a key without the grant; 404 for an unknown stream the caller may use; success otherwise.
    static func expectedStatus(_ endpoint: Endpoint, stream: String?, _ credential: Credential) -> Int {
        guard let scope = endpoint.scope else { return endpoint.success }
        let caller: TestKey?
        switch credential {
        case .unknownKey, .basic: return 401
        case .none: caller = nil
        case .key(let index): caller = keys[index]
        }
        let allowed = grants(anonymous, scope, stream) || caller.map { grants($0, scope, stream) } == true
        if !allowed { return caller == nil ? 401 : 403 }
        if stream == "shop/unknown" { return 404 }
        return endpoint.success
    }

    @Test("the stream list shows only the streams the key may read")
    func streamListFiltered() async throws {
        let directory = try makeTemporaryDirectory("sluice-access-list")
        let process = try SluiceProcess(directory: directory, config: accessConfig(), environment: ["ORDERS_KEY": keys[1].secret])
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let reply = try await client.send(.GET, "/v1/streams", headers: [("X-Api-Key", keys[2].secret)])
        let streams = (reply.object["streams"] as? [[String: String]] ?? []).map { "\($0["team"] ?? "")/\($0["app"] ?? "")" }
        #expect(streams == ["shop/orders"], "\(reply.body)")
        let conflicting = try await client.send(
            .POST, "/v1/events", body: Self.body("shop/orders"),
            headers: [("X-Api-Key", keys[0].secret), ("Authorization", "Bearer \(keys[3].secret)")])
        #expect(conflicting.status == 401, "two different keys: \(conflicting.body)")
    }

    @Test("rate limits answer 429 with Retry-After and RateLimit-*, and honouring Retry-After is enough")
    func rateLimits() async throws {
        let directory = try makeTemporaryDirectory("sluice-ratelimit")
        let config = accessConfig(
            extraStreams: "  - {team: shop, app: slow, rate_limit: {events_per_second: 1, burst: 2}}",
            extra: "limits: {events_per_second: 1000, burst: 1000}")
        let process = try SluiceProcess(directory: directory, config: config, environment: ["ORDERS_KEY": keys[1].secret])
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let auth = [("Authorization", "Bearer \(keys[0].secret)")]
        let first = try await client.send(.POST, "/v1/events", body: Self.body("shop/slow"), headers: auth)
        #expect(first.status == 202)
        #expect(first.header("RateLimit-Limit") == "2", "\(first.headers)")
        #expect(first.header("RateLimit-Remaining") == "1", "\(first.headers)")
        let second = try await client.send(.POST, "/v1/events", body: Self.body("shop/slow"), headers: auth)
        #expect(second.status == 202)
        let third = try await client.send(.POST, "/v1/events", body: Self.body("shop/slow"), headers: auth)
        #expect(third.status == 429, "\(third.body)")
        #expect(third.object["type"] as? String == "urn:sluice:problem:rate-limited")
        #expect(third.object["limit"] as? String == "stream")
        #expect(third.header("RateLimit-Remaining") == "0")
        let retryAfter = try #require(third.header("Retry-After").flatMap { Int($0) }, "429 without Retry-After: \(third.headers)")
        #expect((1...2).contains(retryAfter))
        // A batch: the events over the limit are refused one by one, and the answer says when to retry.
        let batch = try await client.send(.POST, "/v1/events/batch", body: "[\(Self.body("shop/slow")),\(Self.body("shop/orders"))]", headers: auth)
        let statuses = (batch.object["results"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? Int }
        #expect(batch.status == 207 && statuses == [429, 202], "\(batch.body)")
        #expect(batch.header("Retry-After") != nil)
        // The client honours Retry-After (the wait is what is under test), then the event goes through.
        try await Task.sleep(for: .seconds(retryAfter))
        let later = try await client.send(.POST, "/v1/events", body: Self.body("shop/slow"), headers: auth)
        #expect(later.status == 202, "after waiting Retry-After (\(retryAfter) s): \(later.status) \(later.body)")
        let metrics = try await client.send(.GET, "/metrics", headers: [("X-Api-Key", keys[3].secret)])
        #expect(metrics.body.contains("sluice_rate_limited_total{"), "no rate-limit metric")
        #expect(metrics.body.contains("limit=\"stream\""))
    }
}
