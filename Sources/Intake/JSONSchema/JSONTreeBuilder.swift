import EnvelopeScanner
import Foundation

extension JSONValue {
    /// The deepest nesting of arrays and objects the parsers accept (the scanner's default, 128).
    public static let maxParseDepth = EnvelopeScanner.defaultMaxDepth

    /// Builds the tree of bytes the gateway's scanner has already validated, without checking the grammar again.
    ///
    /// Bytes that are not valid JSON after all never crash it: they throw (or, for oddities the scanner would have
    /// rejected, such as invalid UTF-8 inside strings, are repaired with U+FFFD).
    /// - Throws: ``JSONSchemaError`` with code `.invalidJSON` or `.tooDeep`.
    public init(parsingValidated bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValue.maxParseDepth) throws(JSONSchemaError) {
        var builder = JSONTreeBuilder(bytes: bytes, maxDepth: maxDepth)
        self = try builder.buildDocument()
    }

    /// Builds the tree of bytes already validated by the scanner (see the `UnsafeRawBufferPointer` overload).
    public init(parsingValidated bytes: [UInt8], maxDepth: Int = JSONValue.maxParseDepth) throws(JSONSchemaError) {
        let result: Result<JSONValue, JSONSchemaError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONSchemaError) {
                return .success(try JSONValue(parsingValidated: buffer, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    /// Validates the bytes with `EnvelopeScanner.validate` (RFC 8259, UTF-8, depth) and builds the tree.
    /// - Throws: ``JSONSchemaError`` with code `.invalidJSON` (the scanner's message) or `.tooDeep`.
    public init(parsing bytes: [UInt8], maxDepth: Int = JSONValue.maxParseDepth) throws(JSONSchemaError) {
        do {
            try EnvelopeScanner.validate(bytes, maxDepth: maxDepth)
        } catch {
            throw JSONSchemaError(scannerError: error)
        }
        try self.init(parsingValidated: bytes, maxDepth: maxDepth)
    }

    /// Validates the bytes with `EnvelopeScanner.validate` and builds the tree.
    public init(parsing bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValue.maxParseDepth) throws(JSONSchemaError) {
        do {
            try EnvelopeScanner.validate(bytes, maxDepth: maxDepth)
        } catch {
            throw JSONSchemaError(scannerError: error)
        }
        try self.init(parsingValidated: bytes, maxDepth: maxDepth)
    }

    /// Validates and builds the UTF-8 of `text`.
    public init(parsing text: String, maxDepth: Int = JSONValue.maxParseDepth) throws(JSONSchemaError) {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }
}

extension JSONSchemaError {
    init(scannerError: EnvelopeError) {
        let code: Code = scannerError.code == .tooDeep ? .tooDeep : .invalidJSON
        self.init(code: code, message: scannerError.message, offset: scannerError.offset)
    }
}

/// Recursive-descent tree builder over bytes that are expected to be valid JSON: every read is bounds-checked and
/// every surprise throws, but the grammar is not re-validated in full (the scanner did that).
struct JSONTreeBuilder {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var offset = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func buildDocument() throws(JSONSchemaError) -> JSONValue {
        skipWhitespace()
        let value = try buildValue()
        skipWhitespace()
        guard offset == bytes.count else { throw failure("unexpected data after the JSON value") }
        return value
    }

    private func failure(_ message: String, code: JSONSchemaError.Code = .invalidJSON) -> JSONSchemaError {
        JSONSchemaError(code: code, message: "\(message) at byte \(offset)", offset: offset)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while offset < bytes.count {
            let byte = bytes[offset]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            offset &+= 1
        }
    }

    private mutating func buildValue() throws(JSONSchemaError) -> JSONValue {
        guard offset < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try buildObject()
        case UInt8(ascii: "["): return try buildArray()
        case UInt8(ascii: "\""): return .string(try buildString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try buildNumber())
        default: throw failure("unexpected byte")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONSchemaError) -> JSONValue {
        let length = word.utf8CodeUnitCount
        guard bytes.count &- offset >= length else { throw failure("truncated literal") }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: length)
        for position in 0..<length where bytes[offset &+ position] != expected[position] {
            throw failure("invalid literal")
        }
        offset &+= length
        return value
    }

    private mutating func enter() throws(JSONSchemaError) {
        depth &+= 1
        if depth > maxDepth { throw failure("nesting deeper than \(maxDepth) levels", code: .tooDeep) }
    }

    private mutating func buildObject() throws(JSONSchemaError) -> JSONValue {
        try enter()
        offset &+= 1
        var keys: [String] = []
        var values: [JSONValue] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset &+= 1
            depth &-= 1
            return .object(JSONObject(keys: keys, values: values))
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected an object key") }
            let key = try buildString()
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            offset &+= 1
            skipWhitespace()
            let value = try buildValue()
            keys.append(key)
            values.append(value)
            skipWhitespace()
            guard offset < bytes.count else { throw failure("unterminated object") }
            let byte = bytes[offset]
            offset &+= 1
            if byte == UInt8(ascii: "}") { break }
            guard byte == UInt8(ascii: ",") else { throw failure("expected ',' or '}'") }
        }
        depth &-= 1
        return .object(JSONObject(keys: keys, values: values))
    }

    private mutating func buildArray() throws(JSONSchemaError) -> JSONValue {
        try enter()
        offset &+= 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset &+= 1
            depth &-= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try buildValue())
            skipWhitespace()
            guard offset < bytes.count else { throw failure("unterminated array") }
            let byte = bytes[offset]
            offset &+= 1
            if byte == UInt8(ascii: "]") { break }
            guard byte == UInt8(ascii: ",") else { throw failure("expected ',' or ']'") }
        }
        depth &-= 1
        return .array(elements)
    }

    private mutating func buildString() throws(JSONSchemaError) -> String {
        offset &+= 1
        let start = offset
        var hasEscapes = false
        while true {
            guard offset < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                offset &+= 1
            }
            offset &+= 1
        }
        let end = offset
        offset &+= 1
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        if !hasEscapes { return String(decoding: raw, as: UTF8.self) }
        return try decodeEscapes(raw)
    }

    private func decodeEscapes(_ raw: UnsafeRawBufferPointer) throws(JSONSchemaError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var position = 0
        while position < raw.count {
            let byte = raw[position]
            position &+= 1
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                continue
            }
            guard position < raw.count else { throw failure("truncated escape") }
            let escape = raw[position]
            position &+= 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(raw, &position)
                if (0xD800...0xDBFF).contains(scalar), raw.count &- position >= 6, raw[position] == UInt8(ascii: "\\"),
                    raw[position &+ 1] == UInt8(ascii: "u")
                {
                    var next = position &+ 2
                    let low = try hex4(raw, &next)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
                        position = next
                    }
                }
                let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                output.append(contentsOf: String(Character(unicode)).utf8)
            default: throw failure("invalid escape")
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private func hex4(_ raw: UnsafeRawBufferPointer, _ position: inout Int) throws(JSONSchemaError) -> UInt32 {
        guard raw.count &- position >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = raw[position]
            position &+= 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private mutating func buildNumber() throws(JSONSchemaError) -> JSONNumber {
        let start = offset
        var negative = false
        if bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset &+= 1
        }
        // Fast path: a plain integer of at most 18 digits.
        var integer: Int64 = 0
        var digitCount = 0
        while offset < bytes.count, bytes[offset] &- UInt8(ascii: "0") < 10 {
            if digitCount < 18 { integer = integer &* 10 &+ Int64(bytes[offset] &- UInt8(ascii: "0")) }
            digitCount &+= 1
            offset &+= 1
        }
        guard digitCount > 0 else { throw failure("invalid number") }
        let isPlain = offset >= bytes.count || (bytes[offset] != UInt8(ascii: ".") && bytes[offset] | 0x20 != UInt8(ascii: "e"))
        if isPlain && digitCount <= 18 {
            return JSONNumber(negative ? 0 &- integer : integer)
        }
        while offset < bytes.count {
            let byte = bytes[offset]
            guard
                byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: ".") || byte | 0x20 == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            else { break }
            offset &+= 1
        }
        let literal = UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
        if let number = Self.shortNumber(literal: literal) { return number }
        return try Self.number(literal: literal, offset: start)
    }

    /// Exact powers of ten as doubles (10^0 ... 10^22 are all exactly representable).
    private static let exactPowersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The common case without allocation: at most 19 significant digits and a small exponent. The double is
    /// computed exactly (Clinger's fast path) when the digits fit in 53 bits and the scale in ±22, else by `strtod`.
    /// `nil` for anything else (the general path handles it, and reports malformed literals).
    static func shortNumber(literal: UnsafeRawBufferPointer) -> JSONNumber? {
        var position = 0
        var negative = false
        if position < literal.count, literal[position] == UInt8(ascii: "-") {
            negative = true
            position &+= 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var fractionDigits = 0
        var sawDigit = false
        var inFraction = false
        while position < literal.count {
            let byte = literal[position]
            if byte &- UInt8(ascii: "0") < 10 {
                sawDigit = true
                if mantissa != 0 || byte != UInt8(ascii: "0") {
                    significantDigits &+= 1
                    if significantDigits > 19 { return nil }
                    mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                }
                if inFraction { fractionDigits &+= 1 }
            } else if byte == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else {
                break
            }
            position &+= 1
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if position < literal.count, literal[position] | 0x20 == UInt8(ascii: "e") {
            position &+= 1
            var exponentNegative = false
            if position < literal.count, literal[position] == UInt8(ascii: "+") || literal[position] == UInt8(ascii: "-") {
                exponentNegative = literal[position] == UInt8(ascii: "-")
                position &+= 1
            }
            var exponentDigits = 0
            while position < literal.count, literal[position] &- UInt8(ascii: "0") < 10 {
                exponent = exponent &* 10 &+ Int(literal[position] &- UInt8(ascii: "0"))
                exponentDigits &+= 1
                position &+= 1
            }
            guard exponentDigits > 0, exponentDigits <= 4 else { return nil }
            if exponentNegative { exponent = 0 &- exponent }
        }
        guard position == literal.count else { return nil }
        var scale = exponent &- fractionDigits
        if mantissa == 0 { return JSONNumber(double: negative ? -0.0 : 0, int64: 0, isInteger: true, decimal: 0) }
        while mantissa % 10 == 0 {
            mantissa /= 10
            scale &+= 1
        }
        let double: Double
        if mantissa < 1 << 53, scale >= -22, scale <= 22 {
            let magnitude = Double(mantissa)
            let scaled =
                scale >= 0 ? magnitude * exactPowersOfTen[scale] : magnitude / exactPowersOfTen[0 &- scale]
            double = negative ? -scaled : scaled
        } else {
            double = Double(String(decoding: literal, as: UTF8.self)) ?? (negative ? -Double.infinity : Double.infinity)
        }
        let isInteger = scale >= 0
        var int64: Int64?
        if isInteger, scale <= 19 {
            var value = mantissa
            var overflow = false
            for _ in 0..<scale {
                let (shifted, didOverflow) = value.multipliedReportingOverflow(by: 10)
                value = shifted
                overflow = overflow || didOverflow
            }
            if !overflow, let magnitude = Int64(exactly: value) {
                int64 = negative ? 0 &- magnitude : magnitude
            } else if !overflow, negative, value == UInt64(Int64.max) &+ 1 {
                int64 = Int64.min
            }
        }
        var decimal: Decimal?
        if int64 == nil, (-120)...120 ~= scale {
            decimal = Decimal(sign: negative ? .minus : .plus, exponent: scale, significand: Decimal(mantissa))
        }
        return JSONNumber(double: double, int64: int64, isInteger: isInteger, decimal: decimal)
    }

    /// Parses a number literal exactly: sign, significant digits, decimal exponent.
    static func number(literal: UnsafeRawBufferPointer, offset: Int) throws(JSONSchemaError) -> JSONNumber {
        let bad = JSONSchemaError(code: .invalidJSON, message: "invalid number at byte \(offset)", offset: offset)
        var position = 0
        var negative = false
        if position < literal.count, literal[position] == UInt8(ascii: "-") {
            negative = true
            position &+= 1
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var sawDigit = false
        var inFraction = false
        while position < literal.count {
            let byte = literal[position]
            if byte &- UInt8(ascii: "0") < 10 {
                sawDigit = true
                if !(digits.isEmpty && byte == UInt8(ascii: "0")) { digits.append(byte &- UInt8(ascii: "0")) }
                if inFraction { fractionDigits &+= 1 }
            } else if byte == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else {
                break
            }
            position &+= 1
        }
        guard sawDigit else { throw bad }
        // Leading zeros of a fraction were skipped, so count them via fractionDigits only.
        var exponent = 0
        if position < literal.count, literal[position] | 0x20 == UInt8(ascii: "e") {
            position &+= 1
            var exponentNegative = false
            if position < literal.count, literal[position] == UInt8(ascii: "+") || literal[position] == UInt8(ascii: "-") {
                exponentNegative = literal[position] == UInt8(ascii: "-")
                position &+= 1
            }
            var sawExponentDigit = false
            while position < literal.count, literal[position] &- UInt8(ascii: "0") < 10 {
                sawExponentDigit = true
                if exponent < 1_000_000_000 { exponent = exponent &* 10 &+ Int(literal[position] &- UInt8(ascii: "0")) }
                position &+= 1
            }
            guard sawExponentDigit else { throw bad }
            if exponentNegative { exponent = 0 &- exponent }
        }
        guard position == literal.count else { throw bad }
        let text = String(decoding: literal, as: UTF8.self)
        let double = Double(text) ?? (negative ? -Double.infinity : Double.infinity)
        // value = digits × 10^(exponent − fractionDigits); drop trailing zeros of the digits.
        var scale = exponent &- fractionDigits
        while let last = digits.last, last == 0 {
            digits.removeLast()
            scale &+= 1
        }
        if digits.isEmpty { return JSONNumber(double: double, int64: 0, isInteger: true, decimal: 0) }
        let isInteger = scale >= 0
        var int64: Int64?
        if isInteger, digits.count &+ scale <= 19 {
            var value: Int64 = 0
            var overflow = false
            for digit in digits {
                let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                let (added, o2) = shifted.addingReportingOverflow(Int64(digit))
                value = added
                overflow = overflow || o1 || o2
            }
            for _ in 0..<scale {
                let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                value = shifted
                overflow = overflow || o1
            }
            if !overflow { int64 = negative ? 0 &- value : value }
        }
        var decimal: Decimal?
        if int64 == nil, digits.count <= 38, (-120)...120 ~= scale {
            var significand = Decimal(0)
            var chunk: UInt64 = 0
            var chunkDigits = 0
            for digit in digits {
                chunk = chunk &* 10 &+ UInt64(digit)
                chunkDigits &+= 1
                if chunkDigits == 18 {
                    significand = significand * Decimal(1_000_000_000_000_000_000 as UInt64) + Decimal(chunk)
                    chunk = 0
                    chunkDigits = 0
                }
            }
            if chunkDigits > 0 {
                var power: UInt64 = 1
                for _ in 0..<chunkDigits { power = power &* 10 }
                significand = significand * Decimal(power) + Decimal(chunk)
            }
            decimal = Decimal(sign: negative ? .minus : .plus, exponent: scale, significand: significand)
        }
        return JSONNumber(double: double, int64: int64, isInteger: isInteger, decimal: decimal)
    }
}
