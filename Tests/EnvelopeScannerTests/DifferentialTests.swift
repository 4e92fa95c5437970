import EnvelopeScanner
import Foundation
import GatewayTesting
import Testing

/// `validate` against Foundation's `JSONSerialization.jsonObject(with:options: [.fragmentsAllowed])`.
///
/// Foundation on Linux (swift-corelibs-foundation, Swift 6.3.1) differs from strict RFC 8259 in a few
/// places, found empirically (see `FoundationDifferenceTests`, which pins our side of each):
///
/// * Foundation **accepts** and we reject:
///   - `utf8ByteOrderMark`: a leading EF BB BF is skipped.
///   - `trailingComma`: a `,` directly before `]` or `}` (`[1,]`, `{"a":1,}`) is ignored.
///   - `nonUTF8Encoding`: a 0x00 byte among the first four bytes, or a leading FE FF / FF FE, makes
///     Foundation decode the body as UTF-16 or UTF-32 (`31 00` is accepted as UTF-16LE "1").
/// * Foundation **rejects** and we accept:
///   - `doubleOverflow`: a number whose magnitude overflows `Double` (`1e400`, 400 digits) is "not
///     representable"; RFC 8259 leaves number range to implementations, and we forward payloads untouched.
///
/// A disagreement counts as explained only when the document belongs to one of these classes *and*
/// the disagreement goes in that class's direction; anything else fails with the seed.
@Suite("Differential against Foundation JSONSerialization")
struct DifferentialTests {
    /// Foundation's own nesting limit on Linux (measured: 512 levels accepted, 513 rejected).
    static let foundationMaxDepth = 512
    /// Override with `ENVELOPE_SCANNER_SEED=<n>` to replay a failure.
    static let seed: UInt64 = seedFromEnvironment() ?? 0xD1FF_2026
    /// Multiply the document counts with `ENVELOPE_SCANNER_DIFFERENTIAL_SCALE=<n>` for a longer soak run.
    static let scale = ProcessInfo.processInfo.environment["ENVELOPE_SCANNER_DIFFERENTIAL_SCALE"].flatMap { Int($0) } ?? 1

    enum KnownDifference: String, CaseIterable {
        case utf8ByteOrderMark, trailingComma, nonUTF8Encoding, doubleOverflow
    }

    @Test("same verdict as Foundation on thousands of valid and mutated documents")
    func sameVerdictAsFoundation() {
        var generator = JSONGenerator(seed: Self.seed)
        var mutator = Mutator(rng: SplitMix64(seed: Self.seed &+ 1))
        var documents: [(kind: String, bytes: [UInt8], mustBeValid: Bool)] = []
        for i in 0..<(2_500 * Self.scale) {
            let text = i % 5 == 0 ? generator.value(depth: 0) : generator.whitespace() + generator.value(depth: 5) + generator.whitespace()
            documents.append(("valid", bytes(text), true))
        }
        for _ in 0..<(5_500 * Self.scale) {
            documents.append(("mutated", mutator.mutate(bytes(generator.value(depth: 4))), false))
        }
        for i in 0..<150 {
            // Documents in the known-difference classes, so the exclusions are exercised too.
            var valid = bytes(generator.value(depth: 3))
            switch i % 3 {
            case 0:
                valid = [0xEF, 0xBB, 0xBF] + valid
            case 1:
                if let close = valid.lastIndex(where: { $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: "}") }), close > 1 {
                    valid.insert(UInt8(ascii: ","), at: close)
                }
            default:
                valid = Array(String(decoding: valid, as: UTF8.self).utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            }
            documents.append(("known difference", valid, false))
        }
        for i in 0..<120 {
            // Deep nesting up to Foundation's own limit, and just past it (both must reject).
            let depth = i % 6 == 0 ? Self.foundationMaxDepth + 1 + generator.rng.below(3) : Self.foundationMaxDepth - generator.rng.below(40)
            let text = generator.nested(depth: depth)
            documents.append(("deep \(depth)", bytes(text), depth <= Self.foundationMaxDepth))
            documents.append(("deep \(depth) mutated", mutator.mutate(bytes(text)), false))
        }

        var agreed = 0
        var rejectedByBoth = 0
        var explained: [KnownDifference: Int] = [:]
        for (index, document) in documents.enumerated() {
            let ours = validationError(document.bytes, maxDepth: Self.foundationMaxDepth)
            let foundation = Self.foundationAccepts(document.bytes)
            let context = "seed \(Self.seed) document #\(index) (\(document.kind)): \(render(document.bytes))"
            if document.mustBeValid {
                #expect(ours == nil, "\(context): \(ours?.description ?? "")")
            }
            if (ours == nil) == foundation {
                agreed += 1
                if ours != nil { rejectedByBoth += 1 }
                continue
            }
            let classes = foundation ? Self.foundationLeniencies(document.bytes) : Self.foundationStrictness(document.bytes)
            guard let difference = classes.first else {
                Issue.record(
                    "\(context): Foundation \(foundation ? "accepts" : "rejects"), we \(ours.map { "reject: \($0)" } ?? "accept")"
                )
                continue
            }
            explained[difference, default: 0] += 1
        }
        print("differential: \(documents.count) documents, \(agreed) agreed (\(rejectedByBoth) rejected by both), explained \(explained)")
        // The comparison must have been meaningful: mostly agreement, and plenty of rejections.
        #expect(agreed > documents.count * 9 / 10, "seed \(Self.seed): only \(agreed) of \(documents.count) agreed; explained \(explained)")
        #expect(rejectedByBoth > 2_000 * Self.scale, "seed \(Self.seed): only \(rejectedByBoth) rejected by both")
    }

    /// Whether Foundation parses `bytes` as a JSON text (fragments allowed).
    static func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }

    /// Known classes where Foundation accepts what strict RFC 8259 rejects, that `bytes` belongs to.
    static func foundationLeniencies(_ bytes: [UInt8]) -> [KnownDifference] {
        var classes: [KnownDifference] = []
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { classes.append(.utf8ByteOrderMark) }
        if bytes.prefix(4).contains(0) || bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            classes.append(.nonUTF8Encoding)
        }
        if hasTrailingComma(bytes) { classes.append(.trailingComma) }
        return classes
    }

    /// Known classes where Foundation rejects what RFC 8259 allows, that `bytes` belongs to.
    static func foundationStrictness(_ bytes: [UInt8]) -> [KnownDifference] {
        hasNumberOverflowingDouble(bytes) ? [.doubleOverflow] : []
    }

    /// Whether, outside strings, a `,` is followed (after whitespace) by `]` or `}`.
    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var found = false
        forEachByteOutsideStrings(bytes) { i in
            guard bytes[i] == UInt8(ascii: ",") else { return }
            var j = i + 1
            while j < bytes.count && [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
            if j < bytes.count && (bytes[j] == UInt8(ascii: "]") || bytes[j] == UInt8(ascii: "}")) { found = true }
        }
        return found
    }

    /// Whether, outside strings, a number token's magnitude overflows `Double`.
    static func hasNumberOverflowingDouble(_ bytes: [UInt8]) -> Bool {
        var found = false
        var tokenEnd = 0
        forEachByteOutsideStrings(bytes) { i in
            guard i >= tokenEnd, bytes[i] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[i]) else { return }
            var j = i
            while j < bytes.count && Array("0123456789+-.eE".utf8).contains(bytes[j]) { j += 1 }
            tokenEnd = j
            if let value = Double(String(decoding: bytes[i..<j], as: UTF8.self)), value.isInfinite { found = true }
        }
        return found
    }

    /// Calls `body` with the offset of every byte outside string literals (a naive lexer: enough for
    /// documents Foundation accepted, which are JSON up to the known leniencies).
    static func forEachByteOutsideStrings(_ bytes: [UInt8], _ body: (Int) -> Void) {
        var inString = false
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                if b == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
            } else {
                body(i)
            }
            i += 1
        }
    }
}

/// Our strict behaviour where Foundation on Linux is lenient (or stricter): one test per known difference.
@Suite("Known differences from Foundation, pinned")
struct FoundationDifferenceTests {
    @Test("a UTF-8 byte order mark is rejected (Foundation skips it)")
    func byteOrderMark() {
        let error = validationError([0xEF, 0xBB, 0xBF] + bytes(#"{"a":1}"#))
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains("byte order mark") == true)
    }

    @Test("trailing commas are rejected (Foundation ignores them)", arguments: ["[1,]", "[1 , ]", #"{"a":1,}"#, #"{"a":[{},],}"#, "[[],\n]"])
    func trailingCommas(_ text: String) {
        #expect(validationError(text)?.code == .invalidJSON)
    }

    @Test("UTF-16 and UTF-32 bodies are rejected (Foundation detects and decodes them)")
    func otherEncodings() {
        let utf16LE: [UInt8] = Array("{}".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(validationError(utf16LE)?.code == .invalidJSON)
        #expect(validationError([0x31, 0x00])?.code == .trailingData)
        #expect(validationError([0x00, 0x31])?.code == .invalidJSON)
        #expect(validationError([0x00, 0x00, 0x00, 0x31])?.code == .invalidJSON)
        #expect(validationError([0xFF, 0xFE, 0x31, 0x00])?.code == .invalidUTF8)
        #expect(validationError([0xFE, 0xFF, 0x00, 0x31])?.code == .invalidUTF8)
    }

    @Test(
        "numbers beyond Double's range are accepted (Foundation rejects them)",
        arguments: ["1e400", "-1e400", "[1.8e308]", String(repeating: "9", count: 400)])
    func hugeNumbers(_ text: String) {
        #expect(validationError(text) == nil)
    }

    @Test("lone surrogate escapes are rejected, as Foundation does")
    func loneSurrogates() {
        #expect(validationError(#""\uD800""#)?.code == .invalidJSON)
        #expect(validationError(#""\uDC00""#)?.code == .invalidJSON)
    }
}
