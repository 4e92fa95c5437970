import GatewayCore
import Testing

@Suite("Gateway core")
struct GatewayCoreTests {
    @Test("UUIDv7 ids carry the time, version and variant, and do not repeat")
    func uuidV7() {
        let millis: Int64 = 0x0190_1234_5678
        let id = EventID.makeUUIDv7(millis: millis)
        #expect(id.count == 36)
        let parts = id.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[0] + parts[1] == "019012345678")
        #expect(parts[2].first == "7")
        #expect("89ab".contains(parts[3].first ?? "x"))
        let many = (0..<10_000).map { _ in EventID.makeUUIDv7(millis: millis) }
        #expect(Set(many).count == many.count)
    }

    @Test("RFC 3339 timestamps and civil dates, including leap days and before 1970")
    func timestamps() {
        #expect(Timestamp.rfc3339(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millis: 1_763_780_400_123) == "2025-11-22T03:00:00.123Z")
        #expect(Timestamp.rfc3339(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millis: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test("the envelope wraps the payload bytes as received and escapes the strings")
    func envelope() {
        let payload = Array(#"{"a": [1, "\u00e9"]}"#.utf8)
        let bytes = payload.withUnsafeBytes {
            EnvelopeWriter.envelope(eventID: "id\"1", team: "t", app: "a\n", partitionKey: "k\u{1}", receivedAtMillis: 0, payload: $0)
        }
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"v":1,"event_id":"id\"1","team":"t","app":"a\n","partition_key":"k\u0001","received_at":"1970-01-01T00:00:00.000Z","payload":{"a": [1, "\u00e9"]}}"#
        )
    }

    static let archive = SinkID(name: "archive", slot: 0, routeName: "local")
    static let kinesis = SinkID(name: "kinesis", slot: 1)
    static let kafka = SinkID(name: "kafka", slot: 2)
    static let table = SinkTable([archive, kinesis, kafka])

    @Test("a record body round-trips through the log codec; a foreign body is refused")
    func codec() throws {
        let record = EventRecord(
            eventID: "e", team: "t", app: "a", partitionKey: "p", receivedAtMillis: 42,
            route: Route(sink: Self.kafka, destination: "big"), copies: SinkSet([Self.archive]), waiterToken: 7,
            envelope: Array("{}".utf8)
        )
        let decoded = try EventRecord(decoding: record.encodedBody(), eventID: "e", receivedAtMillis: 42, sinks: Self.table)
        #expect(decoded == record)
        #expect(decoded.route.sink.name == "kafka")
        #expect(decoded.sinks.rawValue == Self.kafka.bit | Self.archive.bit)
        #expect(throws: RecordDecodingError.self) {
            try EventRecord(decoding: [9, 9], eventID: "e", receivedAtMillis: 0, sinks: Self.table)
        }
        #expect(throws: RecordDecodingError.self) {
            try EventRecord(decoding: Array(record.encodedBody().prefix(12)), eventID: "e", receivedAtMillis: 0, sinks: Self.table)
        }
    }

    @Test("a version-1 body (closed sinks) still decodes: its route kind is the slot, its archived flag a copy to slot 0")
    func codecVersionOne() throws {
        // `{}`, then the v1 trailer: version 1, kind 1 (Kinesis), token 7, archived 1, "s", "t", "a", "p", length.
        var body = Array("{}".utf8)
        var trailer: [UInt8] = [1, 1]
        withUnsafeBytes(of: UInt64(7).littleEndian) { trailer.append(contentsOf: $0) }
        trailer.append(1)
        for string in ["s", "t", "a", "p"] {
            withUnsafeBytes(of: UInt32(string.utf8.count).littleEndian) { trailer.append(contentsOf: $0) }
            trailer.append(contentsOf: string.utf8)
        }
        body += trailer
        withUnsafeBytes(of: UInt32(trailer.count).littleEndian) { body.append(contentsOf: $0) }
        let decoded = try EventRecord(decoding: body, eventID: "e", receivedAtMillis: 1, sinks: Self.table)
        #expect(decoded.route == Route(sink: Self.kinesis, destination: "s"))
        #expect(decoded.copies == SinkSet([Self.archive]))
        #expect(decoded.waiterToken == 7)
        #expect(Array(decoded.envelope) == Array("{}".utf8))
        #expect(decoded.team == "t" && decoded.app == "a" && decoded.partitionKey == "p")
    }

    @Test("a slot no registered sink claims decodes to a placeholder sink, so its records can be passed over")
    func unregisteredSlot() throws {
        let record = EventRecord(
            eventID: "e", team: "t", app: "a", partitionKey: "p", receivedAtMillis: 1,
            route: Route(sink: SinkID(name: "webhook", slot: 9), destination: "x"), envelope: Array("{}".utf8)
        )
        let decoded = try EventRecord(decoding: record.encodedBody(), eventID: "e", receivedAtMillis: 1, sinks: Self.table)
        #expect(decoded.route.sink.slot == 9)
        #expect(decoded.route.sink.name == "sink9")
    }

    @Test("receipts are open: any sink's fields render in order and read back by name")
    func receipts() {
        let receipt = Receipt.log(LogPosition(sequence: 5, segment: 1, offset: 64))
        #expect(receipt.key == "log")
        #expect(receipt.fields.map(\.name) == ["sequence", "segment", "offset"])
        #expect(receipt.integer("sequence") == 5)
        #expect(receipt.string("sequence") == nil)
        #expect(Route(sink: Self.archive).description == "local")
        #expect(Route(sink: Self.kinesis, destination: "s").description == "kinesis:s")
    }
}
