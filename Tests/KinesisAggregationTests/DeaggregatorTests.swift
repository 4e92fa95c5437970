import KinesisAggregation
import Testing

@Suite("Deaggregation of foreign and damaged data")
struct DeaggregatorTests {
    static let valid: [UInt8] = {
        var aggregator = RecordAggregator()
        _ = aggregator.append(UserRecord(partitionKey: "a", data: [1, 2, 3]))
        _ = aggregator.append(UserRecord(partitionKey: "b", explicitHashKey: "7", data: [4]))
        return aggregator.encode()
    }()

    @Test(
        "non-aggregated data comes back as one record, unchanged",
        arguments: [
            [UInt8](),
            Array("hello".utf8),
            [0xF3, 0x89, 0x9A], // partial magic
            [0xF3, 0x89, 0x9A, 0xC2, 1, 2, 3], // magic but shorter than magic + MD5
            [0xF3, 0x89, 0x9A, 0xC3] + [UInt8](repeating: 0, count: 40),
        ])
    func passthrough(data: [UInt8]) throws {
        #expect(try RecordDeaggregator.deaggregate(data, partitionKey: "pk") == [UserRecord(partitionKey: "pk", data: data)])
    }

    @Test("a corrupted body or checksum is a checksum error")
    func badChecksum() {
        for index in AggregationFormat.magic.count..<Self.valid.count {
            var damaged = Self.valid
            damaged[index] ^= 0x40
            #expect(throws: AggregationError.self) { try RecordDeaggregator.deaggregate(damaged, partitionKey: "a") }
            do {
                _ = try RecordDeaggregator.deaggregate(damaged, partitionKey: "a")
            } catch {
                #expect(error.kind == .checksumMismatch)
                #expect(error.description.contains("MD5"))
            }
        }
    }

    static let malformed: [(body: [UInt8], kind: AggregationError.Kind)] = [
        ([0x0A, 0x05, 0x61], .malformedProtobuf), // key longer than the body
        ([0x1A, 0x02, 0x08, 0x80], .malformedProtobuf), // truncated varint in record
        ([0x1A, 0x03, 0x1A, 0x01, 0x01], .missingRequiredField), // record without partition_key_index
        ([0x0A, 0x01, 0x61, 0x1A, 0x02, 0x08, 0x00], .missingRequiredField), // record without data
        ([0x0A, 0x01, 0x61, 0x1A, 0x05, 0x08, 0x01, 0x1A, 0x01, 0x01], .indexOutOfRange),
        ([0x0A, 0x01, 0x61, 0x1A, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1A, 0x01, 0x01], .indexOutOfRange),
        ([0x0A, 0x01, 0xFF], .invalidUTF8),
        ([0x08, 0x01], .malformedProtobuf), // key table field as varint
        ([0x00, 0x00], .malformedProtobuf), // field number 0
        ([0x1B], .malformedProtobuf), // group wire type
        ([0x48] + [UInt8](repeating: 0xFF, count: 10) + [0x01], .malformedProtobuf), // varint > 10 bytes
    ]

    @Test("malformed protobuf with a valid MD5 is an error of the right kind", arguments: 0..<Self.malformed.count)
    func malformedBody(index: Int) {
        let (body, kind) = Self.malformed[index]
        do {
            let records = try RecordDeaggregator.deaggregate(Fixtures.frame(body), partitionKey: "x")
            Issue.record("decoded malformed body \(body) into \(records)")
        } catch {
            #expect(error.kind == kind, "\(error)")
        }
    }

    @Test("tags and unknown fields are tolerated")
    func tagsAndUnknownFields() throws {
        let body: [UInt8] = [
            0x0A, 0x01, 0x61, // pk "a"
            0x48, 0x96, 0x01, // unknown field 9, varint 150
            0x1A, 0x12, // record, 18 bytes
            0x08, 0x00, //   pk index 0
            0x22, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x76, // tag {key "k", value "v"}
            0x1A, 0x01, 0x2A, //   data [2A]
            0x3D, 0x01, 0x02, 0x03, 0x04, //   unknown field 7, fixed32
            0x52, 0x00, // unknown field 10, empty LEN
        ]
        #expect(
            try RecordDeaggregator.deaggregate(Fixtures.frame(body), partitionKey: "z")
                == [UserRecord(partitionKey: "a", data: [0x2A])])
    }
}
