import EnvelopeScanner
import Testing

@Suite("Nesting depth")
struct DepthTests {
    /// `depth` nested arrays around `1`.
    static func arrays(_ depth: Int) -> [UInt8] {
        Array(repeating: UInt8(ascii: "["), count: depth) + [UInt8(ascii: "1")] + Array(repeating: UInt8(ascii: "]"), count: depth)
    }

    /// `depth` nested objects around `1`.
    static func objects(_ depth: Int) -> [UInt8] {
        bytes(String(repeating: #"{"k":"#, count: depth) + "1" + String(repeating: "}", count: depth))
    }

    /// `depth` levels alternating between objects and arrays, starting with an object.
    static func mixed(_ depth: Int) -> [UInt8] {
        var open = ""
        var close = ""
        for level in 0..<depth {
            if level % 2 == 0 {
                open += #"{"k":"#
                close = "}" + close
            } else {
                open += "[0,"
                close = "]" + close
            }
        }
        return bytes(open + "1" + close)
    }

    @Test("nesting at maxDepth is accepted, maxDepth + 1 is tooDeep", arguments: [1, 2, 5, 63, 64, 65, 128, 129, 200, 513])
    func enforcesMaxDepth(_ maxDepth: Int) {
        for make in [Self.arrays, Self.objects, Self.mixed] {
            #expect(validationError(make(maxDepth), maxDepth: maxDepth) == nil)
            let error = validationError(make(maxDepth + 1), maxDepth: maxDepth)
            #expect(error?.code == .tooDeep)
            #expect(error?.message.contains("\(maxDepth)") == true)
        }
        #expect(validationError(Self.arrays(maxDepth + 1), maxDepth: maxDepth)?.offset == maxDepth)
    }

    @Test("the default maximum depth is 128")
    func defaultDepthIs128() {
        #expect(EnvelopeScanner.defaultMaxDepth == 128)
        #expect(validationError(Self.arrays(128)) == nil)
        #expect(validationError(Self.arrays(129))?.code == .tooDeep)
        #expect(validationError(Self.arrays(129))?.offset == 128)
    }

    @Test("maxDepth 0 allows only scalars")
    func zeroDepth() {
        #expect(validationError("1", maxDepth: 0) == nil)
        #expect(validationError("[]", maxDepth: 0)?.code == .tooDeep)
        #expect(validationError("{}", maxDepth: -5)?.code == .tooDeep)
    }

    @Test("very deep bodies are rejected fast and without recursion", arguments: [10_000, 1_000_000])
    func rejectsVeryDeepBodies(_ depth: Int) {
        let clock = ContinuousClock()
        let start = clock.now
        let opens = Array(repeating: UInt8(ascii: "["), count: depth)
        let error = validationError(opens)
        #expect(error?.code == .tooDeep)
        #expect(error?.offset == 128)
        #expect(envelopeResult(bytes(#"{"payload":"#) + opens).failure?.code == .tooDeep)
        #expect(elementsResult(opens).failure?.code == .tooDeep)
        // A complete, balanced body of this depth, allowed by a huge maxDepth, is validated
        // iteratively: a recursive scanner would overflow the stack here.
        let balanced = Self.arrays(depth)
        #expect(validationError(balanced, maxDepth: Int.max) == nil)
        #expect(validationError(balanced + [UInt8(ascii: "]")], maxDepth: Int.max)?.code == .trailingData)
        #expect(clock.now - start < .seconds(5))
    }

    @Test("a million nested objects are rejected too")
    func rejectsVeryDeepObjects() {
        let opens = bytes(String(repeating: #"{"a":"#, count: 1_000_000))
        #expect(validationError(opens)?.code == .tooDeep)
        #expect(validationError(opens)?.offset == 128 * 5)
    }

    @Test("closing brackets must match the container kind at every depth, also beyond 64 levels")
    func tracksContainerKindsBeyondInlineStack() throws {
        // 150 levels alternating object/array; swap one closing bracket at each of several depths.
        let good = Self.mixed(150)
        #expect(validationError(good, maxDepth: 150) == nil)
        let firstClose = try #require(good.firstIndex(of: UInt8(ascii: "1"))) + 1
        for depthFromInside in [0, 1, 30, 63, 64, 65, 86, 100, 149] {
            var bad = good
            let index = firstClose + depthFromInside
            bad[index] = bad[index] == UInt8(ascii: "}") ? UInt8(ascii: "]") : UInt8(ascii: "}")
            let error = validationError(bad, maxDepth: 150)
            #expect(error?.code == .invalidJSON, "swapped bracket at \(index)")
            #expect(error?.offset == index)
        }
    }

    @Test("the payload counts from the envelope's depth 1")
    func payloadDepthCountsFromEnvelope() {
        let inner = Self.arrays(127)
        let ok = bytes(#"{"payload":"#) + inner + [UInt8(ascii: "}")]
        #expect(envelopeResult(ok).success != nil)
        let deep = bytes(#"{"payload":"#) + Self.arrays(128) + [UInt8(ascii: "}")]
        #expect(envelopeResult(deep).failure?.code == .tooDeep)
        #expect(envelopeResult(deep, maxDepth: 129).success != nil)
        #expect(elementsResult([UInt8(ascii: "[")] + inner + [UInt8(ascii: "]")]).success?.count == 1)
        #expect(elementsResult([UInt8(ascii: "[")] + Self.arrays(128) + [UInt8(ascii: "]")]).failure?.code == .tooDeep)
    }
}
