/// What an entry point wants to see of a document while ``JSONScanner`` validates it.
///
/// The scanner is generic over its sink, so each entry point gets a specialised loop; a sink whose
/// ``tracksMembers`` is `false` costs nothing. Only the top-level value and the members of the
/// depth-1 container are reported; everything deeper is validated and skipped.
protocol ScanSink {
    /// Whether the scanner calls the hooks at all.
    static var tracksMembers: Bool { get }

    /// The first byte of the top-level value is at `offset`; `kind` is `nil` when no value can start there
    /// (the scanner then reports the syntax error itself).
    mutating func topLevelStart(kind: JSONKind?, at offset: Int) throws(EnvelopeError)

    /// A member key of the depth-1 object has been validated; its contents (between the quotes) are
    /// `contentStart..<contentEnd` and its opening quote is at `offset`.
    mutating func memberKey(contentStart: Int, contentEnd: Int, at offset: Int) throws(EnvelopeError)

    /// A member value of the depth-1 container starts with `byte` at `offset` (it is not validated yet).
    mutating func memberValueStart(byte: UInt8, at offset: Int) throws(EnvelopeError)

    /// The member value of the depth-1 container that started at `start` is valid and ends before `end`.
    mutating func memberValueEnd(start: Int, end: Int) throws(EnvelopeError)

    /// The top-level value is valid and ends before `end` (trailing bytes are not checked yet).
    mutating func topLevelEnd(at end: Int)
}

/// The sink of `EnvelopeScanner.validate`: it wants nothing.
struct ValidationSink: ScanSink {
    static var tracksMembers: Bool { false }
    func topLevelStart(kind: JSONKind?, at offset: Int) {}
    func memberKey(contentStart: Int, contentEnd: Int, at offset: Int) {}
    func memberValueStart(byte: UInt8, at offset: Int) {}
    func memberValueEnd(start: Int, end: Int) {}
    func topLevelEnd(at end: Int) {}
}
