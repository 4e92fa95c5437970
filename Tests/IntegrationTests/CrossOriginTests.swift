import AsyncHTTPClient
import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

// `server.cors` and `text/plain` bodies through the built `sluice` binary: preflights answered by the gateway, and
// pages in headless Chromium on an allowed and a refused origin (cors_check.py), the browser deciding what they see.

@Suite("CORS and sendBeacon: preflights, and pages of two origins in Chromium", .serialized)
struct CrossOriginTests {
    static let key = "sk-cors-page-key-123456"

    static func config(pageOrigin: String) -> String {
        """
        server:
          cors: {allowed_origins: ["\(pageOrigin)"], allowed_headers: [X-Trace], max_age_s: 120}
        streams:
          - {team: shop, app: orders}
          - {team: web, app: clicks}
        durability:
          dir: ./wal
        archive:
          url: file://./archive
        auth:
          api_keys:
            - {name: page, key_env: PAGE_KEY, streams: ["*"], scopes: [ingest, read]}
          anonymous: {streams: ["web/clicks"], scopes: [ingest]}
        limits: {events_per_second: 1000}
        """
    }

    @Test("a preflight from an allowed origin is 204 with the CORS headers, from another origin 403; answers expose the gateway's headers")
    func preflights() async throws {
        let directory = try makeTemporaryDirectory("sluice-cors")
        let origin = "http://127.0.0.1:8999"
        let process = try SluiceProcess(directory: directory, config: Self.config(pageOrigin: origin), environment: ["PAGE_KEY": Self.key])
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let preflight = [("Origin", origin), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type,x-api-key")]
        let allowed = try await client.send(.OPTIONS, "/v1/events", headers: preflight)
        #expect(allowed.status == 204, "\(allowed.status) \(allowed.body)")
        #expect(allowed.header("Access-Control-Allow-Origin") == origin)
        #expect(allowed.header("Access-Control-Max-Age") == "120")
        let allowedHeaders = (allowed.header("Access-Control-Allow-Headers") ?? "").lowercased()
        for name in ["content-type", "x-api-key", "authorization", "idempotency-key", "x-trace"] {
            #expect(allowedHeaders.contains(name), "\(name) not in \(allowedHeaders)")
        }
        let refused = try await client.send(.OPTIONS, "/v1/events", headers: [("Origin", "https://evil.example")] + preflight.dropFirst())
        #expect(refused.status == 403 && refused.object["type"] as? String == "urn:sluice:problem:origin-not-allowed", "\(refused.body)")
        #expect(refused.header("Access-Control-Allow-Origin") == nil)
        // An error answer to an allowed origin carries the CORS headers too, so the page can read why.
        let unauthorized = try await client.send(
            .POST, "/v1/events", body: #"{"team":"shop","app":"orders","payload":1}"#, headers: [("Origin", origin)])
        #expect(unauthorized.status == 401)
        #expect(unauthorized.header("Access-Control-Allow-Origin") == origin)
        #expect(unauthorized.header("Access-Control-Expose-Headers")?.contains("WWW-Authenticate") == true)
        // A beacon's body: JSON as text/plain.
        let beacon = try await client.send(
            .POST, "/v1/events", body: nil, headers: [("Content-Type", "text/plain;charset=UTF-8")],
            textBody: #"{"team":"web","app":"clicks","payload":{"b":1}}"#)
        #expect(beacon.status == 202, "\(beacon.body)")
    }

    @Test("Chromium: the allowed origin's fetch and beacon arrive and it reads the answer; the other origin's fetch is blocked")
    func browser() async throws {
        let directory = try makeTemporaryDirectory("sluice-cors-browser")
        let pagePort = try freeLoopbackPort()
        let process = try SluiceProcess(
            directory: directory, config: Self.config(pageOrigin: "http://127.0.0.1:\(pagePort)"), environment: ["PAGE_KEY": Self.key])
        defer { _ = process.terminate() }
        let gateway = "http://127.0.0.1:\(process.port)"
        let artefacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-artefacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let screenshot = artefacts.appendingPathComponent("cors.png").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("cors_check.py").path
        let environment = ProcessInfo.processInfo.environment.merging(["SE_OFFLINE": "true"]) { _, new in new }
        let result = try runCommand("python3", [script, gateway, String(pagePort), Self.key, screenshot], environment: environment)
        #expect(result.status == 0, "cors_check.py: \(result.output)\n\(result.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: [String: Any]], "\(result.output)")
        let allowed = report["allowed"] ?? [:]
        #expect(allowed["fetch_status"] as? Int == 202, "\(allowed)")
        #expect((allowed["request_id"] as? String)?.isEmpty == false, "the page could not read X-Request-Id: \(allowed)")
        #expect(allowed["ratelimit_remaining"] as? String != nil, "the page could not read RateLimit-Remaining: \(allowed)")
        #expect(allowed["beacon_queued"] as? Bool == true)
        let denied = report["denied"] ?? [:]
        #expect(denied["fetch_status"] == nil && (denied["fetch_error"] as? String)?.contains("TypeError") == true, "\(denied)")

        let client = GatewayClient(baseURL: gateway)
        func ids(_ stream: String) async throws -> Set<String> {
            let page = try await client.send(.GET, "/v1/streams/\(stream)/events?limit=100", headers: [("X-Api-Key", Self.key)])
            return Set((page.object["events"] as? [[String: Any]] ?? []).compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String })
        }
        // A beacon is sent after the page moved on; wait for both to land.
        var clicks: Set<String> = []
        let beaconsArrived = try await eventually(timeout: .seconds(20)) {
            clicks = try await ids("web/clicks")
            return clicks.isSuperset(of: ["beacon-allowed", "beacon-denied"])
        }
        #expect(beaconsArrived, "beacons in web/clicks: \(clicks)")
        // A beacon is a simple request: CORS cannot stop it being sent, only a page reading the answer. The refused
        // origin's fetch needed a preflight, which was refused, so it never reached the log.
        let orders = try await ids("shop/orders")
        #expect(orders == ["fetch-allowed"], "\(orders)")
    }
}
