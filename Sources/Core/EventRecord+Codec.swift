/// The binary form of an ``EventRecord`` inside a log record's body: the envelope, then a trailer.
///
/// Trailer layout (little-endian): `u8 version (2)`, `u8 route sink slot`, `u64 waiter token`, `u32 copies` (a
/// ``SinkSet``), then four length-prefixed (`u32`) UTF-8 strings: route destination, team, app, partition key; and last
/// a `u32` with the trailer's own length (everything from the version byte to before this field). The event id and
/// received-at time are stored by the log itself.
///
/// Version 1 (before sinks were open) is still read: its route kind byte is the slot of the same sink (0 archive,
/// 1 Kinesis, 2 Kafka), and its `u8 archived` flag is a copy to slot 0.
extension EventRecord {
    static let codecVersion: UInt8 = 2

    /// The log record body: the envelope followed by the trailer. Shares the record's buffer (no copy).
    public func encodedBody() -> [UInt8] {
        body
    }

    static func appendTrailer(
        to out: inout [UInt8], route: Route, copies: SinkSet, waiterToken: UInt64, team: String, app: String, partitionKey: String
    ) {
        let start = out.count
        out.reserveCapacity(start + trailerCapacity(team: team, app: app, partitionKey: partitionKey, destination: route.destination))
        out.append(codecVersion)
        out.append(route.sink.slot)
        withUnsafeBytes(of: waiterToken.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: copies.rawValue.littleEndian) { out.append(contentsOf: $0) }
        for string in [route.destination, team, app, partitionKey] {
            withUnsafeBytes(of: UInt32(string.utf8.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: string.utf8)
        }
        let length = UInt32(out.count - start)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Decodes a body written by ``encodedBody()``, keeping the buffer (no copy).
    /// - Parameter sinks: resolves the stored sink slots to this process's registered sinks.
    /// - Throws: ``RecordDecodingError`` when the bytes are not a record body of a known version.
    public init(
        decoding body: [UInt8], eventID: String, receivedAtMillis: Int64, sinks: SinkTable
    ) throws(RecordDecodingError) {
        guard body.count >= 4 else { throw RecordDecodingError(message: "record body is truncated") }
        var lengthReader = ByteReader(bytes: body, position: body.count - 4)
        guard let trailerLength = lengthReader.readUInt32().map(Int.init), trailerLength + 4 <= body.count else {
            throw RecordDecodingError(message: "record trailer length is out of range")
        }
        let envelopeCount = body.count - 4 - trailerLength
        var reader = ByteReader(bytes: body, position: envelopeCount, end: body.count - 4)
        guard let version = reader.readByte(), version == 1 || version == Self.codecVersion else {
            throw RecordDecodingError(message: "unknown record body version")
        }
        guard let slot = reader.readByte(), let token = reader.readUInt64(),
            let copies = version == 1 ? reader.readByte().map({ UInt32($0 != 0 ? 1 : 0) }) : reader.readUInt32(),
            let destination = reader.readString(), let team = reader.readString(),
            let app = reader.readString(), let partitionKey = reader.readString(),
            reader.position == reader.end
        else {
            throw RecordDecodingError(message: "record trailer is malformed")
        }
        let route = Route(sink: sinks.sink(slot: slot), destination: destination)
        self.init(
            eventID: eventID, team: team, app: app, partitionKey: partitionKey, receivedAtMillis: receivedAtMillis,
            route: route, copies: SinkSet(rawValue: copies), waiterToken: token, body: body, envelopeCount: envelopeCount
        )
    }
}

/// A log record's body could not be decoded as an ``EventRecord``.
public struct RecordDecodingError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the bytes.
    public var message: String
    public var description: String { "cannot decode event record: \(message)" }
}

/// A bounds-checked little-endian reader over part of a byte array.
struct ByteReader {
    let bytes: [UInt8]
    var position = 0
    var end: Int

    init(bytes: [UInt8], position: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.position = position
        self.end = end ?? bytes.count
    }

    mutating func readByte() -> UInt8? {
        guard position < end else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt32() -> UInt32? {
        guard end - position >= 4 else { return nil }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return value
    }

    mutating func readUInt64() -> UInt64? {
        guard end - position >= 8 else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    mutating func readString() -> String? {
        guard let length = readUInt32().map(Int.init), end - position >= length else { return nil }
        defer { position += length }
        return String(decoding: bytes[position..<(position + length)], as: UTF8.self)
    }
}
