extension EnvelopeScanner {
    /// Validates that the buffer is one JSON object and returns the value range of each of `keys` found among its
    /// top-level members.
    ///
    /// The whole buffer is checked as strict RFC 8259 JSON, as ``validate(_:maxDepth:)-(UnsafeRawBufferPointer,_)``
    /// does. Keys are compared after decoding (`"event\u005fid"` is `event_id`); when a key repeats, the last
    /// occurrence wins. Members not asked for are validated and skipped.
    ///
    /// ```swift
    /// let line = Array(#"{"v":1,"event_id":"e-1","payload":{}}"#.utf8)
    /// let members = try EnvelopeScanner.objectMembers(line, keys: ["event_id"])
    /// let id = members["event_id"].flatMap { EnvelopeScanner.decodeString(line, range: $0) }  // "e-1"
    /// ```
    ///
    /// - Parameters:
    ///   - bytes: The document, UTF-8.
    ///   - keys: The member names wanted.
    ///   - maxDepth: The deepest nesting of objects and arrays allowed; the object itself is depth 1.
    /// - Returns: For each wanted key present, the byte range of its value (whitespace excluded) within `bytes`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order (``EnvelopeError/Code/notAnObject`` when the
    ///   top-level value is not an object).
    public static func objectMembers(
        _ bytes: UnsafeRawBufferPointer,
        keys: [String],
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> [String: Range<Int>] {
        var sink = ObjectMembersSink(bytes: bytes, keys: keys)
        try JSONScanner.scan(bytes, maxDepth: maxDepth, into: &sink)
        return sink.found
    }

    /// Validates that an array holds one JSON object and returns the value range of each of `keys` among its
    /// top-level members (see the `UnsafeRawBufferPointer` overload).
    /// - Parameters:
    ///   - bytes: The document, UTF-8.
    ///   - keys: The member names wanted.
    ///   - maxDepth: The deepest nesting allowed; the object itself is depth 1.
    /// - Returns: For each wanted key present, the byte range of its value within `bytes`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func objectMembers(
        _ bytes: [UInt8],
        keys: [String],
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> [String: Range<Int>] {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(EnvelopeError) in try objectMembers(raw, keys: keys, maxDepth: maxDepth) }
        }.get()
    }

    /// The decoded value of the JSON string at `range` of a document the scanner has validated, quotes included;
    /// nil when the value there is not a string.
    /// - Parameters:
    ///   - bytes: The validated document.
    ///   - range: A value range returned by ``objectMembers(_:keys:maxDepth:)-(UnsafeRawBufferPointer,_,_)`` or
    ///     ``arrayElements(_:maxDepth:)-(UnsafeRawBufferPointer,_)``.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) -> String? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count, range.count >= 2,
            bytes[range.lowerBound] == ASCII.quote, bytes[range.upperBound - 1] == ASCII.quote
        else { return nil }
        return StringDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]))
    }

    /// The decoded value of the JSON string at `range` of a validated document held in an array; nil when it is not
    /// a string.
    /// - Parameters:
    ///   - bytes: The validated document.
    ///   - range: A value range the scanner returned for `bytes`.
    public static func decodeString(_ bytes: [UInt8], range: Range<Int>) -> String? {
        bytes.withUnsafeBytes { decodeString($0, range: range) }
    }

    /// The value of the JSON integer at `range` of a validated document (no fraction, no exponent, fits `Int`);
    /// nil otherwise.
    /// - Parameters:
    ///   - bytes: The validated document.
    ///   - range: A value range the scanner returned for `bytes`.
    public static func decodeInteger(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) -> Int? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count, !range.isEmpty else { return nil }
        var index = range.lowerBound
        let isNegative = bytes[index] == ASCII.minus
        if isNegative { index += 1 }
        guard index < range.upperBound else { return nil }
        var value = 0
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte >= ASCII.zero, byte <= ASCII.nine else { return nil }
            let digit = Int(byte - ASCII.zero)
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, sumOverflow) = isNegative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow, !sumOverflow else { return nil }
            value = next
            index += 1
        }
        return value
    }
}
