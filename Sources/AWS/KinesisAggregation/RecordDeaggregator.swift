/// Splits KPL aggregated records back into user records (what the KCL / aws-kinesis-agg do).
public enum RecordDeaggregator {
    /// Whether `data` is framed as an aggregated record (magic prefix and room for the MD5).
    /// Does not verify the checksum.
    public static func isAggregated(_ data: [UInt8]) -> Bool {
        data.count >= AggregationFormat.overhead
            && data.starts(with: AggregationFormat.magic)
    }

    /// Deaggregates one Kinesis record.
    ///
    /// - Data that is not aggregated (no magic prefix, or shorter than magic + MD5) comes back
    ///   as one record with `partitionKey` and the data unchanged.
    /// - Aggregated data whose MD5 does not match, or whose protobuf is malformed, throws.
    ///   (The Python aws-kinesis-agg and the KCL instead pass such data through as one
    ///   un-aggregated record; we prefer to surface corruption.)
    /// - `partitionKey` is the Kinesis-level key of the record; deaggregated records carry
    ///   their own keys from the aggregate's key table.
    public static func deaggregate(_ data: [UInt8], partitionKey: String) throws(AggregationError) -> [UserRecord] {
        guard isAggregated(data) else {
            return [UserRecord(partitionKey: partitionKey, explicitHashKey: nil, data: data)]
        }
        let bodyRange = AggregationFormat.magic.count..<(data.count - AggregationFormat.checksumSize)
        let body = data[bodyRange]
        let checksum = data[bodyRange.upperBound...]
        guard ShardHashing.md5(body).elementsEqual(checksum) else {
            throw AggregationError(.checksumMismatch, "MD5 of the aggregated record body does not match its trailing checksum")
        }
        return try decodeBody(body)
    }

    private struct RawRecord {
        var partitionKeyIndex: UInt64?
        var explicitHashKeyIndex: UInt64?
        var data: ArraySlice<UInt8>?
    }

    static func decodeBody(_ body: ArraySlice<UInt8>) throws(AggregationError) -> [UserRecord] {
        var partitionKeys: [String] = []
        var explicitHashKeys: [String] = []
        var raw: [RawRecord] = []

        var reader = ProtobufReader(body)
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readTag()
            switch (field, wireType) {
            case (1, .lengthDelimited):
                partitionKeys.append(try decodeString(reader.readLengthDelimited(), what: "partition key"))
            case (2, .lengthDelimited):
                explicitHashKeys.append(try decodeString(reader.readLengthDelimited(), what: "explicit hash key"))
            case (3, .lengthDelimited):
                raw.append(try decodeRecord(reader.readLengthDelimited()))
            case (1...3, _):
                throw AggregationError(.malformedProtobuf, "AggregatedRecord field \(field) has wire type \(wireType)")
            default:
                try reader.skip(wireType) // unknown field
            }
        }

        var records: [UserRecord] = []
        records.reserveCapacity(raw.count)
        for (position, record) in raw.enumerated() {
            guard let pkIndex = record.partitionKeyIndex else {
                throw AggregationError(.missingRequiredField, "record \(position) has no partition_key_index")
            }
            guard let data = record.data else {
                throw AggregationError(.missingRequiredField, "record \(position) has no data")
            }
            guard pkIndex < UInt64(partitionKeys.count) else {
                throw AggregationError(
                    .indexOutOfRange, "record \(position): partition_key_index \(pkIndex) but the table has \(partitionKeys.count) keys")
            }
            var explicitHashKey: String?
            if let ehkIndex = record.explicitHashKeyIndex {
                guard ehkIndex < UInt64(explicitHashKeys.count) else {
                    throw AggregationError(
                        .indexOutOfRange, "record \(position): explicit_hash_key_index \(ehkIndex) but the table has \(explicitHashKeys.count) keys")
                }
                explicitHashKey = explicitHashKeys[Int(ehkIndex)]
            }
            records.append(
                UserRecord(
                    partitionKey: partitionKeys[Int(pkIndex)],
                    explicitHashKey: explicitHashKey,
                    data: Array(data)))
        }
        return records
    }

    private static func decodeRecord(_ bytes: ArraySlice<UInt8>) throws(AggregationError) -> RawRecord {
        var record = RawRecord()
        var reader = ProtobufReader(bytes)
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readTag()
            switch (field, wireType) {
            case (1, .varint): record.partitionKeyIndex = try reader.readVarint()
            case (2, .varint): record.explicitHashKeyIndex = try reader.readVarint()
            case (3, .lengthDelimited): record.data = try reader.readLengthDelimited()
            case (4, .lengthDelimited): _ = try reader.readLengthDelimited() // Tag: tolerated, dropped
            case (1...4, _):
                throw AggregationError(.malformedProtobuf, "Record field \(field) has wire type \(wireType)")
            default:
                try reader.skip(wireType)
            }
        }
        return record
    }

    private static func decodeString(_ bytes: ArraySlice<UInt8>, what: String) throws(AggregationError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw AggregationError(.invalidUTF8, "\(what) is not valid UTF-8")
        }
        return string
    }
}
