import Foundation
import GatewayTesting
import Testing

// Regression tests for every HTTP edge limit, through the built `sluice` binary and raw TCP connections, so the
// exact bytes on the wire are the test's own. Each test starts its own gateway with small limits so timeouts take
// seconds. Every failure message names the case and says what came back.

/// The `server:` limits the edge tests run with, with `overrides` (key → value) applied.
func edgeServerSection(_ overrides: [String: String] = [:]) -> String {
    var limits: [(String, String)] = [
        ("max_body_kb", "64"), ("max_uri_bytes", "2048"), ("max_header_kb", "8"), ("max_header_count", "32"),
        ("read_timeout_s", "2"), ("idle_timeout_s", "2"), ("max_connections", "64"), ("max_inflight_mb", "1"),
    ]
    for (key, value) in overrides {
        if let index = limits.firstIndex(where: { $0.0 == key }) { limits[index].1 = value } else { limits.append((key, value)) }
    }
    return "server:\n" + limits.map { "  \($0.0): \($0.1)" }.joined(separator: "\n")
}

/// The bytes of one HTTP/1.1 request. `Host` always; `Content-Type: application/json` when there is a body and no
/// content type among `headers`; `Content-Length` of the body unless `contentLength` is false.
func rawRequest(
    _ method: String = "POST", _ target: String = "/v1/events", headers: [(String, String)] = [], body: [UInt8] = [],
    contentLength: Bool = true
) -> [UInt8] {
    var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if !body.isEmpty && !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
        head += "Content-Type: application/json\r\n"
    }
    if contentLength { head += "Content-Length: \(body.count)\r\n" }
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    return Array((head + "\r\n").utf8) + body
}

/// A valid event body for `id` (the `web/clicks` stream of `testConfig`).
func rawEvent(_ id: String) -> [UInt8] { Array(eventBody(id, payloadBytes: 20).utf8) }

extension RawHTTPConnection {
    /// ``readResponse(timeout:)`` off the cooperative pool.
    func response(within timeout: Duration = .seconds(5)) async throws -> RawReadOutcome {
        try await offCooperativePool { self.readResponse(timeout: timeout) }
    }

    /// ``send(_:)`` off the cooperative pool.
    @discardableResult
    func write(_ bytes: [UInt8]) async throws -> Bool {
        try await offCooperativePool { self.send(bytes) }
    }

    /// ``waitForClose(timeout:)`` off the cooperative pool.
    func closed(within timeout: Duration) async throws -> (closed: Bool, bytes: [UInt8]) {
        try await offCooperativePool { self.waitForClose(timeout: timeout) }
    }

    /// Sends `bytes` without blocking for long: keeps sending until all are taken, the connection is closed, a
    /// response can be read, or no progress is made for `stall`; returns the number of bytes the socket took.
    func sendUntilStalled(_ bytes: [UInt8], stall: Duration, deadline: Duration) async throws -> Int {
        try await offCooperativePool {
            let end = ContinuousClock.now + deadline
            var sent = 0
            var lastProgress = ContinuousClock.now
            while sent < bytes.count && ContinuousClock.now < end {
                if self.waitReadable(timeout: .zero) { break }
                guard let n = self.trySend(bytes[sent..<min(bytes.count, sent + 65536)]) else { break }
                if n > 0 {
                    sent += n
                    lastProgress = ContinuousClock.now
                } else {
                    if ContinuousClock.now - lastProgress > stall { break }
                    _ = self.waitWritable(timeout: .milliseconds(50))
                }
            }
            return sent
        }
    }
}

extension RawHTTPConnection {
    /// Sends `total` filler bytes whatever the server answers (reading what arrives meanwhile, as a client sending
    /// and reading at once does): stops when all are taken, the connection is closed or reset, no progress is made
    /// for `stall`, or `deadline` passes; returns the number of bytes the socket took.
    func sendFiller(total: Int, stall: Duration, deadline: Duration) async throws -> Int {
        try await offCooperativePool {
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
            let end = ContinuousClock.now + deadline
            var sent = 0
            var lastProgress = ContinuousClock.now
            while sent < total && ContinuousClock.now < end {
                self.readAvailable()
                guard let n = self.trySend(chunk[0..<min(chunk.count, total - sent)]) else { break }
                if n > 0 {
                    sent += n
                    lastProgress = ContinuousClock.now
                } else {
                    if ContinuousClock.now - lastProgress > stall { break }
                    _ = self.waitWritable(timeout: .milliseconds(50))
                }
            }
            return sent
        }
    }
}

/// A gateway started for one edge test, and what the tests ask of it.
struct EdgeGateway {
    let directory: URL
    let process: SluiceProcess

    init(_ overrides: [String: String] = [:]) throws {
        directory = try makeTemporaryDirectory("sluice-edge")
        process = try SluiceProcess(directory: directory, config: testConfig(extra: edgeServerSection(overrides)))
    }

    var port: Int { process.port }

    func connect(sendBufferBytes: Int? = nil) async throws -> RawHTTPConnection {
        let port = port
        return try await offCooperativePool { try RawHTTPConnection(port: port, sendBufferBytes: sendBufferBytes) }
    }

    /// Sends `request` on a fresh connection and reads one response.
    func exchange(_ request: [UInt8], within timeout: Duration = .seconds(5)) async throws -> RawReadOutcome {
        let connection = try await connect()
        defer { connection.close() }
        try await connection.write(request)
        return try await connection.response(within: timeout)
    }

    /// Expects the process alive and answering a valid event with 202 on a fresh connection.
    func expectServing(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(process.isRunning, "\(label): the gateway exited; log tail:\n\(process.log.suffix(3000))", sourceLocation: sourceLocation)
        guard process.isRunning else { return }
        let outcome = try await exchange(rawRequest(body: rawEvent("probe-\(UUID().uuidString)")))
        #expect(outcome.response?.status == 202, "\(label): afterwards a valid event got \(outcome)", sourceLocation: sourceLocation)
    }

    /// SIGTERM; expects exit 0.
    func stop(sourceLocation: SourceLocation = #_sourceLocation) {
        let status = process.terminate()
        #expect(status == 0, "sluice exited \(status) on SIGTERM; log tail:\n\(process.log.suffix(3000))", sourceLocation: sourceLocation)
    }
}

/// Expects `outcome` to be a `status` problem+json response of type `urn:sluice:problem:<type>`.
func expectProblem(
    _ outcome: RawReadOutcome, _ status: Int, _ type: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let response = outcome.response else {
        Issue.record("\(label): expected \(status) \(type), got \(outcome)", sourceLocation: sourceLocation)
        return
    }
    #expect(
        response.status == status && response.problemType == "urn:sluice:problem:\(type)" && response.isProblemJSON,
        "\(label): expected \(status) urn:sluice:problem:\(type) as application/problem+json, got \(response)",
        sourceLocation: sourceLocation)
}

/// Expects `outcome` to be a 400 `malformed-http` problem or the connection closed; never a 500, never silence.
func expectRefusedOrClosed(_ outcome: RawReadOutcome, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    switch outcome {
    case .closed: break
    case .response(let response):
        #expect(
            response.status == 400 && response.problemType == "urn:sluice:problem:malformed-http" && response.isProblemJSON,
            "\(label): expected 400 urn:sluice:problem:malformed-http or the connection closed, got \(response)",
            sourceLocation: sourceLocation)
    case .timedOut:
        Issue.record("\(label): expected 400 malformed-http or the connection closed, got \(outcome)", sourceLocation: sourceLocation)
    }
}

@Suite("HTTP edge limits through the sluice binary", .serialized, .timeLimit(.minutes(3)))
struct EdgeLimitsTests {
    @Test("X-Client-Sent-At: absurd values are ignored (202, no X-Network-Latency, the process lives); a plausible one is measured")
    func clientSentAt() async throws {
        let gateway = try EdgeGateway()
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let absurd = [
            "-100000000000000000", "9223372036854775807", "-9223372036854775808", "abc", "1e30",
            "\(nowMillis + 25 * 3_600_000)", "\(nowMillis - 25 * 3_600_000)", "99999999999999999999999", "",
        ]
        for (index, value) in absurd.enumerated() {
            let label = "X-Client-Sent-At '\(value)'"
            let outcome = try await gateway.exchange(
                rawRequest(headers: [("X-Client-Sent-At", value)], body: rawEvent("sent-at-\(index)")))
            #expect(outcome.response?.status == 202, "\(label): expected 202, got \(outcome)")
            #expect(outcome.response?.header("X-Network-Latency") == nil, "\(label): expected no X-Network-Latency, got \(outcome)")
            #expect(outcome.response?.header("Server-Timing")?.contains("net;") != true, "\(label): Server-Timing has net: \(outcome)")
            #expect(gateway.process.isRunning, "\(label): the gateway died; log tail:\n\(gateway.process.log.suffix(3000))")
            if !gateway.process.isRunning { return }
        }
        let plausible = Int64(Date().timeIntervalSince1970 * 1000) - 50
        let outcome = try await gateway.exchange(
            rawRequest(headers: [("X-Client-Sent-At", "\(plausible)")], body: rawEvent("sent-at-plausible")))
        let latency = outcome.response?.header("X-Network-Latency")
        #expect(outcome.response?.status == 202, "plausible X-Client-Sent-At (now - 50 ms): got \(outcome)")
        let millis = latency.flatMap { Double($0.replacingOccurrences(of: "ms", with: "")) }
        #expect(
            millis.map { $0 >= 40 && $0 < 10_000 } == true, "plausible X-Client-Sent-At (now - 50 ms): X-Network-Latency '\(latency ?? "absent")'")
        try await gateway.expectServing("after the X-Client-Sent-At cases")
        gateway.stop()
    }

    @Test("a request target longer than max_uri_bytes is answered 414 uri-too-long; a shorter one is served")
    func uriTooLong() async throws {
        let gateway = try EdgeGateway()
        let long = try await gateway.exchange(rawRequest("POST", "/v1/events?pad=" + String(repeating: "a", count: 3000), body: rawEvent("uri-long")))
        expectProblem(long, 414, "uri-too-long", "a 3,015-byte target with max_uri_bytes 2048")
        let longGet = try await gateway.exchange(rawRequest("GET", "/health?" + String(repeating: "b", count: 5000)))
        expectProblem(longGet, 414, "uri-too-long", "GET /health with a 5,008-byte target")
        let short = try await gateway.exchange(
            rawRequest("POST", "/v1/events?pad=" + String(repeating: "a", count: 1500), body: rawEvent("uri-short")))
        #expect(short.response?.status == 202, "a 1,515-byte target (under max_uri_bytes 2048): expected 202, got \(short)")
        try await gateway.expectServing("after the long targets")
        gateway.stop()
    }

    @Test("headers over max_header_kb in total, or more than max_header_count fields, are answered 431 headers-too-large")
    func headersTooLarge() async throws {
        let gateway = try EdgeGateway()
        let oneHuge = try await gateway.exchange(rawRequest(headers: [("X-Pad", String(repeating: "h", count: 10_000))], body: rawEvent("h1")))
        expectProblem(oneHuge, 431, "headers-too-large", "one 10,000-byte header with max_header_kb 8")
        let manyLarge = (0..<20).map { ("X-Pad-\($0)", String(repeating: "m", count: 500)) }
        let total = try await gateway.exchange(rawRequest(headers: manyLarge, body: rawEvent("h2")))
        expectProblem(total, 431, "headers-too-large", "20 headers of 500 bytes (10 KB) with max_header_kb 8")
        let manySmall = (0..<40).map { ("X-F-\($0)", "v") }
        let count = try await gateway.exchange(rawRequest(headers: manySmall, body: rawEvent("h3")))
        expectProblem(count, 431, "headers-too-large", "43 header fields with max_header_count 32")
        let fine = (0..<20).map { ("X-Ok-\($0)", String(repeating: "o", count: 100)) }
        let under = try await gateway.exchange(rawRequest(headers: fine, body: rawEvent("h4")))
        #expect(under.response?.status == 202, "23 fields, about 2.5 KB (under both limits): expected 202, got \(under)")
        try await gateway.expectServing("after the large headers")
        gateway.stop()
    }

    /// Trickles `trickle` one byte per second after `prefix` until a response comes or 12 s pass.
    private func trickle(_ gateway: EdgeGateway, prefix: [UInt8], trickle: [UInt8]) async throws -> (RawReadOutcome, Duration, RawHTTPConnection) {
        let connection = try await gateway.connect()
        let started = ContinuousClock.now
        try await connection.write(prefix)
        var outcome = RawReadOutcome.timedOut(partial: [])
        for byte in trickle.prefix(12) {
            if !(try await connection.write([byte])) {
                outcome = try await connection.response(within: .seconds(1)) // what it sent before closing, if anything
                break
            }
            outcome = try await connection.response(within: .seconds(1)) // one byte per second is the input
            if case .timedOut = outcome { continue }
            break
        }
        return (outcome, ContinuousClock.now - started, connection)
    }

    @Test("headers trickled one byte per second past read_timeout_s: 408 request-timeout, then the connection is closed")
    func headersTrickled() async throws {
        // read_timeout_s 3 with idle_timeout_s 2: a connection receiving a request's header bytes is a slow request,
        // not an idle connection, so the idle timeout must not close it first.
        let gateway = try EdgeGateway(["read_timeout_s": "3"])
        let (outcome, elapsed, connection) = try await trickle(
            gateway, prefix: Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8),
            trickle: Array(String(repeating: "s", count: 20).utf8))
        defer { connection.close() }
        expectProblem(outcome, 408, "request-timeout", "headers trickled 1 byte/s with read_timeout_s 3, idle_timeout_s 2 (after \(elapsed))")
        #expect(
            elapsed >= .milliseconds(2500) && elapsed < .seconds(9),
            "headers trickled: answered after \(elapsed), expected about read_timeout_s (3 s)")
        let closed = try await connection.closed(within: .seconds(3))
        #expect(closed.closed, "headers trickled: after the 408 the connection stayed open (\(closed.bytes.count) more bytes)")
        try await gateway.expectServing("after the trickled headers")
        gateway.stop()
    }

    @Test("a body trickled one byte per second past read_timeout_s: 408 request-timeout, then the connection is closed")
    func bodyTrickled() async throws {
        let gateway = try EdgeGateway()
        let body = rawEvent("trickled-body")
        let head = Array(
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        let (outcome, elapsed, connection) = try await trickle(gateway, prefix: head, trickle: body)
        defer { connection.close() }
        expectProblem(outcome, 408, "request-timeout", "body trickled 1 byte/s with read_timeout_s 2 (after \(elapsed))")
        #expect(
            elapsed >= .milliseconds(1500) && elapsed < .seconds(8), "body trickled: answered after \(elapsed), expected about read_timeout_s (2 s)")
        let closed = try await connection.closed(within: .seconds(3))
        #expect(closed.closed, "body trickled: after the 408 the connection stayed open (\(closed.bytes.count) more bytes)")
        try await gateway.expectServing("after the trickled body")
        gateway.stop()
    }

    @Test("a keep-alive connection idle past idle_timeout_s is closed by the server without response bytes")
    func idleTimeout() async throws {
        let gateway = try EdgeGateway()
        let connection = try await gateway.connect()
        defer { connection.close() }
        try await connection.write(rawRequest(body: rawEvent("idle-1")))
        let first = try await connection.response()
        #expect(first.response?.status == 202, "idle: the first request got \(first)")
        let started = ContinuousClock.now
        let closed = try await connection.closed(within: .seconds(10))
        let elapsed = ContinuousClock.now - started
        #expect(closed.closed, "idle: the connection was still open \(elapsed) after the last response (idle_timeout_s 2)")
        #expect(
            closed.bytes.isEmpty,
            "idle: the server sent \(closed.bytes.count) bytes before closing: '\(String(decoding: closed.bytes.prefix(300), as: UTF8.self))'")
        #expect(elapsed >= .milliseconds(1500), "idle: closed after \(elapsed), before idle_timeout_s (2 s)")
        try await gateway.expectServing("after the idle close")
        gateway.stop()
    }

    @Test("more than max_connections: the extra connections get 503 too-many-connections or are closed; the existing ones keep working")
    func maxConnections() async throws {
        let gateway = try EdgeGateway(["read_timeout_s": "30", "idle_timeout_s": "30"])
        var held: [RawHTTPConnection] = []
        defer { held.forEach { $0.close() } }
        for index in 0..<64 {
            let connection = try await gateway.connect()
            try await connection.write(rawRequest(body: rawEvent("held-\(index)")))
            let outcome = try await connection.response()
            #expect(outcome.response?.status == 202, "connection \(index + 1) of max_connections 64: expected 202, got \(outcome)")
            held.append(connection)
        }
        var extraOutcomes: [String] = []
        for index in 0..<8 {
            let label = "extra connection \(index + 1) beyond max_connections 64"
            let connection: RawHTTPConnection
            do {
                connection = try await gateway.connect()
            } catch {
                extraOutcomes.append("refused at connect")
                continue // refused outright: allowed
            }
            defer { connection.close() }
            try await connection.write(rawRequest(body: rawEvent("extra-\(index)")))
            let outcome = try await connection.response(within: .seconds(3))
            extraOutcomes.append("\(outcome)")
            switch outcome {
            case .closed: break
            case .response(let response):
                expectProblem(outcome, 503, "too-many-connections", label)
                #expect(response.header("Retry-After") != nil, "\(label): 503 without Retry-After: \(response)")
            case .timedOut:
                Issue.record("\(label): expected 503 too-many-connections or closed at once, got \(outcome)")
            }
        }
        print("max_connections extras: \(extraOutcomes)")
        for (index, connection) in held.enumerated() {
            try await connection.write(rawRequest(body: rawEvent("held-again-\(index)")))
            let outcome = try await connection.response()
            #expect(outcome.response?.status == 202, "existing connection \(index + 1) after the extras: expected 202, got \(outcome)")
        }
        // Freeing slots lets new connections in again.
        for connection in held.suffix(8) { connection.close() }
        held.removeLast(8)
        var lastOutcome = RawReadOutcome.timedOut(partial: [])
        let recovered = try await eventually(timeout: .seconds(10)) {
            lastOutcome = try await gateway.exchange(rawRequest(body: rawEvent("after-free-\(UUID().uuidString)")), within: .seconds(2))
            return lastOutcome.response?.status == 202
        }
        #expect(recovered, "after closing 8 of the 64 connections a new one still got \(lastOutcome)")
        held.forEach { $0.close() }
        held.removeAll()
        try await gateway.expectServing("after the connection limit")
        gateway.stop()
    }

    @Test("more than max_inflight_mb of bodies being received: 503 inflight-limit with Retry-After for those over the budget")
    func inflightBudget() async throws {
        let gateway = try EdgeGateway(["read_timeout_s": "15", "idle_timeout_s": "15"])
        let size = 60 * 1024
        let body = Array(eventBody("inflight", payloadBytes: size - eventBody("inflight", payloadBytes: 0).utf8.count).utf8)
        #expect(body.count == size)
        var connections: [RawHTTPConnection] = []
        defer { connections.forEach { $0.close() } }
        // 24 × 60 KiB = 1,440 KiB declared and nearly all sent, against a 1 MiB budget.
        for _ in 0..<24 {
            let connection = try await gateway.connect()
            let head = Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\n\r\n".utf8)
            try await connection.write(head)
            _ = try await connection.sendUntilStalled(Array(body.dropLast()), stall: .milliseconds(300), deadline: .seconds(2))
            connections.append(connection)
        }
        var outcomes = [RawReadOutcome?](repeating: nil, count: connections.count)
        for (index, connection) in connections.enumerated() {
            let outcome = try await connection.response(within: .milliseconds(300))
            if case .timedOut = outcome { continue }
            outcomes[index] = outcome
        }
        var refused = 0
        for (index, outcome) in outcomes.enumerated() {
            guard let outcome else { continue }
            refused += 1
            expectProblem(outcome, 503, "inflight-limit", "connection \(index + 1) of 24 holding 60 KiB bodies, max_inflight_mb 1")
            #expect(outcome.response?.header("Retry-After") != nil, "connection \(index + 1): 503 without Retry-After: \(outcome)")
        }
        // The rest were within the budget: they finish their bodies (the last byte) and are served.
        var completed = 0
        for (index, connection) in connections.enumerated() where outcomes[index] == nil {
            try await connection.write([body.last ?? 0x20])
            let outcome = try await connection.response()
            if outcome.response?.status == 202 { completed += 1 }
            #expect(outcome.response?.status == 202, "connection \(index + 1) not refused, body completed: expected 202, got \(outcome)")
        }
        print("inflight: \(refused) refused with 503, \(completed) completed")
        #expect(refused >= 1, "24 × 60 KiB bodies in flight with max_inflight_mb 1: no connection was refused 503 inflight-limit")
        #expect(completed >= 10, "24 × 60 KiB bodies with a 1 MiB budget: only \(completed) were served (about 17 fit)")
        try await gateway.expectServing("after the in-flight budget was exceeded")
        gateway.stop()
    }

    @Test("Expect: 100-continue with Content-Length over max_body_kb is answered 413 before any body byte")
    func expectContinueTooLarge() async throws {
        let gateway = try EdgeGateway()
        let connection = try await gateway.connect()
        defer { connection.close() }
        try await connection.write(
            Array(
                "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(1 << 20)\r\nExpect: 100-continue\r\n\r\n"
                    .utf8))
        let outcome = try await connection.response(within: .seconds(5))
        #expect(
            outcome.response?.status != 100,
            "Expect: 100-continue with Content-Length 1 MiB (max_body_kb 64): the server invited the body with 100 Continue")
        expectProblem(outcome, 413, "body-too-large", "Expect: 100-continue with Content-Length 1 MiB (max_body_kb 64), no body sent")
        try await gateway.expectServing("after Expect: 100-continue")
        gateway.stop()
    }

    @Test("Content-Length over max_body_kb without Expect: 413 body-too-large, and the server does not read the whole body")
    func contentLengthTooLarge() async throws {
        let gateway = try EdgeGateway()
        let connection = try await gateway.connect(sendBufferBytes: 32 * 1024)
        defer { connection.close() }
        let declared = 1 << 30
        try await connection.write(
            Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n\r\n".utf8))
        // The client keeps sending regardless of the answer, as a careless one would: the server must neither wait
        // for the body before answering nor swallow all of it.
        let sent = try await connection.sendFiller(total: declared, stall: .seconds(1), deadline: .seconds(10))
        let outcome = try await connection.response(within: .seconds(5))
        expectProblem(outcome, 413, "body-too-large", "Content-Length 1 GiB with max_body_kb 64")
        #expect(sent < declared, "Content-Length 1 GiB with max_body_kb 64: the server read all \(sent) bytes of the body")
        print("content-length over the limit: the client got \(sent) of \(declared) bytes out before the server stopped reading")
        try await gateway.expectServing("after the oversized Content-Length")
        gateway.stop()
    }

    @Test("broken framing: conflicting, negative or chunked-with Content-Length, absurd chunk sizes, trailing garbage: 400 malformed-http or closed")
    func brokenFraming() async throws {
        let gateway = try EdgeGateway()
        let body = rawEvent("framing")
        func head(_ fields: String) -> [UInt8] {
            Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(fields)\r\n".utf8)
        }
        let chunked = Array(String(body.count, radix: 16).utf8) + [13, 10] + body + Array("\r\n0\r\n\r\n".utf8)
        let cases: [(String, [UInt8])] = [
            (
                "two different Content-Length headers",
                head("Content-Length: \(body.count)\r\nContent-Length: \(body.count + 7)\r\n") + body + Array("1234567".utf8)
            ),
            ("a negative Content-Length", head("Content-Length: -5\r\n") + body),
            ("Content-Length with Transfer-Encoding: chunked", head("Content-Length: \(body.count)\r\nTransfer-Encoding: chunked\r\n") + chunked),
            ("an absurd chunk size ffffffffffffffffff", head("Transfer-Encoding: chunked\r\n") + Array("ffffffffffffffffff\r\n".utf8) + body),
            ("a non-numeric Content-Length", head("Content-Length: 12abc\r\n") + body),
            ("Content-Length 2^64", head("Content-Length: 18446744073709551616\r\n") + body),
        ]
        for (label, bytes) in cases {
            let outcome = try await gateway.exchange(bytes)
            expectRefusedOrClosed(outcome, label)
            #expect(gateway.process.isRunning, "\(label): the gateway died; log tail:\n\(gateway.process.log.suffix(3000))")
            if !gateway.process.isRunning { return }
        }
        // A body longer than declared: the extra bytes are a garbage next request.
        let connection = try await gateway.connect()
        defer { connection.close() }
        try await connection.write(rawRequest(body: body) + Array("GARBAGE\u{1}\u{2} nonsense \u{7f}\r\n\r\n".utf8))
        // The declared request may be answered 202 first (then the garbage gets 400 or a close); or, since the
        // garbage arrives while its response is pending, the connection may just be closed.
        let first = try await connection.response()
        if first.response?.status == 202 {
            let second = try await connection.response()
            expectRefusedOrClosed(second, "a body longer than declared, the extra bytes as the next request")
        } else {
            expectRefusedOrClosed(first, "a body longer than declared (declared request and garbage together)")
        }
        try await gateway.expectServing("after the broken framing")
        gateway.stop()
    }

    @Test("bodies shorter than declared, then the client closes: no crash, the gateway keeps serving")
    func shortBodyThenClose() async throws {
        let gateway = try EdgeGateway()
        for index in 0..<30 {
            let connection = try await gateway.connect()
            let path = ["/v1/events", "/v1/events/confirmed", "/v1/events/batch"][index % 3]
            try await connection.write(
                Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"payload\":".utf8))
            connection.close()
        }
        try await gateway.expectServing("after 30 bodies cut short")
        let health = try await gateway.exchange(rawRequest("GET", "/health"))
        #expect(health.response?.status == 200, "GET /health after the short bodies: \(health)")
        gateway.stop()
    }

    @Test("Content-Encoding gzip, deflate (zlib-wrapped) and deflate (raw): 202, and the archive holds the decompressed payload")
    func contentEncodingValid() async throws {
        let gateway = try EdgeGateway()
        let cases: [(String, String, TestCompression.Encoding)] = [
            ("gzip", "gzip", .gzip), ("deflate (zlib)", "deflate", .zlib), ("deflate (raw)", "deflate", .rawDeflate),
            ("x-gzip", "x-gzip", .gzip),
        ]
        var expected: [String: String] = [:]
        for (index, (label, header, encoding)) in cases.enumerated() {
            let id = "encoded-\(index)"
            let payload = "{\"encoding\":\"\(label)\",\"n\":[1,2,3],\"pad\":\"\(String(repeating: "z", count: 2000))\"}"
            expected[id] = payload
            let body = "{\"team\":\"web\",\"app\":\"clicks\",\"event_id\":\"\(id)\",\"payload\":\(payload)}"
            let compressed = try TestCompression.compress(Array(body.utf8), encoding)
            let outcome = try await gateway.exchange(rawRequest(headers: [("Content-Encoding", header)], body: compressed))
            #expect(
                outcome.response?.status == 202,
                "Content-Encoding \(label) (\(compressed.count) bytes for \(body.utf8.count)): expected 202, got \(outcome)")
        }
        try await gateway.expectServing("after the compressed bodies")
        gateway.stop()
        let archive = try ArchiveContents.read(gateway.directory.appendingPathComponent("archive").path)
        for (id, payload) in expected.sorted(by: { $0.key < $1.key }) {
            let line = archive.lines.first { $0.eventID == id }
            let text = line.map { String(decoding: $0.bytes, as: UTF8.self) }
            #expect(text?.hasSuffix(",\"payload\":\(payload)}") == true, "\(id): archived as \(text.map { String($0.prefix(300)) } ?? "nothing")")
        }
    }

    @Test("gzip bombs with max_body_kb 1024: 413 body-too-large quickly, RSS stays low")
    func gzipBomb() async throws {
        let gateway = try EdgeGateway(["max_body_kb": "1024", "max_inflight_mb": "64", "read_timeout_s": "10"])
        // About 0.8 MB on the wire (under max_body_kb), 800 MiB inflated.
        let small = try TestCompression.gzipBomb(expandedMiB: 800)
        #expect(small.count < 1000 * 1024, "the test's bomb is \(small.count) bytes, meant to be under max_body_kb 1024")
        let started = ContinuousClock.now
        let connection = try await gateway.connect()
        defer { connection.close() }
        try await connection.write(
            Array(
                "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: \(small.count)\r\n\r\n"
                    .utf8))
        _ = try await connection.sendUntilStalled(small, stall: .seconds(2), deadline: .seconds(10))
        let outcome = try await connection.response(within: .seconds(10))
        let elapsed = ContinuousClock.now - started
        expectProblem(outcome, 413, "body-too-large", "gzip bomb of \(small.count) bytes inflating to 800 MiB, max_body_kb 1024")
        #expect(elapsed < .seconds(5), "gzip bomb (800 MiB): answered after \(elapsed)")
        let peakSmall = peakResidentKiB(pid: gateway.process.pid) ?? -1
        #expect(peakSmall >= 0 && peakSmall < 200 * 1024, "gzip bomb (800 MiB): peak RSS \(peakSmall) KiB")

        // About 10 MB chunked, 10 GiB inflated (over the wire limit too: refused either way, quickly, without memory).
        let big = try TestCompression.gzipBomb(expandedMiB: 10 * 1024)
        let bigStarted = ContinuousClock.now
        let chunkedConnection = try await gateway.connect()
        defer { chunkedConnection.close() }
        try await chunkedConnection.write(
            Array(
                "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .utf8))
        var framed: [UInt8] = []
        framed.reserveCapacity(big.count + big.count / 1000)
        var offset = 0
        while offset < big.count {
            let piece = big[offset..<min(big.count, offset + 65536)]
            framed.append(contentsOf: Array("\(String(piece.count, radix: 16))\r\n".utf8))
            framed.append(contentsOf: piece)
            framed.append(contentsOf: [13, 10])
            offset += piece.count
        }
        framed += Array("0\r\n\r\n".utf8)
        _ = try await chunkedConnection.sendUntilStalled(framed, stall: .seconds(2), deadline: .seconds(15))
        let bigOutcome = try await chunkedConnection.response(within: .seconds(10))
        let bigElapsed = ContinuousClock.now - bigStarted
        expectProblem(bigOutcome, 413, "body-too-large", "chunked gzip bomb of \(big.count) bytes inflating to 10 GiB, max_body_kb 1024")
        #expect(bigElapsed < .seconds(10), "gzip bomb (10 GiB): answered after \(bigElapsed)")
        let peak = peakResidentKiB(pid: gateway.process.pid) ?? -1
        #expect(peak >= 0 && peak < 200 * 1024, "gzip bombs: peak RSS \(peak) KiB")
        print("gzip bombs: \(small.count) bytes → 800 MiB in \(elapsed), \(big.count) bytes → 10 GiB in \(bigElapsed); peak RSS \(peak) KiB")
        try await gateway.expectServing("after the gzip bombs")
        gateway.stop()
    }

    @Test("corrupt gzip and deflate bodies are answered 400 invalid-content-encoding")
    func corruptEncoding() async throws {
        let gateway = try EdgeGateway()
        let body = Array(eventBody("corrupt", payloadBytes: 500).utf8)
        let gzip = try TestCompression.compress(body, .gzip)
        var flipped = gzip
        for index in stride(from: 12, to: flipped.count - 8, by: 7) { flipped[index] ^= 0x5A }
        var badCRC = gzip
        badCRC[badCRC.count - 6] ^= 0xFF
        let cases: [(String, String, [UInt8])] = [
            ("gzip with flipped bytes", "gzip", flipped),
            ("gzip cut in half", "gzip", Array(gzip.prefix(gzip.count / 2))),
            ("gzip with a wrong CRC", "gzip", badCRC),
            ("plain JSON labelled gzip", "gzip", body),
            ("plain JSON labelled deflate", "deflate", body),
        ]
        for (label, header, bytes) in cases {
            let outcome = try await gateway.exchange(rawRequest(headers: [("Content-Encoding", header)], body: bytes))
            expectProblem(outcome, 400, "invalid-content-encoding", label)
        }
        try await gateway.expectServing("after the corrupt encodings")
        gateway.stop()
    }

    @Test("Content-Encoding br or compress is answered 415 unsupported-content-encoding")
    func unsupportedEncoding() async throws {
        let gateway = try EdgeGateway()
        for encoding in ["br", "compress", "zstd", "gzip, br"] {
            let outcome = try await gateway.exchange(rawRequest(headers: [("Content-Encoding", encoding)], body: rawEvent("enc-\(encoding)")))
            expectProblem(outcome, 415, "unsupported-content-encoding", "Content-Encoding: \(encoding)")
        }
        try await gateway.expectServing("after the unsupported encodings")
        gateway.stop()
    }
}
