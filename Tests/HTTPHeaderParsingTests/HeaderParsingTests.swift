import HTTPHeaderParsing
import Testing

@Suite("X-Client-Sent-At")
struct ClientSentAtTests {
    let now: Int64 = 1_764_633_600_000

    @Test(
        "values that once trapped the gateway, and other hostile ones, are ignored",
        arguments: [
            "-100000000000000000", "9223372036854775807", "-9223372036854775808", "99999999999999999999999",
            "abc", "1e30", "", " ", "12 34", "+1764633600000", "0x10", "1764633600000.5", "١٢٣",
        ])
    func hostileValuesAreIgnored(_ value: String) {
        #expect(ClientSentAt.networkLatencyMillis(value, nowMillis: now) == nil)
    }

    @Test("a plausible value gives the latency; a client clock ahead reads as 0")
    func plausibleValues() {
        #expect(ClientSentAt.networkLatencyMillis("\(now - 50)", nowMillis: now) == 50)
        #expect(ClientSentAt.networkLatencyMillis(" \(now - 7)\t", nowMillis: now) == 7)
        #expect(ClientSentAt.networkLatencyMillis("\(now + 900)", nowMillis: now) == 0)
    }

    @Test("more than 24 hours from the gateway's clock is implausible")
    func skewBounds() {
        let day = ClientSentAt.plausibleSkewMillis
        #expect(ClientSentAt.networkLatencyMillis("\(now - day)", nowMillis: now) == day)
        #expect(ClientSentAt.networkLatencyMillis("\(now - day - 1)", nowMillis: now) == nil)
        #expect(ClientSentAt.networkLatencyMillis("\(now + day + 1)", nowMillis: now) == nil)
        #expect(ClientSentAt.networkLatencyMillis("0", nowMillis: now) == nil)
    }

    @Test("the gateway's own clock at an extreme never overflows")
    func extremeClock() {
        #expect(ClientSentAt.networkLatencyMillis("1", nowMillis: .min) == nil)
        #expect(ClientSentAt.networkLatencyMillis("999999999999999", nowMillis: .max) == nil)
    }
}

@Suite("Decimal integers")
struct DecimalIntegerTests {
    @Test func bounds() {
        #expect(DecimalInteger.parse("999999999999999999".utf8) == 999_999_999_999_999_999)
        #expect(DecimalInteger.parse("1000000000000000000".utf8) == nil)
        #expect(DecimalInteger.parse("-5".utf8) == nil)
        #expect(DecimalInteger.parse("-5".utf8, allowsNegative: true) == -5)
        #expect(DecimalInteger.parse("--5".utf8, allowsNegative: true) == nil)
        #expect(DecimalInteger.parse("-".utf8, allowsNegative: true) == nil)
        #expect(DecimalInteger.parse("007".utf8) == 7)
        #expect(DecimalInteger.parse("12345".utf8, maxDigits: 4) == nil)
    }
}

@Suite("Content-Length")
struct ContentLengthTests {
    @Test func parsing() throws {
        #expect(try ContentLengthHeader.length([]) == nil)
        #expect(try ContentLengthHeader.length(["42"]) == 42)
        #expect(try ContentLengthHeader.length(["42", "42"]) == 42)
        #expect(try ContentLengthHeader.length(["42, 42"]) == 42)
        #expect(throws: ContentLengthProblem.conflicting) { try ContentLengthHeader.length(["42", "43"]) }
        #expect(throws: ContentLengthProblem.malformed("-1")) { try ContentLengthHeader.length(["-1"]) }
        #expect(throws: ContentLengthProblem.malformed("")) { try ContentLengthHeader.length([""]) }
        #expect(throws: ContentLengthProblem.malformed("99999999999999999999")) {
            try ContentLengthHeader.length(["99999999999999999999"])
        }
    }
}

@Suite("Content-Encoding")
struct ContentEncodingTests {
    @Test func codings() throws {
        #expect(try ContentEncodingHeader.coding([]) == nil)
        #expect(try ContentEncodingHeader.coding(["identity"]) == nil)
        #expect(try ContentEncodingHeader.coding(["GZip"]) == .gzip)
        #expect(try ContentEncodingHeader.coding(["x-gzip"]) == .gzip)
        #expect(try ContentEncodingHeader.coding([" deflate "]) == .deflate)
        #expect(try ContentEncodingHeader.coding(["identity, gzip"]) == .gzip)
        #expect(throws: ContentEncodingProblem.unsupported("br")) { try ContentEncodingHeader.coding(["br"]) }
        #expect(throws: ContentEncodingProblem.stacked("gzip, gzip")) { try ContentEncodingHeader.coding(["gzip", "gzip"]) }
        #expect(throws: ContentEncodingProblem.unsupported(String(repeating: "x", count: 64))) {
            try ContentEncodingHeader.coding([String(repeating: "x", count: 5000)])
        }
    }
}

@Suite("Content-Type and X-Request-Id")
struct ContentTypeTests {
    @Test func mediaTypes() {
        #expect(ContentTypeHeader.parse("application/json") == ContentTypeHeader(mediaType: "application/json"))
        #expect(ContentTypeHeader.parse("Application/JSON; Charset=\"UTF-8\"") == ContentTypeHeader(mediaType: "application/json", charset: "utf-8"))
        #expect(ContentTypeHeader.parse("application/json;charset=latin1")?.isUTF8 == false)
        #expect(ContentTypeHeader.parse("application/json; boundary=x")?.isUTF8 == true)
        #expect(ContentTypeHeader.parse("json") == nil)
        #expect(ContentTypeHeader.parse("/json") == nil)
        #expect(ContentTypeHeader.parse("application/") == nil)
        #expect(ContentTypeHeader.parse(String(repeating: "a", count: 2000) + "/json") == nil)
    }

    @Test func requestIDs() {
        #expect(RequestIDHeader.validated("abc-123") == "abc-123")
        #expect(RequestIDHeader.validated("") == nil)
        #expect(RequestIDHeader.validated("has space") == nil)
        #expect(RequestIDHeader.validated("é") == nil)
        #expect(RequestIDHeader.validated(String(repeating: "a", count: 128)) != nil)
        #expect(RequestIDHeader.validated(String(repeating: "a", count: 129)) == nil)
    }
}
