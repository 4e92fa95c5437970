import KinesisAggregation
import Testing

@Suite("Exact wire bytes")
struct ExactBytesTests {
    @Test("three records, two keys, one explicit hash key: bytes computed by hand")
    func smallAggregate() throws {
        var aggregator = RecordAggregator()
        let appended8 = aggregator.append(UserRecord(partitionKey: "a", data: [0x01]))
        #expect(appended8)
        let appended9 = aggregator.append(UserRecord(partitionKey: "b", explicitHashKey: "5", data: []))
        #expect(appended9)
        let appended10 = aggregator.append(UserRecord(partitionKey: "a", data: [0xFF, 0x00]))
        #expect(appended10)

        let body: [UInt8] = [
            0x0A, 0x01, 0x61, // partition_key_table (1, LEN) "a"
            0x0A, 0x01, 0x62, // partition_key_table (1, LEN) "b"
            0x12, 0x01, 0x35, // explicit_hash_key_table (2, LEN) "5"
            0x1A, 0x05, // records (3, LEN) 5 bytes
            0x08, 0x00, //   partition_key_index (1, VARINT) 0
            0x1A, 0x01, 0x01, //   data (3, LEN) [01]
            0x1A, 0x06, // records (3, LEN) 6 bytes
            0x08, 0x01, //   partition_key_index 1
            0x10, 0x00, //   explicit_hash_key_index (2, VARINT) 0
            0x1A, 0x00, //   data (3, LEN) []
            0x1A, 0x06, // records (3, LEN) 6 bytes
            0x08, 0x00, //   partition_key_index 0
            0x1A, 0x02, 0xFF, 0x00, //   data [FF 00]
        ]
        // MD5 of `body`, computed once with Python's hashlib.md5(body).hexdigest().
        let md5: [UInt8] = [
            0x7B, 0x71, 0xBE, 0xA2, 0xB2, 0x71, 0xE6, 0x31,
            0xD7, 0x16, 0x0D, 0xF2, 0x87, 0x14, 0x0D, 0x3C,
        ]
        let expected: [UInt8] = [0xF3, 0x89, 0x9A, 0xC2] + body + md5
        #expect(aggregator.encode() == expected)
        #expect(aggregator.size == expected.count)
        #expect(AggregationFormat.checksum(of: body) == md5)
        #expect(
            try RecordDeaggregator.deaggregate(expected, partitionKey: "a") == [
                UserRecord(partitionKey: "a", data: [0x01]),
                UserRecord(partitionKey: "b", explicitHashKey: "5", data: []),
                UserRecord(partitionKey: "a", data: [0xFF, 0x00]),
            ])
    }

    @Test("multi-byte varints: 200 bytes of data")
    func multiByteVarints() throws {
        let data = (0..<200).map { UInt8($0) }
        var aggregator = RecordAggregator()
        let appended47 = aggregator.append(UserRecord(partitionKey: "k", data: data))
        #expect(appended47)
        // Record message = 08 00 | 1A C8 01 <200> = 2 + 3 + 200 = 205 = varint CD 01.
        let body: [UInt8] = [0x0A, 0x01, 0x6B, 0x1A, 0xCD, 0x01, 0x08, 0x00, 0x1A, 0xC8, 0x01] + data
        // hashlib.md5(body).hexdigest() == "7dd5b996efd02b8afd1bea534ea19c9e"
        let md5: [UInt8] = [
            0x7D, 0xD5, 0xB9, 0x96, 0xEF, 0xD0, 0x2B, 0x8A,
            0xFD, 0x1B, 0xEA, 0x53, 0x4E, 0xA1, 0x9C, 0x9E,
        ]
        #expect(aggregator.encode() == [0xF3, 0x89, 0x9A, 0xC2] + body + md5)
    }

    @Test("an empty aggregator encodes magic + MD5 of nothing, which deaggregates to no records")
    func emptyAggregate() throws {
        let empty = RecordAggregator().encode()
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        #expect(
            empty == [
                0xF3, 0x89, 0x9A, 0xC2, 0xD4, 0x1D, 0x8C, 0xD9, 0x8F, 0x00, 0xB2, 0x04,
                0xE9, 0x80, 0x09, 0x98, 0xEC, 0xF8, 0x42, 0x7E,
            ])
        #expect(try RecordDeaggregator.deaggregate(empty, partitionKey: "p").isEmpty)
    }
}
