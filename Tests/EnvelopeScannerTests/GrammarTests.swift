import EnvelopeScanner
import Testing

@Suite("RFC 8259 grammar")
struct GrammarTests {
    static let acceptedDocuments: [String] = [
        // literals
        "true", "false", "null", " true ", "\t\n\r null \n\r\t",
        // numbers
        "0", "-0", "1", "-1", "10", "1234567890", "0.5", "-0.0", "1.25", "1e5", "1E5", "1e+5", "1E+2", "1e-5",
        "0e0", "-0E-0", "0.000001", "123.456e789", "1e400", "-1e400",
        String(repeating: "9", count: 400), "18446744073709551616", "-9223372036854775809",
        // strings
        #""""#, #""abc""#, #""\"\\\/\b\f\n\r\t""#, #""\u0000\u001F\u0041\u00e9\u20AC\uFFFF""#,
        #""\uD83D\uDE00""#, #""\ud83d\ude00""#, #""\uDBFF\uDFFF""#, "\"caf\u{E9} \u{1F600} \u{7F}\"",
        // objects and arrays
        "{}", "[]", "[[]]", "[{}]", "{\"a\":{}}", "[1,2,3]", "[1,\"a\",true,false,null,{},[]]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
        " { \"a\" : [ 1 , { } , [ ] ] , \"b\" : null } ",
        "{\n\t\"a\"\r\n:\n1\n}",
        "{\"a\":1,\"a\":2}", // duplicate keys are valid JSON
        "{\"\":0}", "{\"\\u0061\":0}",
        String(repeating: "[1,", count: 50) + "1" + String(repeating: "]", count: 50),
    ]

    @Test("valid documents are accepted", arguments: acceptedDocuments)
    func acceptsValidDocuments(_ text: String) {
        let error = validationError(text)
        #expect(error == nil, "\(text): \(error?.description ?? "")")
    }

    static let numberRejections: [Rejection] = [
        Rejection("01", .invalidJSON, at: 0),
        Rejection("-01", .invalidJSON, at: 0),
        Rejection("00", .invalidJSON, at: 0),
        Rejection("[01]", .invalidJSON, at: 1),
        Rejection("1.", .invalidJSON, at: 2),
        Rejection("1.]", .invalidJSON, at: 2),
        Rejection(".5", .invalidJSON, at: 0),
        Rejection("-", .invalidJSON, at: 1),
        Rejection("-a", .invalidJSON, at: 1),
        Rejection("-.5", .invalidJSON, at: 1),
        Rejection("1e", .invalidJSON, at: 2),
        Rejection("1E+", .invalidJSON, at: 3),
        Rejection("1e-x", .invalidJSON, at: 3),
        Rejection("1.e1", .invalidJSON, at: 2),
        Rejection("+1", .invalidJSON, at: 0),
        Rejection("NaN", .invalidJSON, at: 0),
        Rejection("Infinity", .invalidJSON, at: 0),
        Rejection("-Infinity", .invalidJSON, at: 1),
        Rejection("0x10", .trailingData, at: 1),
        Rejection("1.5.2", .trailingData, at: 3),
        Rejection("[1e5e5]", .invalidJSON, at: 4),
    ]

    @Test("malformed numbers are rejected", arguments: numberRejections)
    func rejectsMalformedNumbers(_ rejection: Rejection) {
        expectRejection(rejection)
    }

    static let literalAndStringRejections: [Rejection] = [
        Rejection("tru", .invalidJSON, at: 0),
        Rejection("True", .invalidJSON, at: 0),
        Rejection("nul", .invalidJSON, at: 0),
        Rejection("fals", .invalidJSON, at: 0),
        Rejection("falsy", .invalidJSON, at: 0),
        Rejection("[nill]", .invalidJSON, at: 1),
        Rejection("nulll", .trailingData, at: 4),
        Rejection("truefalse", .trailingData, at: 4),
        Rejection("\"abc", .invalidJSON, at: 4),
        Rejection("\"", .invalidJSON, at: 1),
        Rejection("\"\\\"", .invalidJSON, at: 3),
        Rejection("\"\\", .invalidJSON, at: 1),
        Rejection(#""\x""#, .invalidJSON, at: 1),
        Rejection(#""\'""#, .invalidJSON, at: 1),
        Rejection(#""\U0041""#, .invalidJSON, at: 1),
        Rejection(#""\u12""#, .invalidJSON, at: 1),
        Rejection(#""\u12G4""#, .invalidJSON, at: 1),
        Rejection(#""ab\u""#, .invalidJSON, at: 3),
        Rejection("'a'", .invalidJSON, at: 0),
        Rejection("\"a\tb\"", .invalidJSON, at: 2),
        Rejection("\"a\nb\"", .invalidJSON, at: 2),
        Rejection(#"{"a":"b"x}"#, .invalidJSON, at: 8),
    ]

    @Test("malformed literals and strings are rejected", arguments: literalAndStringRejections)
    func rejectsMalformedLiteralsAndStrings(_ rejection: Rejection) {
        expectRejection(rejection)
    }

    @Test("every raw control character inside a string is rejected", arguments: Array(UInt8(0)..<0x20))
    func rejectsRawControlCharacters(_ control: UInt8) {
        let input: [UInt8] = [0x22, 0x61, control, 0x62, 0x22]
        let error = validationError(input)
        #expect(error?.code == .invalidJSON)
        #expect(error?.offset == 2)
        #expect(error?.message.contains("control character") == true)
    }

    @Test("DEL (0x7F) is not a control character for JSON and is accepted raw")
    func acceptsRawDelete() {
        #expect(validationError([0x22, 0x7F, 0x22]) == nil)
    }

    @Test("every escape decodes to its character")
    func decodesEveryEscape() throws {
        let body = #"{"team":"q\"b\\s\/b\bf\fn\nr\rt\tu\u0041\u00e9\u20AC\uD83D\uDE00\u0000","payload":0}"#
        let envelope = try EnvelopeScanner.scanEnvelope(bytes(body))
        #expect(envelope.team == "q\"b\\s/b\u{8}f\u{C}n\nr\rt\tuA\u{E9}\u{20AC}\u{1F600}\u{0}")
    }

    static let structureRejections: [Rejection] = [
        Rejection("[1,]", .invalidJSON, at: 3),
        Rejection("[1 , ]", .invalidJSON, at: 5),
        Rejection("[,1]", .invalidJSON, at: 1),
        Rejection("[,]", .invalidJSON, at: 1),
        Rejection("[1,,2]", .invalidJSON, at: 3),
        Rejection("[1 2]", .invalidJSON, at: 3),
        Rejection(#"{"a":1,}"#, .invalidJSON, at: 7),
        Rejection(#"{"a":1,,"b":2}"#, .invalidJSON, at: 7),
        Rejection(#"{"a" 1}"#, .invalidJSON, at: 5),
        Rejection(#"{"a":}"#, .invalidJSON, at: 5),
        Rejection(#"{"a"}"#, .invalidJSON, at: 4),
        Rejection("{a:1}", .invalidJSON, at: 1),
        Rejection("{1:2}", .invalidJSON, at: 1),
        Rejection("{'a':1}", .invalidJSON, at: 1),
        Rejection(#"{"a":1 "b":2}"#, .invalidJSON, at: 7),
        Rejection("{,}", .invalidJSON, at: 1),
        Rejection("[1}", .invalidJSON, at: 2),
        Rejection(#"{"a":1]"#, .invalidJSON, at: 6),
        Rejection("[", .invalidJSON, at: 1),
        Rejection("{", .invalidJSON, at: 1),
        Rejection("[[]", .invalidJSON, at: 3),
        Rejection(#"{"a""#, .invalidJSON, at: 4),
        Rejection(#"{"a":"#, .invalidJSON, at: 5),
        Rejection("]", .invalidJSON, at: 0),
        Rejection("}", .invalidJSON, at: 0),
        Rejection(":", .invalidJSON, at: 0),
        Rejection(",", .invalidJSON, at: 0),
        Rejection("/*c*/1", .invalidJSON, at: 0),
        Rejection("[1]//c", .trailingData, at: 3),
        // whitespace is exactly space, tab, LF and CR
        Rejection("\u{0B}1", .invalidJSON, at: 0),
        Rejection("\u{0C}1", .invalidJSON, at: 0),
        Rejection("\u{A0}1", .invalidJSON, at: 0),
        Rejection("[1,\u{0C}2]", .invalidJSON, at: 3),
        Rejection("1\u{0C}", .trailingData, at: 1),
        Rejection("\u{0}", .invalidJSON, at: 0),
    ]

    @Test("malformed structure is rejected", arguments: structureRejections)
    func rejectsMalformedStructure(_ rejection: Rejection) {
        expectRejection(rejection)
    }

    static let trailingRejections: [Rejection] = [
        Rejection("{} {}", .trailingData, at: 3),
        Rejection("1 2", .trailingData, at: 2),
        Rejection("[]]", .trailingData, at: 2),
        Rejection("{}x", .trailingData, at: 2),
        Rejection("\"a\"\"b\"", .trailingData, at: 3),
        Rejection("null \n ,", .trailingData, at: 7),
        Rejection("{}\u{0}", .trailingData, at: 2),
        Rejection("{}\u{E9}", .trailingData, at: 2),
    ]

    @Test("anything but whitespace after the top-level value is trailing data", arguments: trailingRejections)
    func rejectsTrailingData(_ rejection: Rejection) {
        expectRejection(rejection)
    }

    @Test("trailing whitespace is fine")
    func acceptsTrailingWhitespace() {
        #expect(validationError("{} \n\t\r ") == nil)
        #expect(validationError("1\n") == nil)
    }

    @Test("empty and whitespace-only bodies are emptyBody", arguments: ["", " ", "\n", "\t\r\n  "])
    func rejectsEmptyBodies(_ text: String) {
        #expect(validationError(text)?.code == .emptyBody)
        #expect(envelopeResult(text).failure?.code == .emptyBody)
        #expect(elementsResult(bytes(text)).failure?.code == .emptyBody)
    }

    @Test("a leading UTF-8 byte order mark is rejected as invalidJSON", arguments: ["{}", "1", "", " {}"])
    func rejectsByteOrderMark(_ rest: String) {
        let input: [UInt8] = [0xEF, 0xBB, 0xBF] + bytes(rest)
        let error = validationError(input)
        #expect(error?.code == .invalidJSON)
        #expect(error?.offset == 0)
        #expect(error?.message.contains("byte order mark") == true)
        #expect(envelopeResult(input).failure?.message.contains("byte order mark") == true)
    }

    @Test("top-level scalars are valid JSON texts", arguments: ["1", "\"s\"", "true", "false", "null", "-0.5e3"])
    func acceptsTopLevelScalars(_ text: String) {
        #expect(validationError(text) == nil)
        #expect(envelopeResult(text).failure?.code == .notAnObject)
        #expect(elementsResult(bytes(text)).failure?.code == .notAnArray)
    }

    /// Checks that `validate` rejects the input with the expected code at the expected offset.
    private func expectRejection(_ rejection: Rejection, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = validationError(rejection.input)
        #expect(error?.code == rejection.code, "\(rejection.testDescription): \(error?.description ?? "accepted")", sourceLocation: sourceLocation)
        #expect(
            error?.offset == rejection.offset, "\(rejection.testDescription): \(error?.description ?? "accepted")", sourceLocation: sourceLocation)
        #expect(error?.message.contains("byte") == true, sourceLocation: sourceLocation)
    }
}
