/// Writes the versioned JSON envelope that every backend receives:
/// `{"v":1,"event_id":…,"team":…,"app":…,"partition_key":…,"received_at":"2026-11-22T02:55:31.123Z","payload":…}`.
///
/// The payload bytes are copied as received (already validated JSON); only the strings are escaped.
public enum EnvelopeWriter {
    /// Builds the envelope line (no trailing newline).
    public static func envelope(
        eventID: String,
        team: String,
        app: String,
        partitionKey: String,
        receivedAtMillis: Int64,
        payload: UnsafeRawBufferPointer
    ) -> [UInt8] {
        var out: [UInt8] = []
        // Room for the envelope and the record trailer appended later (EventRecord), so neither reallocates.
        let strings = eventID.utf8.count + team.utf8.count + app.utf8.count + partitionKey.utf8.count
        out.reserveCapacity(
            payload.count + 128 + strings + EventRecord.trailerCapacity(team: team, app: app, partitionKey: partitionKey, destination: "") + 256)
        out.append(contentsOf: #"{"v":1,"event_id":"#.utf8)
        appendJSONString(eventID, to: &out)
        out.append(contentsOf: #","team":"#.utf8)
        appendJSONString(team, to: &out)
        out.append(contentsOf: #","app":"#.utf8)
        appendJSONString(app, to: &out)
        out.append(contentsOf: #","partition_key":"#.utf8)
        appendJSONString(partitionKey, to: &out)
        out.append(contentsOf: #","received_at":""#.utf8)
        Timestamp.appendRFC3339(millis: receivedAtMillis, to: &out)
        out.append(contentsOf: #"","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `string` as a JSON string literal (quotes included), escaping `"`, `\` and control characters.
    public static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `string` as a JSON string literal.
    public static func jsonString(_ string: String) -> String {
        var out: [UInt8] = []
        appendJSONString(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
