/// Decodes the contents of JSON strings that the scanner has already validated.
///
/// Only envelope keys and envelope field values are decoded (a few short strings per body), so this
/// favours simplicity over speed. It never traps: should it meet an escape the scanner would have
/// rejected, it copies the bytes through (or writes U+FFFD for a lone surrogate).
enum StringDecoder {
    /// The decoded string of validated contents (the bytes between the quotes).
    static func decode(_ content: UnsafeRawBufferPointer) -> String {
        if !content.contains(ASCII.backslash) {
            return String(decoding: content, as: UTF8.self)
        }
        return String(decoding: decodeBytes(content), as: UTF8.self)
    }

    /// The UTF-8 bytes of validated contents with every escape resolved.
    static func decodeBytes(_ content: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count)
        let n = content.count
        var i = 0
        while i < n {
            let b = content[i]
            guard b == ASCII.backslash, i + 1 < n else {
                out.append(b)
                i += 1
                continue
            }
            switch content[i + 1] {
            case ASCII.lowerB: out.append(0x08)
            case ASCII.lowerF: out.append(0x0C)
            case ASCII.lowerN: out.append(0x0A)
            case ASCII.lowerR: out.append(0x0D)
            case ASCII.lowerT: out.append(0x09)
            case ASCII.lowerU:
                guard let unit = hex4(content, at: i + 2) else {
                    out.append(b)
                    i += 1
                    continue
                }
                var scalar = unit
                var length = 6
                if (0xD800...0xDBFF).contains(unit), i + 12 <= n, content[i + 6] == ASCII.backslash,
                    content[i + 7] == ASCII.lowerU, let low = hex4(content, at: i + 8), (0xDC00...0xDFFF).contains(low)
                {
                    scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    length = 12
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
                i += length
                continue
            default:
                out.append(content[i + 1]) // \" \\ \/ stand for themselves
            }
            i += 2
        }
        return out
    }

    /// The value of four hexadecimal digits at `i`, or `nil`.
    private static func hex4(_ content: UnsafeRawBufferPointer, at i: Int) -> UInt32? {
        guard i + 4 <= content.count else { return nil }
        var value: UInt32 = 0
        for k in i..<(i + 4) {
            let digit = JSONScanner.hexValue(content[k])
            guard digit <= 0xF else { return nil }
            value = value << 4 | digit
        }
        return value
    }

    /// Appends the UTF-8 encoding of `scalar`.
    private static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6))
            out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12))
            out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18))
            out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        }
    }
}
