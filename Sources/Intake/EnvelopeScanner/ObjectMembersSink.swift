/// The sink of `EnvelopeScanner.objectMembers`: requires a top-level object and records the value range of each
/// wanted member (keys compared after decoding; the last occurrence of a repeated key wins).
struct ObjectMembersSink: ScanSink {
    static var tracksMembers: Bool { true }

    /// The buffer being scanned, for decoding keys.
    let bytes: UnsafeRawBufferPointer
    /// The wanted keys as UTF-8.
    let wanted: [[UInt8]]
    /// The keys as given, parallel to `wanted`.
    let keys: [String]
    /// The index in `wanted` of the member whose value comes next, nil for an unwanted one.
    private var current: Int?
    /// The value range of each wanted member found so far.
    private(set) var found: [String: Range<Int>] = [:]

    init(bytes: UnsafeRawBufferPointer, keys: [String]) {
        self.bytes = bytes
        self.keys = keys
        self.wanted = keys.map { Array($0.utf8) }
    }

    func topLevelStart(kind: JSONKind?, at offset: Int) throws(EnvelopeError) {
        guard let kind, kind != .object else { return }
        throw EnvelopeError(
            code: .notAnObject,
            message: "the document must be a JSON object, got \(kind.phrase) at byte \(offset)",
            offset: offset
        )
    }

    mutating func memberKey(contentStart: Int, contentEnd: Int, at offset: Int) {
        let content = UnsafeRawBufferPointer(rebasing: bytes[contentStart..<contentEnd])
        if content.contains(ASCII.backslash) {
            let decoded = StringDecoder.decodeBytes(content)
            current = wanted.firstIndex { $0 == decoded }
        } else {
            current = wanted.firstIndex { $0.elementsEqual(content) }
        }
    }

    func memberValueStart(byte: UInt8, at offset: Int) {}

    mutating func memberValueEnd(start: Int, end: Int) {
        guard let current else { return }
        found[keys[current]] = start..<end
    }

    func topLevelEnd(at end: Int) {}
}
