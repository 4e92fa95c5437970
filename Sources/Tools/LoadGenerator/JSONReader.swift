/// A strict, allocation-light JSON reader (RFC 8259) over bytes: validates a whole document and hands back
/// the byte ranges of chosen top-level fields, without Foundation.
///
/// Used by `verify` (each archive line must be valid JSON; its `event_id` is extracted) and by `bench`
/// (per-item statuses of a 207 batch response).
public struct JSONReader {
    /// Why a document is not valid JSON.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The byte offset of the problem.
        public var offset: Int
        /// What is wrong there.
        public var reason: String

        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The deepest nesting accepted.
    public static let maximumDepth = 512

    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    // MARK: Entry points

    /// Whether `bytes` is exactly one JSON value (surrounding whitespace allowed).
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(SyntaxError) {
        var reader = JSONReader(bytes)
        try reader.document { _, _ throws(SyntaxError) in }
    }

    /// Validates `bytes` as one JSON object and returns, for each of `keys` present at its top level, the byte range
    /// of its value (the last one wins when a key repeats).
    /// - Throws: ``SyntaxError`` when `bytes` is not valid JSON or not an object.
    public static func topLevelFields(_ bytes: UnsafeRawBufferPointer, keys: [String]) throws(SyntaxError) -> [String: Range<Int>] {
        var reader = JSONReader(bytes)
        guard reader.firstNonWhitespace() == UInt8(ascii: "{") else {
            throw SyntaxError(offset: 0, reason: "expected a JSON object")
        }
        var found: [String: Range<Int>] = [:]
        let wanted = keys.map { Array($0.utf8) }
        try reader.document { key, range throws(SyntaxError) in
            guard let key else { return }
            if let index = wanted.firstIndex(where: { Self.rawKeyEquals(bytes, key, $0) }) { found[keys[index]] = range }
        }
        return found
    }

    /// Validates `bytes` as one JSON array and returns the byte range of each element.
    public static func arrayElements(_ bytes: UnsafeRawBufferPointer) throws(SyntaxError) -> [Range<Int>] {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        guard reader.peek() == UInt8(ascii: "[") else { throw SyntaxError(offset: reader.position, reason: "expected a JSON array") }
        var elements: [Range<Int>] = []
        try reader.array(depth: 1) { range in elements.append(range) }
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw SyntaxError(offset: reader.position, reason: "unexpected data after the value") }
        return elements
    }

    /// The value of a JSON string literal at `range` (quotes included), with escapes decoded; nil when it is not a string.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\""), bytes[range.upperBound - 1] == UInt8(ascii: "\"") else {
            return nil
        }
        let inner = range.lowerBound + 1..<range.upperBound - 1
        if !bytes[inner].contains(UInt8(ascii: "\\")) {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[inner]), as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var index = inner.lowerBound
        while index < inner.upperBound {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < inner.upperBound else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(bytes, at: index) else { return nil }
                index += 4
                if (0xD800..<0xDC00).contains(scalar), index + 6 <= inner.upperBound, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u"), let low = hex4(bytes, at: index + 2), (0xDC00..<0xE000).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(character).utf8))
            default: out.append(escape)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of a JSON integer at `range`; nil when it is not an integer.
    public static func decodeInteger(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) -> Int? {
        Int(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    // MARK: Grammar

    /// One value and nothing but whitespace after it. `field` is called for each top-level object member
    /// (with its raw key range) once the member's value has been validated.
    mutating func document(field: (Range<Int>?, Range<Int>) throws(SyntaxError) -> Void) throws(SyntaxError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "{") {
            try object(depth: 1, field: field)
        } else {
            _ = try value(depth: 1)
        }
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected data after the value") }
    }

    /// Any value; returns its range.
    mutating func value(depth: Int) throws(SyntaxError) -> Range<Int> {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        skipWhitespace()
        let start = position
        guard let byte = peek() else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): try object(depth: depth) { _, _ throws(SyntaxError) in }
        case UInt8(ascii: "["): try array(depth: depth) { _ in }
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw error("unexpected character '\(Self.printable(byte))'")
        }
        return start..<position
    }

    mutating func object(depth: Int, field: (Range<Int>?, Range<Int>) throws(SyntaxError) -> Void) throws(SyntaxError) {
        position += 1  // {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let keyStart = position
            try string()
            let key = keyStart..<position
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
            position += 1
            let range = try value(depth: depth + 1)
            if depth == 1 { try field(key, range) }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return
            case nil: throw error("unexpected end of input inside an object")
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    mutating func array(depth: Int, element: (Range<Int>) -> Void) throws(SyntaxError) {
        position += 1  // [
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            let range = try value(depth: depth + 1)
            element(range)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return
            case nil: throw error("unexpected end of input inside an array")
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    mutating func string() throws(SyntaxError) {
        position += 1  // opening quote
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return
            case UInt8(ascii: "\\"):
                guard position + 1 < bytes.count else { throw error("unterminated string") }
                switch bytes[position + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 2
                case UInt8(ascii: "u"):
                    guard Self.hex4(bytes, at: position + 2) != nil else { throw error("invalid \\u escape") }
                    position += 6
                default: throw error("invalid escape '\\\(Self.printable(bytes[position + 1]))'")
                }
            case 0..<0x20:
                throw error("unescaped control character in a string")
            case 0x80...:
                try utf8Sequence()
            default:
                position += 1
            }
        }
        throw error("unterminated string")
    }

    /// Validates one multi-byte UTF-8 sequence at `position` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func utf8Sequence() throws(SyntaxError) {
        let first = bytes[position]
        let length: Int
        var lowerSecond: UInt8 = 0x80
        var upperSecond: UInt8 = 0xBF
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowerSecond = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upperSecond = 0x9F
        case 0xF0:
            length = 4
            lowerSecond = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upperSecond = 0x8F
        default: throw error("invalid UTF-8")
        }
        guard position + length <= bytes.count else { throw error("truncated UTF-8 sequence") }
        let second = bytes[position + 1]
        guard second >= lowerSecond, second <= upperSecond else { throw error("invalid UTF-8") }
        for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 {
            throw error("invalid UTF-8")
        }
        position += length
    }

    mutating func number() throws(SyntaxError) {
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), isDigit(first) else { throw error("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") {
            while let byte = peek(), isDigit(byte) { position += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let byte = peek(), isDigit(byte) else { throw error("invalid number: a digit must follow '.'") }
            while let byte = peek(), isDigit(byte) { position += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let byte = peek(), isDigit(byte) else { throw error("invalid number: a digit must follow the exponent") }
            while let byte = peek(), isDigit(byte) { position += 1 }
        }
    }

    mutating func literal(_ word: StaticString) throws(SyntaxError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of input") }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
        for index in 0..<count where bytes[position + index] != expected[index] {
            throw error("invalid literal")
        }
        position += count
    }

    // MARK: Helpers

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func firstNonWhitespace() -> UInt8? {
        var copy = JSONReader(bytes)
        copy.skipWhitespace()
        return copy.peek()
    }

    /// Whether the raw key literal at `range` (quotes included, no escapes expected) spells `expected`.
    static func rawKeyEquals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ expected: [UInt8]) -> Bool {
        guard range.count == expected.count + 2 else {
            // A key with escapes: compare decoded.
            return range.count > expected.count + 2
                && Self.decodeString(bytes, range: range).map { Array($0.utf8) == expected } == true
        }
        for (index, byte) in expected.enumerated() where bytes[range.lowerBound + 1 + index] != byte { return false }
        return true
    }

    func error(_ reason: String) -> SyntaxError { SyntaxError(offset: position, reason: reason) }

    static func hex4(_ bytes: UnsafeRawBufferPointer, at index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
