import AsyncHTTPClient
import Foundation
import GatewayTesting
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// A small HTTP client for talking to a `sluice` process.
struct GatewayClient: Sendable {
    let baseURL: String
    /// Where every response is recorded for the OpenAPI check (`SLUICE_RESPONSE_LOG` by default; nil: nowhere).
    var responseLog: ResponseLog? = .fromEnvironment

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
        client: HTTPClient = .shared, textBody: String? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if let textBody { request.body = .bytes(ByteBuffer(string: textBody)) } // with the caller's Content-Type
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        guard headOnly else { return try await execute(request) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let headers = response.headers.map { ($0.name, $0.value) }
        guard response.status.code >= 300 else {
            let reply = Reply(status: Int(response.status.code), headers: headers, body: "")
            responseLog?.record(request, baseURL: baseURL, reply, bodyRead: false)
            return reply
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        let reply = Reply(status: Int(response.status.code), headers: headers, body: String(buffer: body))
        responseLog?.record(request, baseURL: baseURL, reply)
        return reply
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        let reply = Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: body))
        responseLog?.record(request, baseURL: baseURL, reply)
        return reply
    }

    /// The archive sink's backlog from /health.
    func archiveBacklog() async throws -> Int {
        let health = try await get("/health")
        let object = try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any]
        let sinks = object?["sinks"] as? [String: Any]
        return (sinks?["archive"] as? [String: Any])?["backlog_records"] as? Int ?? -1
    }
}

/// Appends one JSON line per response to a file, for scripts/check-openapi (Tests/IntegrationTests/openapi_check.py):
/// method, path (no query), status, content type, a subset of the headers, and the body (at most 256 KiB; `truncated`
/// when cut, or when a live stream's body was not read).
final class ResponseLog: Sendable {
    /// The log named by `SLUICE_RESPONSE_LOG`, when it is set.
    static let fromEnvironment: ResponseLog? = ProcessInfo.processInfo.environment["SLUICE_RESPONSE_LOG"].flatMap {
        $0.isEmpty ? nil : ResponseLog(path: $0)
    }
    /// The headers recorded (lowercased); the document describes these.
    static let recordedHeaders: Set<String> = [
        "content-type", "allow", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "www-authenticate",
        "x-request-id", "x-processing-latency", "x-network-latency", "server-timing", "idempotent-replayed", "accept-encoding",
        "cache-control", "connection", "upgrade",
    ]
    static let maxBodyBytes = 256 * 1024

    let path: String
    private let file = Mutex<FileHandle?>(nil)

    init(path: String) {
        self.path = path
    }

    func record(_ request: HTTPClientRequest, baseURL: String, _ reply: GatewayClient.Reply, bodyRead: Bool = true) {
        let target = request.url.hasPrefix(baseURL) ? String(request.url.dropFirst(baseURL.count)) : request.url
        let body = Array(reply.body.utf8)
        let headers = Dictionary(
            reply.headers.map { ($0.0.lowercased(), $0.1) }.filter { Self.recordedHeaders.contains($0.0) }, uniquingKeysWith: { first, _ in first })
        let line: [String: Any] = [
            "method": request.method.rawValue, "path": String(target.prefix { $0 != "?" }), "status": reply.status,
            "content_type": reply.header("Content-Type") ?? NSNull(), "headers": headers,
            "body": String(decoding: body.prefix(Self.maxBodyBytes), as: UTF8.self),
            "truncated": !bodyRead || body.count > Self.maxBodyBytes, "body_read": bodyRead,
        ]
        guard var data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        data.append(UInt8(ascii: "\n"))
        append(data)
    }

    /// Appends `lines` (already in this format) as they are.
    func append(_ lines: Data) {
        file.withLock { handle in
            if handle == nil {
                let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
                guard descriptor >= 0 else { return }
                handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            }
            try? handle?.write(contentsOf: lines)
        }
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
