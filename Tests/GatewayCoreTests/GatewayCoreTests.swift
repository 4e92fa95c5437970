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

    @Test("a record body round-trips through the log codec; a foreign body is refused")
    func codec() throws {
        let record = EventRecord(
            eventID: "e", team: "t", app: "a", partitionKey: "p", receivedAtMillis: 42, route: .kafka(topic: "big"),
            isArchived: true, waiterToken: 7, envelope: Array("{}".utf8)
        )
        let decoded = try EventRecord(decoding: record.encodedBody(), eventID: "e", receivedAtMillis: 42)
        #expect(decoded == record)
        #expect(decoded.sinkMask == SinkID.kafka.bit | SinkID.archive.bit)
        #expect(throws: RecordDecodingError.self) { try EventRecord(decoding: [9, 9], eventID: "e", receivedAtMillis: 0) }
        #expect(throws: RecordDecodingError.self) { try EventRecord(decoding: Array(record.encodedBody().prefix(12)), eventID: "e", receivedAtMillis: 0) }
    }
}
