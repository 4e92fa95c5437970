/// The top-level members an envelope may have.
enum EnvelopeField: UInt8, CaseIterable {
    case team, app, partitionKey, eventID, largeMessage, payload

    /// The key as it appears in JSON.
    var name: String {
        switch self {
        case .team: "team"
        case .app: "app"
        case .partitionKey: "partition_key"
        case .eventID: "event_id"
        case .largeMessage: "large_message"
        case .payload: "payload"
        }
    }

    /// This field's bit in a set of seen fields.
    var bit: UInt8 { 1 << rawValue }

    /// The field named by the raw (possibly escaped, already validated) key contents, or `nil`.
    init?(key content: UnsafeRawBufferPointer) {
        if content.contains(ASCII.backslash) {
            let decoded = StringDecoder.decodeBytes(content)
            let field = decoded.withUnsafeBytes { EnvelopeField(unescapedKey: $0) }
            guard let field else { return nil }
            self = field
        } else {
            guard let field = EnvelopeField(unescapedKey: content) else { return nil }
            self = field
        }
    }

    /// The field named exactly by `key`, compared byte for byte.
    private init?(unescapedKey key: UnsafeRawBufferPointer) {
        switch key.count {
        case 3 where Self.equal(key, "app"): self = .app
        case 4 where Self.equal(key, "team"): self = .team
        case 7 where Self.equal(key, "payload"): self = .payload
        case 8 where Self.equal(key, "event_id"): self = .eventID
        case 13 where Self.equal(key, "partition_key"): self = .partitionKey
        case 13 where Self.equal(key, "large_message"): self = .largeMessage
        default: return nil
        }
    }

    /// Whether `key` holds exactly the bytes of `name` (the caller has checked the length).
    private static func equal(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return key.count == expected.count && key.elementsEqual(expected)
    }
}
