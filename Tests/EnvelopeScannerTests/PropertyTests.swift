import EnvelopeScanner
import Foundation
import GatewayTesting
import Testing

@Suite("Properties on generated documents")
struct PropertyTests {
    /// Override with `ENVELOPE_SCANNER_SEED=<n>` to replay a failure.
    static let seed: UInt64 = seedFromEnvironment() ?? 0x51_0CE5_EED

    @Test("random envelopes: every field decodes to what was written and the payload range is exact")
    func randomEnvelopes() throws {
        var generator = JSONGenerator(seed: Self.seed)
        for round in 0..<1_500 {
            var members: [String] = []
            var expected = ScannedEnvelope(payload: 0..<0)
            let payloadText = generator.value(depth: 4)
            members.append("\"payload\"" + generator.whitespace() + ":" + generator.whitespace() + payloadText)
            let stringFields: [(String, WritableKeyPath<ScannedEnvelope, String?>)] = [
                ("team", \.team), ("app", \.app), ("partition_key", \.partitionKey), ("event_id", \.eventID),
            ]
            for (name, path) in stringFields {
                switch generator.rng.below(3) {
                case 0:
                    continue
                case 1:
                    members.append("\"\(name)\":null")
                default:
                    let (json, decoded) = generator.string(maxLength: 20)
                    members.append("\"\(name)\":" + generator.whitespace() + json)
                    expected[keyPath: path] = decoded
                }
            }
            switch generator.rng.below(4) {
            case 0:
                members.append(#""large_message":true"#)
                expected.largeMessage = true
            case 1:
                members.append(#""large_message":false"#)
                expected.largeMessage = false
            case 2: members.append(#""large_message":null"#)
            default: break
            }
            members.shuffle(using: &generator.rng)
            let text =
                generator.whitespace() + "{" + generator.whitespace()
                + members.map { $0 + generator.whitespace() }.joined(separator: "," + generator.whitespace()) + "}" + generator.whitespace()
            let input = bytes(text)
            let result = envelopeResult(input)
            guard case .success(let envelope) = result else {
                Issue.record("seed \(Self.seed) round \(round): rejected \(text): \(result.failure?.description ?? "")")
                continue
            }
            expected.payload = envelope.payload
            #expect(envelope == expected, "seed \(Self.seed) round \(round): \(text)")
            #expect(EnvelopeTests.payloadText(input, envelope) == payloadText, "seed \(Self.seed) round \(round): \(text)")
        }
    }

    @Test("mutated documents: the three entry points agree with each other and never crash")
    func entryPointsAgreeOnMutations() {
        var generator = JSONGenerator(seed: Self.seed ^ 0xABCD)
        var mutator = Mutator(rng: SplitMix64(seed: Self.seed ^ 0x1234))
        let envelopeCodes: Set<EnvelopeError.Code> = [.notAnObject, .missingPayload, .wrongFieldType, .duplicateField, .unknownField]
        for round in 0..<4_000 {
            let original: String
            switch round % 3 {
            case 0: original = #"{"team":"t","app":"a","payload":"# + generator.value(depth: 3) + "}"
            case 1: original = "[" + generator.value(depth: 2) + "," + generator.value(depth: 2) + "]"
            default: original = generator.value(depth: 4)
            }
            let input = mutator.mutate(bytes(original))
            let context = "seed \(Self.seed) round \(round): \(render(input))"
            let validation = validationError(input)
            let envelope = envelopeResult(input)
            let elements = elementsResult(input)
            if let validation {
                // Both other entry points reject too, no later than validate's problem.
                let envelopeError = envelope.failure
                #expect(envelopeError != nil, "\(context)")
                #expect((envelopeError?.offset ?? 0) <= (validation.offset ?? 0), "\(context)")
                if envelopeError?.offset == validation.offset && envelopeError.map({ envelopeCodes.contains($0.code) }) == false {
                    #expect(envelopeError == validation, "\(context)")
                }
                let elementsError = elements.failure
                #expect(elementsError != nil, "\(context)")
                #expect(elementsError == validation || elementsError?.code == .notAnArray, "\(context)")
                #expect((validation.offset ?? 0) <= input.count, "\(context)")
            } else {
                if let envelopeError = envelope.failure {
                    #expect(envelopeCodes.contains(envelopeError.code), "\(context): \(envelopeError)")
                }
                if let elementsError = elements.failure {
                    #expect(elementsError.code == .notAnArray, "\(context): \(elementsError)")
                }
            }
        }
    }

    @Test("random bytes never crash the scanner")
    func randomBytes() {
        var rng = SplitMix64(seed: Self.seed ^ 0x5A5A)
        let alphabet = Array("{}[]:,\"\\ 0123456789.eE+-tfnulrsa".utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xFF]
        for _ in 0..<3_000 {
            let input = (0..<rng.below(40)).map { _ in rng.chance(80) ? rng.pick(alphabet) : UInt8(truncatingIfNeeded: rng.next()) }
            let error = validationError(input)
            #expect(error == nil || (error?.offset ?? 0) <= input.count)
            _ = envelopeResult(input)
            _ = elementsResult(input)
        }
    }
}

/// Random damage to a document: byte flips, truncations, insertions, deletions, duplications.
struct Mutator {
    var rng: SplitMix64

    /// Bytes that tend to produce near-miss documents.
    static let interesting: [UInt8] =
        Array("{}[]:,\"\\/ 0123456789.eE+-tfnulrsu\n\t\r".utf8) + [
            0x00, 0x01, 0x0B, 0x0C, 0x1F, 0x7F, 0x80, 0xA0, 0xBF, 0xC0, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
        ]

    /// One to three random mutations of `input`.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var out = input
        for _ in 0..<(1 + rng.below(3)) {
            let at = out.isEmpty ? 0 : rng.below(out.count)
            switch rng.below(7) {
            case 0 where !out.isEmpty:
                out[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !out.isEmpty:
                out[at] = rng.pick(Self.interesting)
            case 2:
                out = Array(out.prefix(at))
            case 3:
                let count = 1 + rng.below(3)
                out.insert(
                    contentsOf: (0..<count).map { _ in rng.chance(70) ? rng.pick(Self.interesting) : UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 4 where !out.isEmpty:
                out.remove(at: at)
            case 5 where !out.isEmpty:
                let end = min(out.count, at + 1 + rng.below(8))
                out.insert(contentsOf: out[at..<end], at: rng.below(out.count + 1))
            case 6 where out.count > 1:
                out.swapAt(at, rng.below(out.count))
            default:
                out.insert(rng.pick(Self.interesting), at: at)
            }
        }
        return out
    }
}

/// The seed from `ENVELOPE_SCANNER_SEED`, decimal or 0x-hexadecimal, if set.
func seedFromEnvironment() -> UInt64? {
    guard let text = ProcessInfo.processInfo.environment["ENVELOPE_SCANNER_SEED"] else { return nil }
    if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
    return UInt64(text)
}
