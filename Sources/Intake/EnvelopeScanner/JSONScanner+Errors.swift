// The scanner's error constructors. They run only when a body is rejected, so they are kept out of
// line (`@inline(never)`) to keep the hot loop small, and may take their time building messages.

extension JSONScanner {
    /// A leading UTF-8 byte order mark.
    @inline(never)
    func byteOrderMark() -> EnvelopeError {
        EnvelopeError(
            code: .invalidJSON,
            message: "the body starts with a UTF-8 byte order mark (EF BB BF) at byte 0, which JSON text must not have",
            offset: 0
        )
    }

    /// Something other than `expectation` at `offset`: the end of the input, a byte that is not
    /// well-formed UTF-8 (reported as ``EnvelopeError/Code/invalidUTF8``), or a wrong character.
    @inline(never)
    func unexpected(_ expectation: String, at offset: Int) -> EnvelopeError {
        if offset >= count {
            return EnvelopeError(
                code: .invalidJSON,
                message: "expected \(expectation) at byte \(offset), but the input ended",
                offset: offset
            )
        }
        if byte(offset) >= 0x80 && utf8SequenceLength(at: offset) == 0 {
            return invalidUTF8(at: offset)
        }
        return EnvelopeError(
            code: .invalidJSON,
            message: "expected \(expectation) at byte \(offset), found \(describeByte(at: offset))",
            offset: offset
        )
    }

    /// Non-whitespace after the complete top-level value.
    @inline(never)
    func trailingData(at offset: Int) -> EnvelopeError {
        if byte(offset) >= 0x80 && utf8SequenceLength(at: offset) == 0 {
            return invalidUTF8(at: offset)
        }
        return EnvelopeError(
            code: .trailingData,
            message: "unexpected \(describeByte(at: offset)) at byte \(offset) after the end of the top-level JSON value",
            offset: offset
        )
    }

    /// An object or array opening at `offset` would exceed `maxDepth`.
    @inline(never)
    func tooDeep(maxDepth: Int, at offset: Int) -> EnvelopeError {
        EnvelopeError(
            code: .tooDeep,
            message: "objects and arrays nest deeper than the maximum depth of \(max(maxDepth, 0)) at byte \(offset)",
            offset: offset
        )
    }

    /// A string whose closing quote never comes.
    @inline(never)
    func unterminatedString(startingAt start: Int) -> EnvelopeError {
        EnvelopeError(
            code: .invalidJSON,
            message: "unterminated string starting at byte \(start): the input ended at byte \(count)",
            offset: count
        )
    }

    /// A raw control character (< 0x20) inside a string.
    @inline(never)
    func controlCharacter(at offset: Int) -> EnvelopeError {
        EnvelopeError(
            code: .invalidJSON,
            message: "unescaped control character \(Self.hex(byte(offset))) in a string at byte \(offset); it must be written as an escape",
            offset: offset
        )
    }

    /// A backslash that is the last byte of the input.
    @inline(never)
    func unterminatedEscape(at offset: Int) -> EnvelopeError {
        EnvelopeError(
            code: .invalidJSON,
            message: "unterminated escape sequence at byte \(offset): the input ended",
            offset: offset
        )
    }

    /// A backslash followed by a byte that starts no JSON escape.
    @inline(never)
    func invalidEscape(at offset: Int) -> EnvelopeError {
        EnvelopeError(
            code: .invalidJSON,
            message: "invalid escape sequence at byte \(offset): '\\' followed by \(describeByte(at: offset + 1)); "
                + "allowed are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
            offset: offset
        )
    }

    /// A `\u` escape without four hexadecimal digits.
    @inline(never)
    func invalidUnicodeEscape(at offset: Int) -> EnvelopeError {
        let message =
            offset + 6 > count
            ? "incomplete \\u escape at byte \(offset): the input ended before four hexadecimal digits"
            : "invalid \\u escape at byte \(offset): expected four hexadecimal digits"
        return EnvelopeError(code: .invalidJSON, message: message, offset: offset)
    }

    /// A `\uD800-\uDBFF` escape not followed by a low surrogate escape, or a lone `\uDC00-\uDFFF` escape.
    @inline(never)
    func unpairedSurrogate(_ unit: UInt32, at offset: Int, followedByEscape: Bool) -> EnvelopeError {
        let name = "\\u" + Self.hex4(unit)
        let message: String
        if unit >= 0xDC00 {
            message = "unpaired UTF-16 surrogate escape \(name) at byte \(offset): a low surrogate must follow a high surrogate (\\uD800-\\uDBFF)"
        } else if followedByEscape {
            message = "unpaired UTF-16 surrogate escape \(name) at byte \(offset): the next escape is not a low surrogate (\\uDC00-\\uDFFF)"
        } else {
            message =
                "unpaired UTF-16 surrogate escape \(name) at byte \(offset): a high surrogate must be followed by a low surrogate escape (\\uDC00-\\uDFFF)"
        }
        return EnvelopeError(code: .invalidJSON, message: message, offset: offset)
    }

    /// A malformed number; `offset` is where the grammar broke.
    @inline(never)
    func numberError(_ problem: String, at offset: Int) -> EnvelopeError {
        if offset < count && byte(offset) >= 0x80 && utf8SequenceLength(at: offset) == 0 {
            return invalidUTF8(at: offset)
        }
        let found = offset < count ? "found \(describeByte(at: offset))" : "the input ended"
        return EnvelopeError(code: .invalidJSON, message: "invalid number at byte \(offset): \(problem), \(found)", offset: offset)
    }

    /// A number whose integer part has a leading zero (`01`, `-00`).
    @inline(never)
    func leadingZero(at offset: Int) -> EnvelopeError {
        EnvelopeError(code: .invalidJSON, message: "invalid number at byte \(offset): leading zeros are not allowed", offset: offset)
    }

    /// A misspelt or truncated `true`, `false` or `null`.
    @inline(never)
    func invalidLiteral(_ name: StaticString, at offset: Int) -> EnvelopeError {
        EnvelopeError(code: .invalidJSON, message: "invalid literal at byte \(offset): expected '\(name)'", offset: offset)
    }

    /// A byte sequence at `offset` that is not well-formed UTF-8.
    @inline(never)
    func invalidUTF8(at offset: Int) -> EnvelopeError {
        EnvelopeError(code: .invalidUTF8, message: "invalid UTF-8 at byte \(offset): \(utf8Problem(at: offset))", offset: offset)
    }

    /// Why the sequence at `i` is not well-formed UTF-8 (the caller knows that it is not).
    func utf8Problem(at i: Int) -> String {
        let lead = byte(i)
        switch lead {
        case 0x80...0xBF: return "unexpected continuation byte \(Self.hex(lead))"
        case 0xC0, 0xC1: return "overlong encoding (lead byte \(Self.hex(lead)))"
        case 0xF5...0xF7: return "code point above U+10FFFF (lead byte \(Self.hex(lead)))"
        case 0xF8...0xFF: return "byte \(Self.hex(lead)) never appears in UTF-8"
        default: break
        }
        let length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        for k in 1..<length {
            guard i + k < count else {
                return "truncated \(length)-byte sequence: the input ends after \(k) of its bytes"
            }
            let b = byte(i + k)
            guard Self.isContinuation(b) else {
                return "truncated \(length)-byte sequence: \(Self.hex(b)) at byte \(i + k) is not a continuation byte"
            }
            if k == 1 {
                if lead == 0xE0 && b < 0xA0 { return "overlong 3-byte encoding" }
                if lead == 0xED && b >= 0xA0 { return "UTF-16 surrogate (U+D800-U+DFFF) encoded in UTF-8" }
                if lead == 0xF0 && b < 0x90 { return "overlong 4-byte encoding" }
                if lead == 0xF4 && b >= 0x90 { return "code point above U+10FFFF" }
            }
        }
        return "malformed sequence"
    }

    /// The byte (or character) at `i` for messages: `'x'`, `'é' (U+00E9)`, `byte 0x0A`.
    func describeByte(at i: Int) -> String {
        guard i < count else { return "the end of the input" }
        let b = byte(i)
        switch b {
        case 0x21...0x7E:
            return "'\(Character(Unicode.Scalar(b)))'"
        case 0x20:
            return "a space"
        case 0x80...:
            let length = utf8SequenceLength(at: i)
            guard length > 0 else { return "byte \(Self.hex(b))" }
            var scalar = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length {
                scalar = scalar << 6 | UInt32(byte(i + k) & 0x3F)
            }
            guard let character = Unicode.Scalar(scalar) else { return "byte \(Self.hex(b))" }
            return "'\(Character(character))' (U+\(Self.hex4(scalar)))"
        default:
            return "byte \(Self.hex(b))"
        }
    }

    /// `0x0A`-style hexadecimal for one byte.
    static func hex(_ b: UInt8) -> String {
        let digits = String(b, radix: 16, uppercase: true)
        return b < 0x10 ? "0x0" + digits : "0x" + digits
    }

    /// At least four uppercase hexadecimal digits, for `\uXXXX` and `U+XXXX`.
    static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
