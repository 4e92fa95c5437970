// EnvelopeScanner: one-pass, byte-level, strict RFC 8259 validation plus envelope field extraction.
//
// Design
// ------
// * One pass, no tree. `JSONScanner` walks the buffer once with a cursor. It never builds values for
//   the payload; the payload is reported as the byte range the caller forwards unchanged. The only
//   allocations are the decoded envelope strings (a handful per request), the range list that
//   `arrayElements` returns and, for nesting deeper than 64 levels, a bit stack sized by the depth.
// * Iterative, bounded. Nesting is tracked with a bit stack (1 = object, 0 = array) instead of
//   recursion, and the depth is checked before every push, so a body of 1,000,000 `[` is rejected at
//   depth `maxDepth + 1` in a few microseconds and never touches the call stack.
// * Strict. Whitespace is exactly space/tab/CR/LF; numbers, literals and escapes follow the RFC 8259
//   grammar; `\uD800`-style escapes must form a proper surrogate pair; raw control characters are
//   rejected in strings; every non-ASCII byte, inside or outside strings, is checked as well-formed
//   UTF-8 (no overlongs, no encoded surrogates, nothing above U+10FFFF, no truncated sequences), and
//   an ill-formed byte where a token was expected is reported as `.invalidUTF8`, not as a syntax
//   error; a leading UTF-8 byte order mark is rejected.
// * Fast paths. Strings are skipped eight bytes at a time (a SWAR test finds the first quote,
//   backslash, control or non-ASCII byte in a 64-bit word); literals compare as one 32-bit load;
//   whitespace and digits are tight byte loops. All loads are unaligned raw loads from the buffer.
// * Hooks, not modes. The scanner is generic over a `ScanSink` that sees only the top-level start
//   and the members of the depth-1 container (keys, value starts, value ends). `validate` uses an
//   empty sink (specialised away), `scanEnvelope` and `arrayElements` use small sinks that decode
//   keys and field values. Everything below depth 1 runs the same tight loop in all three modes.
// * Error precedence. The first problem in byte order wins: syntax, UTF-8, depth and envelope
//   problems (wrong top-level type, unknown/duplicate field, wrong field type, judged from a value's
//   first byte) are reported where they occur. The only exception is a missing `payload`, which is
//   reported after the whole document is known to be valid JSON with nothing trailing.
// * Errors are cold. Messages are built only when an error is thrown, in `@inline(never)` helpers,
//   so the hot loop stays small.

/// The byte-level JSON validator and envelope field extractor for Sluice's ingestion path.
///
/// Every entry point checks the **whole** buffer as strict RFC 8259 JSON in one pass; none of them
/// builds an object tree. Input must be UTF-8 without a byte order mark.
///
/// ```swift
/// let body: [UInt8] = Array(#"{"team":"rpp","app":"promo-clicks","payload":{"event":"signup"}}"#.utf8)
/// let envelope = try EnvelopeScanner.scanEnvelope(body)
/// let payloadBytes = body[envelope.payload]   // {"event":"signup"}, forwarded as received
/// ```
public enum EnvelopeScanner {
    /// The default maximum nesting depth of objects and arrays (the top-level container is depth 1).
    public static let defaultMaxDepth = 128

    /// Validates one event envelope and extracts its fields.
    ///
    /// The whole buffer must be exactly one JSON text whose top-level value is an object with only
    /// the members `team`, `app`, `partition_key`, `event_id` (each a string or `null`),
    /// `large_message` (a boolean or `null`) and `payload` (any JSON value, required). Inside the
    /// payload any keys, including duplicates, are allowed. Keys are compared after decoding, so
    /// `"te\u0061m"` is `team`.
    ///
    /// - Parameters:
    ///   - bytes: The request body, UTF-8.
    ///   - maxDepth: The deepest nesting of objects and arrays allowed; the envelope object is depth 1.
    /// - Returns: The decoded envelope fields and the byte range of the payload value within `bytes`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order; ``EnvelopeError/Code/missingPayload``
    ///   only once the whole body is known to be valid JSON.
    public static func scanEnvelope(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> ScannedEnvelope {
        var sink = EnvelopeSink(bytes: bytes)
        try JSONScanner.scan(bytes, maxDepth: maxDepth, into: &sink)
        return try sink.finish()
    }

    /// Validates that the buffer is exactly one JSON text (any top-level value, RFC 8259).
    ///
    /// - Parameters:
    ///   - bytes: The bytes to check, UTF-8.
    ///   - maxDepth: The deepest nesting of objects and arrays allowed; a top-level container is depth 1.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func validate(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) {
        var sink = ValidationSink()
        try JSONScanner.scan(bytes, maxDepth: maxDepth, into: &sink)
    }

    /// Validates that the buffer is one JSON array and returns the byte range of each element.
    ///
    /// Elements are fully validated as JSON but not as envelopes.
    ///
    /// - Parameters:
    ///   - bytes: The batch body, UTF-8.
    ///   - maxDepth: The deepest nesting of objects and arrays allowed; the array itself is depth 1.
    /// - Returns: The byte range of every element (whitespace excluded), in order; empty for `[]`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order
    ///   (``EnvelopeError/Code/notAnArray`` when the top-level value is not an array).
    public static func arrayElements(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> [Range<Int>] {
        var sink = ArrayElementsSink()
        try JSONScanner.scan(bytes, maxDepth: maxDepth, into: &sink)
        return sink.elements
    }
}

// MARK: - Convenience overloads

extension EnvelopeScanner {
    /// Validates one event envelope held in an array and extracts its fields.
    ///
    /// Same rules as the `UnsafeRawBufferPointer` overload; the payload range indexes `bytes`.
    /// - Parameters:
    ///   - bytes: The request body, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; the envelope object is depth 1.
    /// - Returns: The decoded envelope fields and the payload's byte range within `bytes`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func scanEnvelope(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(EnvelopeError) -> ScannedEnvelope {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(EnvelopeError) in try scanEnvelope(raw, maxDepth: maxDepth) }
        }.get()
    }

    /// Validates that an array holds exactly one JSON text.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to check, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; a top-level container is depth 1.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func validate(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(EnvelopeError) {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(EnvelopeError) in try validate(raw, maxDepth: maxDepth) }
        }.get()
    }

    /// Validates that an array holds one JSON array and returns the byte range of each element.
    ///
    /// - Parameters:
    ///   - bytes: The batch body, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; the array itself is depth 1.
    /// - Returns: The byte range of every element within `bytes`, in order.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func arrayElements(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(EnvelopeError) -> [Range<Int>] {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(EnvelopeError) in try arrayElements(raw, maxDepth: maxDepth) }
        }.get()
    }

    /// Validates one event envelope held in any byte collection and extracts its fields.
    ///
    /// Contiguous collections (`ArraySlice`, `Data`, native `String.UTF8View`, NIO views...) are scanned
    /// in place; others are copied once. Offsets are relative to the collection's first byte
    /// (offset 0 is `bytes.first`), not indices of the collection.
    /// - Parameters:
    ///   - bytes: The request body, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; the envelope object is depth 1.
    /// - Returns: The decoded envelope fields and the payload's byte offsets from the start of `bytes`.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func scanEnvelope(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> ScannedEnvelope {
        try withContiguousBytes(bytes) { raw throws(EnvelopeError) in try scanEnvelope(raw, maxDepth: maxDepth) }
    }

    /// Validates that any byte collection holds exactly one JSON text.
    ///
    /// Contiguous collections are scanned in place; others are copied once.
    /// - Parameters:
    ///   - bytes: The bytes to check, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; a top-level container is depth 1.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func validate(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(EnvelopeError) {
        try withContiguousBytes(bytes) { raw throws(EnvelopeError) in try validate(raw, maxDepth: maxDepth) }
    }

    /// Validates that any byte collection holds one JSON array and returns the byte range of each element.
    ///
    /// Contiguous collections are scanned in place; others are copied once. Offsets are relative to the
    /// collection's first byte, not indices of the collection.
    /// - Parameters:
    ///   - bytes: The batch body, UTF-8.
    ///   - maxDepth: The deepest nesting allowed; the array itself is depth 1.
    /// - Returns: The byte offsets of every element from the start of `bytes`, in order.
    /// - Throws: ``EnvelopeError`` for the first problem in byte order.
    public static func arrayElements(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = defaultMaxDepth
    ) throws(EnvelopeError) -> [Range<Int>] {
        try withContiguousBytes(bytes) { raw throws(EnvelopeError) in try arrayElements(raw, maxDepth: maxDepth) }
    }

    /// Runs `body` over the collection's bytes, in place when it has contiguous storage.
    private static func withContiguousBytes<R>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeRawBufferPointer) throws(EnvelopeError) -> R
    ) throws(EnvelopeError) -> R {
        let inPlace = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(EnvelopeError) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        if let inPlace {
            return try inPlace.get()
        }
        return try Array(bytes).withUnsafeBytes { raw in
            Result { () throws(EnvelopeError) in try body(raw) }
        }.get()
    }
}
