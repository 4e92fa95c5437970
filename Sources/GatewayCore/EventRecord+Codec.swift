/// The binary form of an ``EventRecord`` inside a log record's body.
///
/// Layout (little-endian): `u8 version (1)`, `u8 route kind`, `u64 waiter token`, `u8 archived`,
/// then four length-prefixed (`u32`) UTF-8 strings: route destination, team, app, partition key;
/// then the envelope bytes to the end. The event id and received-at time are stored by the log itself.
extension EventRecord {
    static let codecVersion: UInt8 = 1

    /// Encodes everything but the event id and received-at time (which the log stores in its own header).
    public func encodedBody() -> [UInt8] {
        var out: [UInt8] = []
        let destination = route.destination
        out.reserveCapacity(19 + destination.utf8.count + team.utf8.count + app.utf8.count + partitionKey.utf8.count + envelope.count)
        out.append(Self.codecVersion)
        out.append(route.kind.rawValue)
        withUnsafeBytes(of: waiterToken.littleEndian) { out.append(contentsOf: $0) }
        out.append(isArchived ? 1 : 0)
        for string in [destination, team, app, partitionKey] {
            withUnsafeBytes(of: UInt32(string.utf8.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: string.utf8)
        }
        out.append(contentsOf: envelope)
        return out
    }

    /// Decodes a body written by ``encodedBody()``.
    /// - Throws: ``RecordDecodingError`` when the bytes are not a record body of a known version.
    public init(decoding body: [UInt8], eventID: String, receivedAtMillis: Int64) throws(RecordDecodingError) {
        var reader = ByteReader(bytes: body)
        guard let version = reader.readByte(), version == Self.codecVersion else {
            throw RecordDecodingError(message: "unknown record body version")
        }
        guard let kindRaw = reader.readByte(), let kind = RouteKind(rawValue: kindRaw),
            let token = reader.readUInt64(), let archived = reader.readByte(),
            let destination = reader.readString(), let team = reader.readString(),
            let app = reader.readString(), let partitionKey = reader.readString()
        else {
            throw RecordDecodingError(message: "record body is truncated")
        }
        let route: Route =
            switch kind {
            case .local: .local
            case .kinesis: .kinesis(stream: destination)
            case .kafka: .kafka(topic: destination)
            }
        self.init(
            eventID: eventID,
            team: team,
            app: app,
            partitionKey: partitionKey,
            receivedAtMillis: receivedAtMillis,
            route: route,
            isArchived: archived != 0,
            waiterToken: token,
            envelope: Array(body[reader.position...])
        )
    }
}

/// A log record's body could not be decoded as an ``EventRecord``.
public struct RecordDecodingError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the bytes.
    public var message: String
    public var description: String { "cannot decode event record: \(message)" }
}

/// A bounds-checked little-endian reader over a byte array.
struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    mutating func readByte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt32() -> UInt32? {
        guard bytes.count - position >= 4 else { return nil }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return value
    }

    mutating func readUInt64() -> UInt64? {
        guard bytes.count - position >= 8 else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    mutating func readString() -> String? {
        guard let length = readUInt32().map(Int.init), bytes.count - position >= length else { return nil }
        defer { position += length }
        return String(decoding: bytes[position..<(position + length)], as: UTF8.self)
    }
}
