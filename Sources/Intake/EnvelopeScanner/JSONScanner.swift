/// The cursor and the one-pass, iterative RFC 8259 state machine behind every ``EnvelopeScanner`` entry point.
///
/// It walks the buffer once. Containers are tracked with a ``ContainerStack`` (no recursion), and
/// the sink sees only the depth-1 members (see ``ScanSink``). Errors are built by the cold helpers
/// in `JSONScanner+Errors.swift`.
struct JSONScanner {
    /// The first byte of the input.
    let base: UnsafeRawPointer
    /// The number of input bytes.
    let count: Int
    /// The current offset; everything before it has been validated.
    var pos: Int = 0

    /// Scans `bytes` as exactly one JSON text, reporting depth-1 structure to `sink`.
    /// - Throws: The first problem in byte order.
    static func scan<Sink: ScanSink>(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int,
        into sink: inout Sink
    ) throws(EnvelopeError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw EnvelopeError(code: .emptyBody, message: "the body is empty")
        }
        var scanner = JSONScanner(base: base, count: bytes.count)
        try scanner.run(maxDepth: maxDepth, sink: &sink)
    }

    /// The byte at offset `i`; callers guarantee `i < count`.
    @inline(__always)
    func byte(_ i: Int) -> UInt8 {
        base.load(fromByteOffset: i, as: UInt8.self)
    }

    // MARK: - The state machine

    /// Validates the whole buffer as one JSON text.
    ///
    /// The outer loop starts one value at `pos`; scalars and empty containers fall through to the
    /// inner loop, which handles what may follow a complete value (`,`, a closing bracket, or the end).
    mutating func run<Sink: ScanSink>(maxDepth: Int, sink: inout Sink) throws(EnvelopeError) {
        if count >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF {
            throw byteOrderMark()
        }
        skipWhitespace()
        guard pos < count else {
            throw EnvelopeError(code: .emptyBody, message: "the body contains only whitespace", offset: pos)
        }
        if Sink.tracksMembers {
            try sink.topLevelStart(kind: JSONKind(firstByte: byte(pos)), at: pos)
        }

        var depth = 0
        var inObject = false
        var stack = ContainerStack()
        var memberStart = 0

        nextValue: while true {
            guard pos < count else { throw unexpected("a value", at: pos) }
            let c = byte(pos)
            if Sink.tracksMembers && depth == 1 {
                memberStart = pos
                try sink.memberValueStart(byte: c, at: pos)
            }
            switch c {
            case ASCII.quote:
                try scanString()
            case ASCII.openBrace, ASCII.openBracket:
                let isObject = c == ASCII.openBrace
                guard depth < maxDepth else { throw tooDeep(maxDepth: maxDepth, at: pos) }
                depth &+= 1
                stack.set(depth: depth, isObject: isObject)
                inObject = isObject
                pos &+= 1
                skipWhitespace()
                if pos < count && byte(pos) == (isObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    pos &+= 1
                    depth &-= 1
                    inObject = depth > 0 && stack.isObject(depth: depth)
                } else {
                    if isObject { try scanMemberKey(depth: depth, afterComma: false, sink: &sink) }
                    continue nextValue
                }
            case ASCII.minus, ASCII.zero...ASCII.nine:
                try scanNumber()
            case ASCII.lowerT:
                try scanLiteral(ASCII.trueWord, length: 4, name: "true")
            case ASCII.lowerF:
                try scanLiteral(ASCII.falseWord, length: 5, name: "false")
            case ASCII.lowerN:
                try scanLiteral(ASCII.nullWord, length: 4, name: "null")
            default:
                throw unexpected("a value", at: pos)
            }

            // A value ends at `pos`: climb out of every container that closes here.
            while true {
                if depth == 0 {
                    if Sink.tracksMembers { sink.topLevelEnd(at: pos) }
                    skipWhitespace()
                    guard pos == count else { throw trailingData(at: pos) }
                    return
                }
                if Sink.tracksMembers && depth == 1 {
                    try sink.memberValueEnd(start: memberStart, end: pos)
                }
                skipWhitespace()
                guard pos < count else {
                    throw unexpected(inObject ? "',' or '}' after an object member" : "',' or ']' after an array element", at: pos)
                }
                let c = byte(pos)
                if c == ASCII.comma {
                    pos &+= 1
                    skipWhitespace()
                    if inObject { try scanMemberKey(depth: depth, afterComma: true, sink: &sink) }
                    continue nextValue
                }
                if c == (inObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    pos &+= 1
                    depth &-= 1
                    inObject = depth > 0 && stack.isObject(depth: depth)
                    continue
                }
                throw unexpected(inObject ? "',' or '}' after an object member" : "',' or ']' after an array element", at: pos)
            }
        }
    }

    /// Scans `"key"` `:` and the whitespace around the colon, leaving `pos` at the member's value.
    @inline(__always)
    mutating func scanMemberKey<Sink: ScanSink>(depth: Int, afterComma: Bool, sink: inout Sink) throws(EnvelopeError) {
        guard pos < count && byte(pos) == ASCII.quote else {
            throw unexpected(afterComma ? "a string key after ','" : "a string key or '}'", at: pos)
        }
        let keyStart = pos
        try scanString()
        if Sink.tracksMembers && depth == 1 {
            try sink.memberKey(contentStart: keyStart &+ 1, contentEnd: pos &- 1, at: keyStart)
        }
        skipWhitespace()
        guard pos < count && byte(pos) == ASCII.colon else {
            throw unexpected("':' after an object key", at: pos)
        }
        pos &+= 1
        skipWhitespace()
    }

    // MARK: - Tokens

    /// Skips JSON whitespace (space, tab, LF, CR) and nothing else.
    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            let c = byte(pos)
            // One compare rejects every byte above space; the mask picks out the four whitespace bytes.
            guard c <= ASCII.space, (ASCII.whitespaceMask >> UInt64(c)) & 1 != 0 else { return }
            pos &+= 1
        }
    }

    /// Scans a string starting at its opening quote; `pos` ends after the closing quote.
    @inline(__always)
    mutating func scanString() throws(EnvelopeError) {
        let start = pos
        pos &+= 1
        while true {
            // Fast path: eight plain ASCII bytes at a time.
            while pos &+ 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                let stops = Self.stringStopMask(word)
                if stops != 0 {
                    pos &+= stops.trailingZeroBitCount &>> 3
                    break
                }
                pos &+= 8
            }
            guard pos < count else { throw unterminatedString(startingAt: start) }
            let c = byte(pos)
            if c == ASCII.quote {
                pos &+= 1
                return
            }
            if c == ASCII.backslash {
                try scanEscape()
            } else if c >= 0x80 {
                let length = utf8SequenceLength(at: pos)
                guard length != 0 else { throw invalidUTF8(at: pos) }
                pos &+= length
            } else if c < ASCII.space {
                throw controlCharacter(at: pos)
            } else {
                pos &+= 1 // plain ASCII in the last few bytes, where the word loop cannot load
            }
        }
    }

    /// A word whose high bit is set in (at least) the byte lane of the first `"`, `\`, control
    /// character (< 0x20) or non-ASCII byte. Lanes above the first flagged one may be false positives
    /// (borrows propagate upwards), so only the lowest set bit is meaningful.
    @inline(__always)
    static func stringStopMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* UInt64(ASCII.quote))
        let backslash = word ^ (ones &* UInt64(ASCII.backslash))
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        let isControl = (word &- ones &* UInt64(ASCII.space)) & ~word
        return (isQuote | isBackslash | isControl | word) & highs
    }

    /// Scans one escape sequence starting at its backslash.
    @inline(__always)
    mutating func scanEscape() throws(EnvelopeError) {
        guard pos &+ 1 < count else { throw unterminatedEscape(at: pos) }
        switch byte(pos &+ 1) {
        case ASCII.quote, ASCII.backslash, ASCII.slash, ASCII.lowerB, ASCII.lowerF, ASCII.lowerN, ASCII.lowerR, ASCII.lowerT:
            pos &+= 2
        case ASCII.lowerU:
            try scanUnicodeEscape()
        default:
            throw invalidEscape(at: pos)
        }
    }

    /// Scans `\uXXXX`, or a `\uD8xx\uDCxx` surrogate pair, starting at the backslash.
    mutating func scanUnicodeEscape() throws(EnvelopeError) {
        let unit = try hex4(escapeAt: pos)
        switch unit {
        case 0xD800...0xDBFF:
            let next = pos &+ 6
            guard next &+ 1 < count, byte(next) == ASCII.backslash, byte(next &+ 1) == ASCII.lowerU else {
                throw unpairedSurrogate(unit, at: pos, followedByEscape: false)
            }
            let low = try hex4(escapeAt: next)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw unpairedSurrogate(unit, at: pos, followedByEscape: true)
            }
            pos &+= 12
        case 0xDC00...0xDFFF:
            throw unpairedSurrogate(unit, at: pos, followedByEscape: false)
        default:
            pos &+= 6
        }
    }

    /// The code unit of the `\uXXXX` escape whose backslash is at `escape`.
    @inline(__always)
    func hex4(escapeAt escape: Int) throws(EnvelopeError) -> UInt32 {
        let digits = escape &+ 2
        guard digits &+ 4 <= count else { throw invalidUnicodeEscape(at: escape) }
        let value =
            Self.hexValue(byte(digits)) << 12 | Self.hexValue(byte(digits &+ 1)) << 8
            | Self.hexValue(byte(digits &+ 2)) << 4 | Self.hexValue(byte(digits &+ 3))
        // An invalid digit maps to 0x10000, which survives the shifts and ORs as a bit above 0xFFFF.
        guard value <= 0xFFFF else { throw invalidUnicodeEscape(at: escape) }
        return value
    }

    /// The value of one hexadecimal digit, or 0x10000 for any other byte.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt32 {
        switch b {
        case ASCII.zero...ASCII.nine: UInt32(b &- ASCII.zero)
        case 0x41...0x46: UInt32(b &- 0x37) // A-F
        case 0x61...0x66: UInt32(b &- 0x57) // a-f
        default: 0x10000
        }
    }

    /// Scans `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` starting at its first byte.
    @inline(__always)
    mutating func scanNumber() throws(EnvelopeError) {
        let start = pos
        if byte(pos) == ASCII.minus {
            pos &+= 1
        }
        guard pos < count else { throw numberError("expected a digit after '-'", at: pos) }
        let first = byte(pos)
        if first == ASCII.zero {
            pos &+= 1
            if pos < count && Self.isDigit(byte(pos)) {
                throw leadingZero(at: start)
            }
        } else if Self.isDigit(first) {
            pos &+= 1
            skipDigits()
        } else {
            throw numberError("expected a digit after '-'", at: pos)
        }
        if pos < count && byte(pos) == ASCII.dot {
            pos &+= 1
            guard pos < count && Self.isDigit(byte(pos)) else {
                throw numberError("expected a digit after the decimal point", at: pos)
            }
            skipDigits()
        }
        if pos < count && byte(pos) | 0x20 == ASCII.lowerE {
            pos &+= 1
            if pos < count && (byte(pos) == ASCII.plus || byte(pos) == ASCII.minus) {
                pos &+= 1
            }
            guard pos < count && Self.isDigit(byte(pos)) else {
                throw numberError("expected a digit in the exponent", at: pos)
            }
            skipDigits()
        }
    }

    /// Skips a run of ASCII digits.
    @inline(__always)
    mutating func skipDigits() {
        while pos < count && Self.isDigit(byte(pos)) {
            pos &+= 1
        }
    }

    /// Whether `b` is an ASCII digit.
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool {
        b &- ASCII.zero < 10
    }

    /// Scans `true`, `false` or `null`; `word` is the literal's last four bytes as a little-endian word.
    @inline(__always)
    mutating func scanLiteral(_ word: UInt32, length: Int, name: StaticString) throws(EnvelopeError) {
        guard pos &+ length <= count,
            UInt32(littleEndian: base.loadUnaligned(fromByteOffset: pos &+ length &- 4, as: UInt32.self)) == word
        else {
            throw invalidLiteral(name, at: pos)
        }
        pos &+= length
    }

    // MARK: - UTF-8

    /// The length (2...4) of the well-formed UTF-8 sequence starting at `i`, or 0 when it is not well formed
    /// (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF, no truncation).
    @inline(__always)
    func utf8SequenceLength(at i: Int) -> Int {
        let lead = byte(i)
        let remaining = count &- i
        if lead < 0xC2 {
            return 0 // ASCII is handled by callers; 0x80-0xBF are continuations, 0xC0-0xC1 overlong
        }
        if lead < 0xE0 {
            return remaining >= 2 && Self.isContinuation(byte(i &+ 1)) ? 2 : 0
        }
        if lead < 0xF0 {
            guard remaining >= 3 else { return 0 }
            let second = byte(i &+ 1)
            let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80 // E0 80-9F would be overlong
            let high: UInt8 = lead == 0xED ? 0x9F : 0xBF // ED A0-BF would encode a surrogate
            return second >= low && second <= high && Self.isContinuation(byte(i &+ 2)) ? 3 : 0
        }
        if lead < 0xF5 {
            guard remaining >= 4 else { return 0 }
            let second = byte(i &+ 1)
            let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80 // F0 80-8F would be overlong
            let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF // F4 90-BF would be above U+10FFFF
            return second >= low && second <= high && Self.isContinuation(byte(i &+ 2))
                && Self.isContinuation(byte(i &+ 3)) ? 4 : 0
        }
        return 0
    }

    /// Whether `b` is a UTF-8 continuation byte (10xxxxxx).
    @inline(__always)
    static func isContinuation(_ b: UInt8) -> Bool {
        b & 0xC0 == 0x80
    }
}
