import EnvelopeScanner
import GatewayTesting
import Testing

/// The UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

/// The error `validate` throws for `input`, or `nil` when it accepts it.
func validationError(_ input: [UInt8], maxDepth: Int = EnvelopeScanner.defaultMaxDepth) -> EnvelopeError? {
    do {
        try EnvelopeScanner.validate(input, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

/// The error `validate` throws for `text`, or `nil` when it accepts it.
func validationError(_ text: String, maxDepth: Int = EnvelopeScanner.defaultMaxDepth) -> EnvelopeError? {
    validationError(bytes(text), maxDepth: maxDepth)
}

/// `scanEnvelope` as a `Result`, so expectations can look at either side.
func envelopeResult(_ input: [UInt8], maxDepth: Int = EnvelopeScanner.defaultMaxDepth) -> Result<ScannedEnvelope, EnvelopeError> {
    Result { () throws(EnvelopeError) in try EnvelopeScanner.scanEnvelope(input, maxDepth: maxDepth) }
}

/// `scanEnvelope` of `text` as a `Result`.
func envelopeResult(_ text: String, maxDepth: Int = EnvelopeScanner.defaultMaxDepth) -> Result<ScannedEnvelope, EnvelopeError> {
    envelopeResult(bytes(text), maxDepth: maxDepth)
}

/// `arrayElements` as a `Result`.
func elementsResult(_ input: [UInt8], maxDepth: Int = EnvelopeScanner.defaultMaxDepth) -> Result<[Range<Int>], EnvelopeError> {
    Result { () throws(EnvelopeError) in try EnvelopeScanner.arrayElements(input, maxDepth: maxDepth) }
}

extension Result {
    /// The failure, or `nil` on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    /// The success value, or `nil` on failure.
    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

/// A readable rendering of bytes for test names and failure messages: ASCII as is, others as `\xNN`.
func render(_ input: [UInt8], limit: Int = 160) -> String {
    var out = ""
    for b in input.prefix(limit) {
        if b >= 0x20 && b < 0x7F && b != 0x5C {
            out.append(Character(Unicode.Scalar(b)))
        } else {
            out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return input.count > limit ? out + "…(\(input.count) bytes)" : out
}

/// One rejection case: input, expected code and expected offset.
struct Rejection: CustomTestStringConvertible, Sendable {
    let input: [UInt8]
    let code: EnvelopeError.Code
    let offset: Int?

    init(_ text: String, _ code: EnvelopeError.Code, at offset: Int?) {
        self.input = bytes(text)
        self.code = code
        self.offset = offset
    }

    init(raw: [UInt8], _ code: EnvelopeError.Code, at offset: Int?) {
        self.input = raw
        self.code = code
        self.offset = offset
    }

    var testDescription: String { "\(render(input)) -> \(code) at \(offset.map(String.init) ?? "nil")" }
}

/// Helpers on the shared deterministic generator: the same seed always gives the same documents.
extension SplitMix64 {

    /// A value in `0..<n`.
    mutating func below(_ n: Int) -> Int {
        Int(next() % UInt64(n))
    }

    /// `true` with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }

    /// A random element of a non-empty array.
    mutating func pick<T>(_ values: [T]) -> T {
        values[below(values.count)]
    }
}

/// Random RFC 8259 documents, with the decoded value of every string kept alongside its JSON text.
struct JSONGenerator {
    var rng: SplitMix64

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    /// Optional JSON whitespace, usually none.
    mutating func whitespace() -> String {
        guard rng.chance(25) else { return "" }
        return rng.pick([" ", "  ", "\n", "\t", "\r\n", " \n\t ", "\n    "])
    }

    /// A random JSON value nested at most `depth` more levels.
    mutating func value(depth: Int) -> String {
        let choice = depth > 0 ? rng.below(10) : 4 + rng.below(6)
        switch choice {
        case 0, 1:
            let n = rng.below(5)
            let members = (0..<n).map { _ in
                "\(whitespace())\(string().json)\(whitespace()):\(whitespace())\(value(depth: depth - 1))\(whitespace())"
            }
            return n == 0 ? "{\(whitespace())}" : "{" + members.joined(separator: ",") + "}"
        case 2, 3:
            let n = rng.below(5)
            let elements = (0..<n).map { _ in "\(whitespace())\(value(depth: depth - 1))\(whitespace())" }
            return n == 0 ? "[\(whitespace())]" : "[" + elements.joined(separator: ",") + "]"
        case 4, 5: return string().json
        case 6, 7: return number()
        default: return rng.pick(["true", "false", "null"])
        }
    }

    /// A valid number; exponents stay small enough for a `Double`.
    mutating func number() -> String {
        var text = rng.chance(30) ? "-" : ""
        text += rng.chance(20) ? "0" : String(1 + rng.below(9)) + digits(rng.below(6))
        if rng.chance(30) { text += "." + digits(1 + rng.below(5)) }
        if rng.chance(20) {
            text += rng.pick(["e", "E"]) + rng.pick(["", "+", "-"]) + String(rng.below(40))
        }
        return text
    }

    private mutating func digits(_ n: Int) -> String {
        String((0..<n).map { _ in Character(String(rng.below(10))) })
    }

    /// A string: its JSON text (quotes included, escapes chosen at random) and its decoded value.
    mutating func string(maxLength: Int = 12) -> (json: String, decoded: String) {
        var json = "\""
        var decoded = ""
        let plain = Array("abcdefghijklmnopqrstuvwxyz ABC-_0123456789.:/")
        let scalars: [Unicode.Scalar] = [
            "é", "ß", "€", "中", "😀", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "\u{D7FF}",
            "\u{E000}",
        ]
        for _ in 0..<rng.below(maxLength + 1) {
            switch rng.below(10) {
            case 0..<6:
                let c = rng.pick(plain)
                json.append(c)
                decoded.append(c)
            case 6:
                let (escape, value) = rng.pick([
                    ("\\\"", "\""), ("\\\\", "\\"), ("\\/", "/"), ("\\b", "\u{8}"), ("\\f", "\u{C}"),
                    ("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"),
                ])
                json += escape
                decoded += value
            case 7:
                let scalar = rng.pick(scalars)
                json.unicodeScalars.append(scalar)
                decoded.unicodeScalars.append(scalar)
            default:
                // A \u escape: any scalar, written as one escape or a surrogate pair, in either case.
                let scalar = rng.pick(scalars + ["\u{0}", "\u{1F}", "A", "\""])
                let units = Array(String(scalar).utf16)
                for unit in units {
                    let hex = String(unit, radix: 16, uppercase: rng.chance(50))
                    json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
                decoded.unicodeScalars.append(scalar)
            }
        }
        return (json + "\"", decoded)
    }

    /// A valid document nested exactly `depth` levels, mixing objects and arrays.
    mutating func nested(depth: Int) -> String {
        var open = ""
        var close = ""
        for _ in 0..<depth {
            if rng.chance(50) {
                open += "[" + whitespace()
                close = whitespace() + "]" + close
            } else {
                open += "{" + string(maxLength: 3).json + ":" + whitespace()
                close = whitespace() + "}" + close
            }
        }
        return open + value(depth: 0) + close
    }
}
