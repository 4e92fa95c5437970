import EnvelopeScanner
import Testing

@Suite("UTF-8 and \\u escapes")
struct UnicodeTests {
    /// Well-formed sequences at every boundary of Unicode Table 3-7.
    static let wellFormed: [[UInt8]] = [
        [0x7F], // U+007F
        [0xC2, 0x80], [0xDF, 0xBF], // U+0080, U+07FF
        [0xE0, 0xA0, 0x80], [0xEC, 0xBF, 0xBF], [0xED, 0x80, 0x80], [0xED, 0x9F, 0xBF], // U+0800, U+CFFF, U+D000, U+D7FF
        [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], // U+E000, U+FFFF
        [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98, 0x80], [0xF3, 0xBF, 0xBF, 0xBF], // U+10000, U+1F600, U+FFFFF
        [0xF4, 0x80, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], // U+100000, U+10FFFF
    ]

    @Test("well-formed UTF-8 inside strings is accepted", arguments: wellFormed)
    func acceptsWellFormedUTF8(_ sequence: [UInt8]) {
        let input: [UInt8] = [0x22, 0x61] + sequence + [0x62, 0x22]
        #expect(validationError(input) == nil, "\(render(input))")
        // and again in a position the eight-byte fast path reaches mid-word
        let long: [UInt8] = [0x22] + Array(repeating: 0x61, count: 13) + sequence + Array(repeating: 0x62, count: 11) + [0x22]
        #expect(validationError(long) == nil, "\(render(long))")
    }

    /// Ill-formed sequences with the reason the message should give.
    static let illFormed: [([UInt8], String)] = [
        ([0x80], "continuation"), ([0xBF], "continuation"),
        ([0xC0, 0x80], "overlong"), ([0xC1, 0xBF], "overlong"),
        ([0xE0, 0x80, 0x80], "overlong"), ([0xE0, 0x9F, 0xBF], "overlong"),
        ([0xF0, 0x80, 0x80, 0x80], "overlong"), ([0xF0, 0x8F, 0xBF, 0xBF], "overlong"),
        ([0xED, 0xA0, 0x80], "surrogate"), ([0xED, 0xBF, 0xBF], "surrogate"), ([0xED, 0xB0, 0x80], "surrogate"),
        ([0xF4, 0x90, 0x80, 0x80], "U+10FFFF"), ([0xF5, 0x80, 0x80, 0x80], "U+10FFFF"), ([0xF7, 0xBF, 0xBF, 0xBF], "U+10FFFF"),
        ([0xF8, 0x88, 0x80, 0x80, 0x80], "never appears"), ([0xFE], "never appears"), ([0xFF], "never appears"),
        ([0xC3], "truncated"), ([0xE2, 0x82], "truncated"), ([0xF0, 0x9F, 0x98], "truncated"),
        ([0xC3, 0x41], "not a continuation"), ([0xE2, 0x41, 0x82], "not a continuation"), ([0xF0, 0x9F, 0x41, 0x80], "not a continuation"),
    ]

    @Test("ill-formed UTF-8 inside strings is invalidUTF8 at the sequence start", arguments: illFormed)
    func rejectsIllFormedUTF8InStrings(_ sequence: [UInt8], reason: String) {
        let input: [UInt8] = [0x5B, 0x22, 0x61] + sequence + [0x22, 0x5D] // ["a<seq>"]
        let error = validationError(input)
        #expect(error?.code == .invalidUTF8, "\(render(input)): \(error?.description ?? "accepted")")
        #expect(error?.offset == 3)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        // the same sequence after 20 ASCII bytes, where the word-at-a-time path finds it
        let long: [UInt8] = [0x22] + Array(repeating: 0x61, count: 20) + sequence + [0x22]
        #expect(validationError(long)?.code == .invalidUTF8)
        #expect(validationError(long)?.offset == 21)
    }

    @Test("a sequence truncated by the end of the input is invalidUTF8, not an unterminated string")
    func rejectsSequenceTruncatedAtEnd() {
        for tail: [UInt8] in [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]] {
            let error = validationError([0x22, 0x61] + tail)
            #expect(error?.code == .invalidUTF8)
            #expect(error?.offset == 2)
            #expect(error?.message.contains("input ends") == true)
        }
    }

    static let outsideStrings: [Rejection] = [
        Rejection(raw: [0xFF], .invalidUTF8, at: 0),
        Rejection(raw: [0x20, 0xC3, 0x28], .invalidUTF8, at: 1),
        Rejection(raw: [0x5B, 0x80, 0x5D], .invalidUTF8, at: 1),
        Rejection(raw: [0x5B, 0x31, 0x2C, 0xE2, 0x82, 0x5D], .invalidUTF8, at: 3),
        Rejection(raw: [0x5B, 0x31, 0xF5, 0x5D], .invalidUTF8, at: 2),
        Rejection(raw: [0x7B, 0xED, 0xA0, 0x80, 0x3A, 0x31, 0x7D], .invalidUTF8, at: 1),
        Rejection(raw: [0x7B, 0x22, 0x61, 0x22, 0xC0, 0x80, 0x31, 0x7D], .invalidUTF8, at: 4),
        Rejection(raw: [0x2D, 0xFF], .invalidUTF8, at: 1),
        Rejection(raw: [0x7B, 0x7D, 0xFF], .invalidUTF8, at: 2),
        Rejection(raw: [0x31, 0x20, 0xF0, 0x9F], .invalidUTF8, at: 2),
        // well-formed but still not JSON: the grammar error, not a UTF-8 one
        Rejection(raw: [0x5B, 0xC3, 0xA9, 0x5D], .invalidJSON, at: 1),
        Rejection(raw: [0x7B, 0x7D, 0xF0, 0x9F, 0x98, 0x80], .trailingData, at: 2),
        // the first problem in byte order wins
        Rejection(raw: [0x5B, 0x78, 0xFF, 0x5D], .invalidJSON, at: 1),
        Rejection(raw: [0x7B, 0x7D, 0x78, 0xFF], .trailingData, at: 2),
    ]

    @Test("UTF-8 is validated outside strings too", arguments: outsideStrings)
    func validatesUTF8OutsideStrings(_ rejection: Rejection) {
        let error = validationError(rejection.input)
        #expect(error?.code == rejection.code, "\(rejection.testDescription): \(error?.description ?? "accepted")")
        #expect(error?.offset == rejection.offset, "\(rejection.testDescription): \(error?.description ?? "accepted")")
    }

    @Test("a surrogate pair escape decodes to one scalar")
    func decodesSurrogatePairs() throws {
        let cases: [(String, String)] = [
            (#"\uD83D\uDE00"#, "😀"), (#"\ud83d\ude00"#, "😀"), (#"\uD800\uDC00"#, "\u{10000}"),
            (#"\uDBFF\uDFFF"#, "\u{10FFFF}"), (#"a\uD83D\uDE00b\u00E9"#, "a😀bé"),
        ]
        for (escaped, expected) in cases {
            let envelope = try EnvelopeScanner.scanEnvelope(bytes(#"{"app":""# + escaped + #"","payload":null}"#))
            #expect(envelope.app == expected)
        }
    }

    static let unpaired: [(String, Int)] = [
        (#""\uD800""#, 1), (#""\uDBFF""#, 1), (#""\uDC00""#, 1), (#""\uDFFF""#, 1),
        (#""\uD800x""#, 1), (#""\uD800\n""#, 1), (#""\uD800\u0041""#, 1), (#""\uD800\uD800""#, 1),
        (#""\uDE00\uD83D""#, 1), (#""ab\uD83D""#, 3), (#"["\uD83D\uDE00", "\uDE00"]"#, 18), (#""\uD800\""#, 1),
    ]

    @Test("unpaired surrogate escapes are invalidJSON with a message that says so", arguments: unpaired)
    func rejectsUnpairedSurrogates(_ text: String, offset: Int) {
        let error = validationError(text)
        #expect(error?.code == .invalidJSON, "\(text): \(error?.description ?? "accepted")")
        #expect(error?.offset == offset)
        #expect(error?.message.contains("unpaired") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("surrogate") == true)
    }

    @Test("a high surrogate followed by a malformed \\u escape reports the malformed escape")
    func reportsMalformedSecondEscape() {
        let error = validationError(#""\uD83D\uDEXX""#)
        #expect(error?.code == .invalidJSON)
        #expect(error?.offset == 7)
    }

    @Test("raw UTF-8 decodes unchanged in envelope strings")
    func decodesRawUTF8() throws {
        let envelope = try EnvelopeScanner.scanEnvelope(bytes("{\"team\":\"caf\u{E9}-\u{4E2D}-\u{1F600}\",\"payload\":1}"))
        #expect(envelope.team == "caf\u{E9}-\u{4E2D}-\u{1F600}")
    }
}
