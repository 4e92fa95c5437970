import AsyncHTTPClient
import Foundation
import GatewayTesting
import NIOCore
import NIOHTTP1
import Testing

/// A small HTTP client for talking to a `sluice` process.
struct GatewayClient: Sendable {
    let baseURL: String

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: String
        /// The body parsed as a JSON object (empty when it is not one).
        var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func post(_ path: String, _ body: String, contentType: String = "application/json") async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: body))
        return try await execute(request)
    }

    func get(_ path: String) async throws -> Reply {
        try await execute(HTTPClientRequest(url: baseURL + path))
    }

    /// Any request with extra headers; with `headOnly`, the body of a 2xx answer is not read (for endless live
    /// streams: pass a `client` of the test's own and shut it down to end them).
    func send(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = [], headOnly: Bool = false,
        client: HTTPClient = .shared
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        guard headOnly else { return try await execute(request) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let headers = response.headers.map { ($0.name, $0.value) }
        guard response.status.code >= 300 else { return Reply(status: Int(response.status.code), headers: headers, body: "") }
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), headers: headers, body: String(buffer: body))
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: body))
    }

    /// The archive sink's backlog from /health.
    func archiveBacklog() async throws -> Int {
        let health = try await get("/health")
        let object = try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any]
        let sinks = object?["sinks"] as? [String: Any]
        return (sinks?["archive"] as? [String: Any])?["backlog_records"] as? Int ?? -1
    }
}

/// Polls `condition` until it holds or `timeout` passes; an external process offers nothing to await directly.
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// A configuration for a test gateway rooted in its working directory.
func testConfig(extra: String = "", archiveInterval: Double = 60, durability: String = "") -> String {
    """
    streams:
      - team: web
        app: clicks
      - team: default
        app: default
    default_stream: {team: default, app: default}
    durability:
      dir: ./wal
    \(durability)
    archive:
      url: file://./archive
      buffer:
        interval_s: \(archiveInterval)
    \(extra)
    """
}

/// An event body with a recognisable payload.
func eventBody(_ id: String, payloadBytes: Int = 100) -> String {
    "{\"team\":\"web\",\"app\":\"clicks\",\"event_id\":\"\(id)\",\"payload\":{\"id\":\"\(id)\",\"pad\":\"\(String(repeating: "p", count: payloadBytes))\"}}"
}

/// A configuration whose `web/clicks` stream carries `streamLines` (backend names, indented under the stream) and
/// whose backend sections are `sections`.
func backendTestConfig(streamLines: [String], sections: String) -> String {
    """
    streams:
      - team: web
        app: clicks
    \(streamLines.map { "    " + $0 }.joined(separator: "\n"))
      - team: default
        app: default
    default_stream: {team: default, app: default}
    durability:
      dir: ./wal
    archive:
      url: file://./archive
      buffer:
        interval_s: 1
    \(sections)
    """
}
