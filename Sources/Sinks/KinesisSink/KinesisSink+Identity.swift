public import GatewayCore

extension SinkID {
    /// The Kinesis Data Streams sink. Slot 1.
    public static let kinesis = SinkID(name: "kinesis", slot: 1)
}

extension Receipt {
    /// A Kinesis stream stored the record: `"kinesis":{"stream","shard_id","sequence_number"[,"sub_sequence_number"]}`.
    public static func kinesis(stream: String, shardID: String, sequenceNumber: String, subSequenceNumber: Int?) -> Receipt {
        var fields: [Field] = [
            Field("stream", .string(stream)), Field("shard_id", .string(shardID)),
            Field("sequence_number", .string(sequenceNumber)),
        ]
        if let subSequenceNumber { fields.append(Field("sub_sequence_number", .integer(Int64(subSequenceNumber)))) }
        return Receipt(key: "kinesis", fields: fields)
    }
}

extension Route {
    /// A Kinesis Data Streams stream.
    public static func kinesis(stream: String) -> Route { Route(sink: .kinesis, destination: stream) }
}
