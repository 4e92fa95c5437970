import CompressNIO
import HTTPHeaderParsing
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import Testing

@testable import GatewayHTTP

/// The edge on one connection, driven part by part on an `EmbeddedChannel` whose clock the test advances.
@Suite("HTTP edge guard")
struct EdgeGuardTests {
    static let limits = EdgeLimits(
        maxURIBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 1000, readTimeout: .seconds(2),
        idleTimeout: .seconds(5), maxConnections: 2, maxInflightBytes: 1500
    )

    struct Connection {
        let channel: EmbeddedChannel
        let loop: EmbeddedEventLoop

        init(counters: EdgeCounters = EdgeCounters(), limits: EdgeLimits = EdgeGuardTests.limits) throws {
            loop = EmbeddedEventLoop()
            channel = EmbeddedChannel(loop: loop)
            try channel.pipeline.syncOperations.addHandler(EdgeGuard(limits: limits, counters: counters))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ part: HTTPRequestPart) throws { try channel.writeInbound(part) }
        func received() throws -> HTTPRequestPart? { try channel.readInbound(as: HTTPRequestPart.self) }
        func answered() throws -> HTTPResponsePart? { try channel.readOutbound(as: HTTPResponsePart.self) }

        /// The status and problem type the edge answered with, reading the head and body it wrote.
        func problem() throws -> (status: Int, type: String)? {
            guard case .head(let head) = try answered() else { return nil }
            guard case .body(let body) = try answered() else { return nil }
            let text = String(buffer: body)
            let type = text.split(separator: "\"").drop { $0 != "type" }.dropFirst(2).first.map(String.init) ?? ""
            return (head.status.code, type)
        }
    }

    static func post(_ path: String = "/v1/events", fields: HTTPFields = [:]) -> HTTPRequestPart {
        .head(HTTPRequest(method: .post, scheme: nil, authority: "localhost", path: path, headerFields: fields))
    }

    @Test("a request within the limits passes through unchanged")
    func passesThrough() throws {
        let connection = try Connection()
        try connection.send(Self.post(fields: [.contentLength: "2"]))
        try connection.send(.body(ByteBuffer(string: "{}")))
        try connection.send(.end(nil))
        guard case .head(let head) = try connection.received() else {
            Issue.record("no head")
            return
        }
        #expect(head.path == "/v1/events")
        #expect(try connection.received() == .body(ByteBuffer(string: "{}")))
        #expect(try connection.received() == .end(nil))
        #expect(try connection.answered() == nil)
    }

    @Test("a long request target is 414 and never reaches the router")
    func uriTooLong() throws {
        let connection = try Connection()
        try connection.send(Self.post("/v1/events?" + String(repeating: "a", count: 100)))
        #expect(try connection.problem()?.status == 414)
        #expect(try connection.received() == nil)
    }

    @Test("too many header fields or bytes are 431")
    func headersTooLarge() throws {
        var many = HTTPFields()
        for index in 0..<9 { many.append(HTTPField(name: HTTPField.Name("x-h\(index)")!, value: "1")) }
        let counted = try Connection()
        try counted.send(Self.post(fields: many))
        #expect(try counted.problem().map { [$0.status] } == [431])

        let sized = try Connection()
        try sized.send(Self.post(fields: [HTTPField.Name("x-big")!: String(repeating: "v", count: 300)]))
        let answer = try sized.problem()
        #expect(answer?.status == 431)
        #expect(answer?.type == "urn:sluice:problem:headers-too-large")
    }

    @Test("a declared body over the limit is 413 before any body byte, also with Expect: 100-continue")
    func declaredTooLarge() throws {
        for fields: HTTPFields in [[.contentLength: "1001"], [.contentLength: "1001", .expect: "100-continue"]] {
            let connection = try Connection()
            try connection.send(Self.post(fields: fields))
            #expect(try connection.problem()?.status == 413)
            try connection.send(.body(ByteBuffer(string: "ignored")))
            #expect(try connection.received() == nil)
        }
    }

    @Test("Expect: 100-continue within the limit is answered 100 Continue")
    func expectContinue() throws {
        let connection = try Connection()
        try connection.send(Self.post(fields: [.contentLength: "10", .expect: "100-continue"]))
        guard case .head(let head) = try connection.answered() else {
            Issue.record("no 100")
            return
        }
        #expect(head.status == .continue)
        #expect(try connection.received() != nil)
    }

    @Test(
        "conflicting or negative Content-Length, or Content-Length with chunked, is 400 malformed-http",
        arguments: [["1", "2"], ["-1"], ["abc"]])
    func badContentLength(_ values: [String]) throws {
        let connection = try Connection()
        var fields = HTTPFields()
        for value in values { fields.append(HTTPField(name: .contentLength, value: value)) }
        try connection.send(Self.post(fields: fields))
        let answer = try connection.problem()
        #expect(answer?.status == 400)
        #expect(answer?.type == "urn:sluice:problem:malformed-http")
    }

    @Test("Content-Length together with Transfer-Encoding is 400")
    func lengthAndChunked() throws {
        let connection = try Connection()
        try connection.send(Self.post(fields: [.contentLength: "3", .transferEncoding: "chunked"]))
        #expect(try connection.problem()?.status == 400)
    }

    @Test("a streamed body past the limit fails the request in its body stream")
    func streamedTooLarge() throws {
        let connection = try Connection()
        try connection.send(Self.post())
        _ = try connection.received()
        #expect(throws: EdgeRequestError.self) {
            try connection.send(.body(ByteBuffer(repeating: 0x20, count: 1001)))
        }
    }

    @Test("headers that do not complete within read_timeout_s are 408, timed from the first byte")
    func headerDeadline() throws {
        let connection = try Connection()
        // An idle connection is not a slow request: no deadline without bytes.
        connection.loop.advanceTime(by: .seconds(3))
        #expect(try connection.answered() == nil)
        // The byte observer in front of the decoder reports the first bytes of a request.
        try connection.channel.pipeline.syncOperations.handler(type: EdgeGuard.self).bytesArrived()
        connection.loop.advanceTime(by: .milliseconds(1900))
        #expect(try connection.answered() == nil)
        connection.loop.advanceTime(by: .milliseconds(200))
        let answer = try connection.problem()
        #expect(answer?.status == 408)
        #expect(answer?.type == "urn:sluice:problem:request-timeout")
    }

    @Test("an idle keep-alive connection is closed after idle_timeout_s; a slow request is not idle")
    func idleDeadline() throws {
        let idle = try Connection()
        idle.loop.advanceTime(by: .milliseconds(4900))
        #expect(idle.channel.isActive)
        idle.loop.advanceTime(by: .milliseconds(200))
        #expect(!idle.channel.isActive)
        #expect(try idle.answered() == nil)

        // After a response the idle time starts again; bytes of a next request stop it (the header deadline runs).
        let busy = try Connection()
        try busy.send(Self.post(fields: [.contentLength: "0"]))
        try busy.send(.end(nil))
        try busy.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try busy.channel.writeOutbound(HTTPResponsePart.end(nil))
        _ = try busy.answered()
        _ = try busy.answered()
        busy.loop.advanceTime(by: .milliseconds(4000))
        try busy.channel.pipeline.syncOperations.handler(type: EdgeGuard.self).bytesArrived()
        busy.loop.advanceTime(by: .milliseconds(1500))
        #expect(busy.channel.isActive)
        busy.loop.advanceTime(by: .milliseconds(600))
        #expect(try busy.problem()?.status == 408)
    }

    @Test("a body that does not complete within read_timeout_s fails with a read timeout")
    func bodyDeadline() throws {
        let connection = try Connection()
        try connection.send(Self.post(fields: [.contentLength: "10"]))
        _ = try connection.received()
        connection.loop.advanceTime(by: .milliseconds(1900))
        #expect(throws: Never.self) { try connection.channel.throwIfErrorCaught() }
        connection.loop.advanceTime(by: .milliseconds(200))
        #expect {
            try connection.channel.throwIfErrorCaught()
        } throws: { error in
            (error as? EdgeRequestError)?.code == .readTimeout
        }
    }

    @Test("connections beyond max_connections are answered 503 and closed; closing one frees a place")
    func connectionLimit() throws {
        let counters = EdgeCounters()
        let first = try Connection(counters: counters)
        let second = try Connection(counters: counters)
        let third = try Connection(counters: counters)
        let answer = try third.problem()
        #expect(answer?.status == 503)
        #expect(answer?.type == "urn:sluice:problem:too-many-connections")
        #expect(try first.answered() == nil)
        #expect(counters.openConnections == 2)
        _ = try second.channel.finish()
        #expect(counters.openConnections == 1)
        let fourth = try Connection(counters: counters)
        #expect(try fourth.answered() == nil)
        _ = try first.channel.finish()
        _ = try fourth.channel.finish()
        #expect(counters.openConnections == 0)
    }

    @Test("declared bodies past max_inflight_mb across connections are 503 inflight-limit until released")
    func inflightBudget() throws {
        let counters = EdgeCounters()
        let first = try Connection(counters: counters)
        try first.send(Self.post(fields: [.contentLength: "900"]))
        #expect(counters.inflightBytes == 900)
        let second = try Connection(counters: counters)
        try second.send(Self.post(fields: [.contentLength: "900"]))
        let answer = try second.problem()
        #expect(answer?.status == 503)
        #expect(answer?.type == "urn:sluice:problem:inflight-limit")
        // The first request completes and its response ends: its bytes are released.
        try first.send(.body(ByteBuffer(repeating: 0x20, count: 900)))
        try first.send(.end(nil))
        try first.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try first.channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(counters.inflightBytes == 0)
        let third = try Connection(counters: counters)
        try third.send(Self.post(fields: [.contentLength: "900"]))
        #expect(try third.answered() == nil)
    }

    @Test("a parse error between requests is answered as problem+json; header overflow is 431")
    func parseErrors() throws {
        let malformed = try Connection()
        malformed.channel.pipeline.fireErrorCaught(HTTPParserError.invalidChunkSize)
        #expect(try malformed.problem()?.status == 400)
        let overflow = try Connection()
        overflow.channel.pipeline.fireErrorCaught(HTTPParserError.headerOverflow)
        #expect(try overflow.problem()?.status == 431)
    }
}

@Suite("Request body decoding")
struct BodyDecoderTests {
    static func compressed(_ bytes: [UInt8], _ algorithm: CompressionAlgorithm) throws -> ByteBuffer {
        var buffer = ByteBuffer(bytes: bytes)
        return try buffer.compress(with: algorithm)
    }

    static let json = Array(#"{"payload":{"event":"signup","plan":"pro"}}"#.utf8)

    @Test("gzip, zlib deflate and raw deflate decode to the original bytes")
    func roundTrips() throws {
        #expect(try BodyDecoder.decode(Self.compressed(Self.json, .gzip()), coding: .gzip, maxBytes: 1000) == ByteBuffer(bytes: Self.json))
        #expect(try BodyDecoder.decode(Self.compressed(Self.json, .zlib()), coding: .deflate, maxBytes: 1000) == ByteBuffer(bytes: Self.json))
        #expect(try BodyDecoder.decode(Self.compressed(Self.json, .deflate()), coding: .deflate, maxBytes: 1000) == ByteBuffer(bytes: Self.json))
    }

    @Test("a bomb stops at the limit")
    func bomb() throws {
        let bomb = try Self.compressed([UInt8](repeating: 0x20, count: 20 * 1024 * 1024), .gzip())
        #expect(bomb.readableBytes < 100_000)
        #expect(throws: BodyDecoder.Failure.tooLarge) { try BodyDecoder.decode(bomb, coding: .gzip, maxBytes: 1024 * 1024) }
        let exact = try Self.compressed([UInt8](repeating: 0x20, count: 200_000), .gzip())
        #expect(try BodyDecoder.decode(exact, coding: .gzip, maxBytes: 200_000).readableBytes == 200_000)
        #expect(throws: BodyDecoder.Failure.tooLarge) { try BodyDecoder.decode(exact, coding: .gzip, maxBytes: 199_999) }
    }

    @Test("empty, truncated, corrupt and trailing data are refused", arguments: [0, 1, 2, 3])
    func damaged(_ kind: Int) throws {
        let whole = try Self.compressed(Array(repeating: Self.json, count: 50).flatMap { $0 }, .gzip())
        var body: ByteBuffer
        switch kind {
        case 0: body = ByteBuffer()
        case 1: body = whole.getSlice(at: 0, length: whole.readableBytes - 6) ?? ByteBuffer()
        case 2:
            body = whole
            body.setInteger(UInt8(0xFF), at: 12)
            body.setInteger(UInt8(0xFF), at: 13)
        default:
            body = whole
            body.writeString("trailing")
        }
        #expect(throws: BodyDecoder.Failure.self) { try BodyDecoder.decode(body, coding: .gzip, maxBytes: 1 << 20) }
    }
}
