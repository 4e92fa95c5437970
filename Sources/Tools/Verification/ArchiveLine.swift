import EnvelopeScanner

/// One delivered record (an archive line, a Kinesis user record, a Kafka message value), parsed with the
/// intake's ``EnvelopeScanner`` (strict RFC 8259, the whole record validated).
public enum ArchiveLine: Equatable, Sendable {
    /// A delivered event.
    case event(id: String)
    /// A dead letter: the event and the destination's error code.
    case deadLetter(id: String, reason: String)
    /// Not valid.
    case corrupt(reason: String)

    /// The deepest nesting a record may have (the gateway's own limit, `server.max_json_depth`, is lower).
    public static let maximumDepth = 512

    /// Parses a data line (`{"v":1,"event_id":…}`) or, with `deadLetter`, an error line (`{"error_code":…,"record":{…}}`).
    public static func parse(_ line: UnsafeRawBufferPointer, deadLetter: Bool) -> ArchiveLine {
        do throws(EnvelopeError) {
            if deadLetter {
                let fields = try EnvelopeScanner.objectMembers(line, keys: ["error_code", "record"], maxDepth: maximumDepth)
                guard let recordRange = fields["record"] else { return .corrupt(reason: "dead letter without a \"record\"") }
                let record = UnsafeRawBufferPointer(rebasing: line[recordRange])
                guard line[recordRange.lowerBound] == UInt8(ascii: "{"),
                    let idRange = try EnvelopeScanner.objectMembers(record, keys: ["event_id"], maxDepth: maximumDepth)["event_id"],
                    let id = EnvelopeScanner.decodeString(record, range: idRange), !id.isEmpty
                else { return .corrupt(reason: "dead letter's record has no string \"event_id\"") }
                let reason = fields["error_code"].flatMap { EnvelopeScanner.decodeString(line, range: $0) } ?? "unknown"
                return .deadLetter(id: id, reason: reason)
            }
            guard let idRange = try EnvelopeScanner.objectMembers(line, keys: ["event_id"], maxDepth: maximumDepth)["event_id"] else {
                return .corrupt(reason: "no \"event_id\"")
            }
            guard let id = EnvelopeScanner.decodeString(line, range: idRange), !id.isEmpty else {
                return .corrupt(reason: "\"event_id\" is not a non-empty string")
            }
            return .event(id: id)
        } catch {
            return .corrupt(reason: "invalid JSON: \(error)")
        }
    }
}
