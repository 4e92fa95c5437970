/// The sink of `EnvelopeScanner.scanEnvelope`: requires a top-level object, checks each member
/// against the envelope schema as it arrives, and decodes the envelope's string fields.
struct EnvelopeSink: ScanSink {
    static var tracksMembers: Bool { true }

    /// The buffer being scanned, for decoding keys and field values.
    let bytes: UnsafeRawBufferPointer

    /// The field whose value comes next (set by each depth-1 key).
    private var current: EnvelopeField = .payload
    /// The fields seen so far, one bit per ``EnvelopeField``.
    private var seen: UInt8 = 0
    private var team: String?
    private var app: String?
    private var partitionKey: String?
    private var eventID: String?
    private var largeMessage: Bool?
    private var payload: Range<Int>?
    /// The offset just after the envelope object's closing brace.
    private var end = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func topLevelStart(kind: JSONKind?, at offset: Int) throws(EnvelopeError) {
        guard let kind, kind != .object else { return }
        throw EnvelopeError(
            code: .notAnObject,
            message: "the event envelope must be a JSON object, got \(kind.phrase) at byte \(offset)",
            offset: offset
        )
    }

    mutating func memberKey(contentStart: Int, contentEnd: Int, at offset: Int) throws(EnvelopeError) {
        let content = UnsafeRawBufferPointer(rebasing: bytes[contentStart..<contentEnd])
        guard let field = EnvelopeField(key: content) else {
            let name = StringDecoder.decode(content)
            throw EnvelopeError(
                code: .unknownField,
                message: "unknown field \(Self.quoted(name)) at byte \(offset); an envelope has only "
                    + "team, app, partition_key, event_id, large_message and payload",
                field: name,
                offset: offset
            )
        }
        guard seen & field.bit == 0 else {
            throw EnvelopeError(
                code: .duplicateField,
                message: "duplicate field '\(field.name)' at byte \(offset)",
                field: field.name,
                offset: offset
            )
        }
        seen |= field.bit
        current = field
    }

    func memberValueStart(byte: UInt8, at offset: Int) throws(EnvelopeError) {
        // A byte that starts no value is left to the scanner, which reports the syntax error.
        guard let kind = JSONKind(firstByte: byte) else { return }
        switch current {
        case .team, .app, .partitionKey, .eventID:
            guard kind == .string || kind == .null else {
                throw wrongType(expected: "a string", got: kind, at: offset)
            }
        case .largeMessage:
            guard kind == .boolean || kind == .null else {
                throw wrongType(expected: "a boolean", got: kind, at: offset)
            }
        case .payload:
            break
        }
    }

    mutating func memberValueEnd(start: Int, end: Int) {
        switch current {
        case .team: team = stringValue(start, end)
        case .app: app = stringValue(start, end)
        case .partitionKey: partitionKey = stringValue(start, end)
        case .eventID: eventID = stringValue(start, end)
        case .largeMessage:
            // The value was type-checked at its start and validated since: `true`, `false` or `null`.
            switch bytes[start] {
            case ASCII.lowerT: largeMessage = true
            case ASCII.lowerF: largeMessage = false
            default: largeMessage = nil
            }
        case .payload: payload = start..<end
        }
    }

    mutating func topLevelEnd(at end: Int) {
        self.end = end
    }

    /// The extracted envelope, once the scanner has accepted the whole document.
    /// - Throws: ``EnvelopeError/Code/missingPayload`` when there was no `payload` member.
    func finish() throws(EnvelopeError) -> ScannedEnvelope {
        guard let payload else {
            let closing = max(end - 1, 0)
            throw EnvelopeError(
                code: .missingPayload,
                message: "the required field 'payload' is missing from the envelope object that ends at byte \(closing)",
                field: EnvelopeField.payload.name,
                offset: closing
            )
        }
        return ScannedEnvelope(
            team: team,
            app: app,
            partitionKey: partitionKey,
            eventID: eventID,
            largeMessage: largeMessage,
            payload: payload
        )
    }

    /// The decoded string of a validated string value at `start..<end`, or `nil` for `null`.
    private func stringValue(_ start: Int, _ end: Int) -> String? {
        guard bytes[start] == ASCII.quote, end - start >= 2 else { return nil }
        return StringDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<(end - 1)]))
    }

    private func wrongType(expected: String, got kind: JSONKind, at offset: Int) -> EnvelopeError {
        EnvelopeError(
            code: .wrongFieldType,
            message: "field '\(current.name)' must be \(expected), got \(kind.phrase) at byte \(offset)",
            field: current.name,
            offset: offset
        )
    }

    /// `name` in single quotes for a message, with control characters escaped and at most 64 characters.
    private static func quoted(_ name: String) -> String {
        var shown = ""
        var characters = 0
        for scalar in name.unicodeScalars {
            if characters == 64 {
                shown += "…"
                break
            }
            shown += scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
            characters += 1
        }
        return "'\(shown)'"
    }
}
