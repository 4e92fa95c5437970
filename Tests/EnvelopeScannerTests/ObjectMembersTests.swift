import EnvelopeScanner
import Testing

@Suite("objectMembers, decodeString, decodeInteger")
struct ObjectMembersTests {
    /// The text of `range` within `input`.
    static func text(_ input: [UInt8], _ range: Range<Int>?) -> String? {
        range.map { String(decoding: input[$0], as: UTF8.self) }
    }

    @Test("each wanted member's value range is exactly its bytes; others are skipped")
    func memberRanges() throws {
        let input = bytes(#" { "v" : 1 , "event_id":"e-1", "payload" : {"event_id":"inner","x":[1,2]} , "n": -12 } "#)
        let members = try EnvelopeScanner.objectMembers(input, keys: ["event_id", "payload", "n", "absent"])
        #expect(Self.text(input, members["event_id"]) == #""e-1""#)
        #expect(Self.text(input, members["payload"]) == #"{"event_id":"inner","x":[1,2]}"#)
        #expect(Self.text(input, members["n"]) == "-12")
        #expect(members["absent"] == nil)
        #expect(members.count == 3)
    }

    @Test("keys are compared after decoding, and the last of a repeated key wins")
    func decodedKeysAndRepeats() throws {
        let input = bytes(#"{"event\u005fid":"first","event_id":"second"}"#)
        let members = try EnvelopeScanner.objectMembers(input, keys: ["event_id"])
        #expect(Self.text(input, members["event_id"]) == #""second""#)
        let escaped = bytes(#"{"event\u005fid":"only"}"#)
        #expect(Self.text(escaped, try EnvelopeScanner.objectMembers(escaped, keys: ["event_id"])["event_id"]) == #""only""#)
    }

    @Test(
        "the whole document is validated; a non-object is notAnObject",
        arguments: [
            ("[]", EnvelopeError.Code.notAnObject), (#""s""#, .notAnObject), ("", .emptyBody),
            (#"{"event_id":"a",}"#, .invalidJSON), (#"{"event_id":"a"} x"#, .trailingData), (#"{"n":01}"#, .invalidJSON),
        ])
    func rejections(_ text: String, _ code: EnvelopeError.Code) {
        #expect(throws: EnvelopeError.self) { try EnvelopeScanner.objectMembers(bytes(text), keys: ["event_id"]) }
        do {
            _ = try EnvelopeScanner.objectMembers(bytes(text), keys: ["event_id"])
        } catch {
            #expect(error.code == code, "\(text): \(error)")
        }
    }

    @Test("nesting is bounded by maxDepth")
    func depth() throws {
        let input = bytes(#"{"a":[[[1]]]}"#)
        #expect(try EnvelopeScanner.objectMembers(input, keys: ["a"], maxDepth: 4)["a"] != nil)
        #expect(throws: EnvelopeError.self) { try EnvelopeScanner.objectMembers(input, keys: ["a"], maxDepth: 3) }
    }

    @Test("decodeString resolves escapes and surrogate pairs; a non-string is nil")
    func strings() throws {
        let input = bytes(#"{"s":"caf\u00e9 \"q\" \ud83d\ude00\n","n":1,"z":null}"#)
        let members = try EnvelopeScanner.objectMembers(input, keys: ["s", "n", "z"])
        #expect(members["s"].flatMap { EnvelopeScanner.decodeString(input, range: $0) } == "café \"q\" 😀\n")
        #expect(members["n"].flatMap { EnvelopeScanner.decodeString(input, range: $0) } == nil)
        #expect(members["z"].flatMap { EnvelopeScanner.decodeString(input, range: $0) } == nil)
        #expect(EnvelopeScanner.decodeString(input, range: 0..<1000) == nil)
    }

    @Test("decodeInteger reads integers and refuses fractions, exponents and overflow")
    func integers() throws {
        let input = bytes(#"[207,-3,0,2.5,1e3,"7",99999999999999999999]"#)
        let elements = try EnvelopeScanner.arrayElements(input)
        let values = input.withUnsafeBytes { raw in elements.map { EnvelopeScanner.decodeInteger(raw, range: $0) } }
        #expect(values == [207, -3, 0, nil, nil, nil, nil])
    }
}
