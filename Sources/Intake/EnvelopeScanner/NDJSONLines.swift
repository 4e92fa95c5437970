extension EnvelopeScanner {
    /// One non-blank line of an NDJSON body: its byte range (without the `\n` and a trailing `\r`) and its
    /// 1-based line number.
    public struct NDJSONLine: Sendable, Equatable {
        /// The line's bytes within the body, without the line terminator.
        public var range: Range<Int>
        /// The 1-based line number in the body (blank lines count).
        public var number: Int
    }

    /// Splits an NDJSON body into its non-blank lines (a line of only spaces and tabs, or empty, is blank), in order.
    ///
    /// Lines are separated by `\n`; a `\r` right before it is dropped. The lines are not validated here: each is
    /// scanned as an envelope afterwards. Linear in the body size, no allocation but the result.
    public static func ndjsonLines(_ bytes: UnsafeRawBufferPointer) -> [NDJSONLine] {
        var lines: [NDJSONLine] = []
        var start = 0
        var number = 1
        let count = bytes.count
        while start <= count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            var isBlank = true
            var index = start
            while index < lineEnd, isBlank {
                isBlank = bytes[index] == 0x20 || bytes[index] == 0x09
                index += 1
            }
            if !isBlank { lines.append(NDJSONLine(range: start..<lineEnd, number: number)) }
            start = end + 1
            number += 1
        }
        return lines
    }
}
