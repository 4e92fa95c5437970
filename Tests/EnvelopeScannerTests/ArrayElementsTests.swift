import EnvelopeScanner
import Testing

@Suite("arrayElements")
struct ArrayElementsTests {
    /// The text of each element range.
    static func texts(_ input: [UInt8], _ ranges: [Range<Int>]) -> [String] {
        ranges.map { String(decoding: input[$0], as: UTF8.self) }
    }

    @Test("empty arrays have no elements", arguments: ["[]", "[ ]", " [\n\t] "])
    func emptyArrays(_ text: String) throws {
        #expect(try EnvelopeScanner.arrayElements(bytes(text)) == [])
    }

    @Test("each element's range is exactly its bytes, in order")
    func elementRanges() throws {
        let text = #" [ 1 , "a\"b" ,{"x":[1,2],"x":{}} , [ ] ,null,true, -2.5E-3 ,[[3]]] "#
        let input = bytes(text)
        let ranges = try EnvelopeScanner.arrayElements(input)
        #expect(
            Self.texts(input, ranges) == ["1", #""a\"b""#, #"{"x":[1,2],"x":{}}"#, "[ ]", "null", "true", "-2.5E-3", "[[3]]"]
        )
        #expect(ranges.first == 3..<4)
    }

    @Test("nested arrays are single elements; their contents are not listed")
    func nestedArrays() throws {
        let input = bytes("[[1,2],[[3],[4,[5]]],[]]")
        #expect(Self.texts(input, try EnvelopeScanner.arrayElements(input)) == ["[1,2]", "[[3],[4,[5]]]", "[]"])
    }

    @Test("elements are validated as JSON but not as envelopes")
    func elementsAreNotEnvelopes() throws {
        let input = bytes(#"[{"team":1,"unknown":2},{"team":"a","team":"b"},{}]"#)
        #expect(try EnvelopeScanner.arrayElements(input).count == 3)
    }

    static let rejections: [Rejection] = [
        Rejection("{}", .notAnArray, at: 0),
        Rejection(" 1", .notAnArray, at: 1),
        Rejection("\"[]\"", .notAnArray, at: 0),
        Rejection("null", .notAnArray, at: 0),
        Rejection("{\"a\":[1,]", .notAnArray, at: 0),
        Rejection("x", .invalidJSON, at: 0),
        Rejection("", .emptyBody, at: nil),
        Rejection("  ", .emptyBody, at: 2),
        Rejection("[1,]", .invalidJSON, at: 3),
        Rejection("[1 2]", .invalidJSON, at: 3),
        Rejection("[1", .invalidJSON, at: 2),
        Rejection("[1] [2]", .trailingData, at: 4),
        Rejection("[{\"a\":01}]", .invalidJSON, at: 6),
        Rejection("[\"\\uD800\"]", .invalidJSON, at: 2),
    ]

    @Test("errors", arguments: rejections)
    func errors(_ rejection: Rejection) {
        let error = elementsResult(rejection.input).failure
        #expect(error?.code == rejection.code, "\(rejection.testDescription): \(error?.description ?? "accepted")")
        #expect(error?.offset == rejection.offset, "\(rejection.testDescription): \(error?.description ?? "accepted")")
    }

    @Test("random batches: every range maps back to the element that was written")
    func randomBatches() throws {
        let seed: UInt64 = 0xA77A_2024
        var generator = JSONGenerator(seed: seed)
        for round in 0..<300 {
            let elements = (0..<generator.rng.below(8)).map { _ in generator.value(depth: 3) }
            let text =
                generator.whitespace() + "[" + generator.whitespace()
                + elements.map { $0 + generator.whitespace() }.joined(separator: "," + generator.whitespace()) + "]"
            let input = bytes(text)
            let ranges = try EnvelopeScanner.arrayElements(input)
            #expect(Self.texts(input, ranges) == elements, "seed \(seed) round \(round): \(text)")
        }
    }
}
