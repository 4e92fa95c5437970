/// The sink of `EnvelopeScanner.arrayElements`:
/// requires a top-level array and collects the range of each element.
struct ArrayElementsSink: ScanSink {
    static var tracksMembers: Bool { true }

    /// The element ranges found so far, in order.
    var elements: [Range<Int>] = []

    func topLevelStart(kind: JSONKind?, at offset: Int) throws(EnvelopeError) {
        guard let kind, kind != .array else { return }
        throw EnvelopeError(
            code: .notAnArray,
            message: "the body must be a JSON array, got \(kind.phrase) at byte \(offset)",
            offset: offset
        )
    }

    func memberKey(contentStart: Int, contentEnd: Int, at offset: Int) {}

    func memberValueStart(byte: UInt8, at offset: Int) {}

    mutating func memberValueEnd(start: Int, end: Int) {
        elements.append(start..<end)
    }

    func topLevelEnd(at end: Int) {}
}
