public import AWSJSONClient
import Foundation
import GatewayCore
import KinesisAggregation
import NIOCore
import NIOFoundationCompat

/// The Kinesis Data Streams operations Sluice uses, over the JSON 1.1 protocol: `PutRecords` and `ListShards` for the
/// producer, `GetShardIterator` and `GetRecords` for reading a stream back (`sluice verify --kinesis`).
public struct KinesisAPI: Sendable {
    /// The JSON client (endpoint, signing, error classification).
    public let client: AWSJSONClient

    public init(client: AWSJSONClient) {
        self.client = client
    }

    /// One record of a `PutRecords` call.
    public struct PutEntry: Sendable, Equatable {
        /// The record's bytes: a log record's envelope (a slice of its buffer, not a copy) or an aggregated record.
        public var data: ArraySlice<UInt8>
        public var partitionKey: String
        public var explicitHashKey: String?

        public init(data: ArraySlice<UInt8>, partitionKey: String, explicitHashKey: String?) {
            self.data = data
            self.partitionKey = partitionKey
            self.explicitHashKey = explicitHashKey
        }

        public init(data: [UInt8], partitionKey: String, explicitHashKey: String?) {
            self.init(data: data[...], partitionKey: partitionKey, explicitHashKey: explicitHashKey)
        }

        /// What the entry counts against the request's size limit: data plus partition key.
        public var billedBytes: Int { data.count + partitionKey.utf8.count }
    }

    /// What Kinesis said about one record of a `PutRecords` call.
    public enum PutResult: Sendable, Equatable {
        case stored(shardID: String, sequenceNumber: String)
        /// Not stored; the error's code is typed (``KinesisError/Code``) and its cause is nil.
        case failed(KinesisError)
    }

    /// An open or closed shard and its hash-key range.
    public struct Shard: Sendable, Equatable {
        public var id: String
        public var startingHashKey: UInt128
        public var endingHashKey: UInt128
        /// False once the shard was split or merged (it has an ending sequence number).
        public var isOpen: Bool

        public init(id: String, startingHashKey: UInt128, endingHashKey: UInt128, isOpen: Bool) {
            self.id = id
            self.startingHashKey = startingHashKey
            self.endingHashKey = endingHashKey
            self.isOpen = isOpen
        }
    }

    /// `PutRecords`: one result per entry, in order.
    ///
    /// The body is encoded straight from the entries' bytes into one buffer, which is signed and sent as it is.
    /// - Throws: ``KinesisError`` (its ``KinesisError/cause`` the JSON client's error) when the call failed as a whole.
    public func putRecords(stream: String, entries: [PutEntry]) async throws(KinesisError) -> [PutResult] {
        let body = Self.encodePutRecords(stream: stream, entries: entries)
        do throws(AWSRequestError) {
            let response = try await client.call("PutRecords", body: body)
            return try Self.decodePutRecords(response, expected: entries.count)
        } catch {
            throw KinesisError(error)
        }
    }

    /// `ListShards`, every page.
    public func listShards(stream: String) async throws(AWSRequestError) -> [Shard] {
        var shards: [Shard] = []
        var nextToken: String?
        repeat {
            var body = "{"
            if let nextToken {
                body += "\"NextToken\":\(EnvelopeWriter.jsonString(nextToken))"
            } else {
                body += "\"StreamName\":\(EnvelopeWriter.jsonString(stream))"
            }
            body += "}"
            let response = try await client.call("ListShards", body: Array(body.utf8))
            let page = try Self.decode(ListShardsOutput.self, from: response, operation: "ListShards")
            for shard in page.Shards ?? [] {
                guard let start = ShardHashing.parseDecimal(shard.HashKeyRange.StartingHashKey),
                    let end = ShardHashing.parseDecimal(shard.HashKeyRange.EndingHashKey)
                else {
                    throw AWSRequestError(
                        code: "InvalidResponse", message: "ListShards returned a shard with an unreadable hash-key range",
                        httpStatus: 200, kind: .retriable)
                }
                shards.append(
                    Shard(
                        id: shard.ShardId, startingHashKey: start, endingHashKey: end,
                        isOpen: shard.SequenceNumberRange?.EndingSequenceNumber == nil
                    )
                )
            }
            nextToken = page.NextToken
        } while nextToken != nil
        return shards
    }

    /// One record read back by `GetRecords`.
    public struct ReadRecord: Sendable, Equatable {
        /// The record's data (base64-decoded): an aggregated record or one plain envelope.
        public var data: [UInt8]
        public var partitionKey: String
        public var sequenceNumber: String

        public init(data: [UInt8], partitionKey: String, sequenceNumber: String) {
            self.data = data
            self.partitionKey = partitionKey
            self.sequenceNumber = sequenceNumber
        }
    }

    /// One `GetRecords` page.
    public struct RecordsPage: Sendable, Equatable {
        public var records: [ReadRecord]
        /// The iterator for the next page; nil once a closed shard has been read to its end.
        public var nextShardIterator: String?
        /// How far this page is behind the tip of the shard (0: caught up).
        public var millisBehindLatest: Int?
    }

    /// `GetShardIterator` at `TRIM_HORIZON` (the oldest record the stream retains).
    public func trimHorizonIterator(stream: String, shardID: String) async throws(AWSRequestError) -> String {
        let body =
            "{\"StreamName\":\(EnvelopeWriter.jsonString(stream)),\"ShardId\":\(EnvelopeWriter.jsonString(shardID)),"
            + "\"ShardIteratorType\":\"TRIM_HORIZON\"}"
        let response = try await client.call("GetShardIterator", body: Array(body.utf8))
        struct Output: Decodable { var ShardIterator: String? }
        guard let iterator = try Self.decode(Output.self, from: response, operation: "GetShardIterator").ShardIterator else {
            throw AWSRequestError(
                code: "InvalidResponse", message: "GetShardIterator returned no iterator for \(shardID)", httpStatus: 200,
                kind: .fatal)
        }
        return iterator
    }

    /// `GetRecords`: up to `limit` records from `iterator`.
    public func getRecords(iterator: String, limit: Int = 10_000) async throws(AWSRequestError) -> RecordsPage {
        let body = "{\"ShardIterator\":\(EnvelopeWriter.jsonString(iterator)),\"Limit\":\(limit)}"
        let response = try await client.call("GetRecords", body: Array(body.utf8))
        struct Output: Decodable {
            struct Record: Decodable {
                var Data: String
                var PartitionKey: String
                var SequenceNumber: String
            }
            var Records: [Record]
            var NextShardIterator: String?
            var MillisBehindLatest: Int?
        }
        let output = try Self.decode(Output.self, from: response, operation: "GetRecords")
        var records: [ReadRecord] = []
        records.reserveCapacity(output.Records.count)
        for record in output.Records {
            guard let data = Data(base64Encoded: record.Data) else {
                throw AWSRequestError(
                    code: "InvalidResponse", message: "GetRecords returned record \(record.SequenceNumber) with invalid base64 data",
                    httpStatus: 200, kind: .fatal)
            }
            records.append(ReadRecord(data: Array(data), partitionKey: record.PartitionKey, sequenceNumber: record.SequenceNumber))
        }
        return RecordsPage(
            records: records, nextShardIterator: output.NextShardIterator, millisBehindLatest: output.MillisBehindLatest)
    }

    // MARK: Encoding

    /// The `PutRecords` request body, written directly into one buffer: `Data` is base64 of the entry's bytes,
    /// encoded in place (no intermediate array), the strings JSON-escaped.
    static func encodePutRecords(stream: String, entries: [PutEntry], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let streamName = EnvelopeWriter.jsonString(stream)
        var capacity = 32 + streamName.utf8.count
        for entry in entries {
            capacity += Base64.encodedCount(entry.data.count) + entry.partitionKey.utf8.count * 2 + 64
            capacity += entry.explicitHashKey?.utf8.count ?? 0
        }
        var out = allocator.buffer(capacity: capacity)
        out.writeString("{\"StreamName\":")
        out.writeString(streamName)
        out.writeString(",\"Records\":[")
        for (index, entry) in entries.enumerated() {
            if index > 0 { out.writeInteger(UInt8(ascii: ",")) }
            out.writeString("{\"Data\":\"")
            Base64.encode(entry.data, into: &out)
            out.writeString("\",\"PartitionKey\":")
            out.writeString(EnvelopeWriter.jsonString(entry.partitionKey))
            if let hashKey = entry.explicitHashKey {
                out.writeString(",\"ExplicitHashKey\":")
                out.writeString(EnvelopeWriter.jsonString(hashKey))
            }
            out.writeInteger(UInt8(ascii: "}"))
        }
        out.writeString("]}")
        return out
    }

    // MARK: Decoding

    private struct PutRecordsOutput: Decodable {
        struct Entry: Decodable {
            var SequenceNumber: String?
            var ShardId: String?
            var ErrorCode: String?
            var ErrorMessage: String?
        }
        var FailedRecordCount: Int?
        var Records: [Entry]
    }

    private struct ListShardsOutput: Decodable {
        struct Shard: Decodable {
            struct Range: Decodable {
                var StartingHashKey: String
                var EndingHashKey: String
            }
            struct Sequences: Decodable {
                var EndingSequenceNumber: String?
            }
            var ShardId: String
            var HashKeyRange: Range
            var SequenceNumberRange: Sequences?
        }
        var Shards: [Shard]?
        var NextToken: String?
    }

    static func decodePutRecords(_ buffer: ByteBuffer, expected: Int) throws(AWSRequestError) -> [PutResult] {
        let output = try decode(PutRecordsOutput.self, from: buffer, operation: "PutRecords")
        guard output.Records.count == expected else {
            throw AWSRequestError(
                code: "InvalidResponse",
                message: "PutRecords answered \(output.Records.count) results for \(expected) records",
                httpStatus: 200, kind: .retriable)
        }
        return output.Records.map { entry in
            if let shardID = entry.ShardId, let sequenceNumber = entry.SequenceNumber, entry.ErrorCode == nil {
                return .stored(shardID: shardID, sequenceNumber: sequenceNumber)
            }
            return .failed(KinesisError(code: KinesisError.Code(parsing: entry.ErrorCode ?? "UnknownError"), message: entry.ErrorMessage ?? ""))
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, operation: String) throws(AWSRequestError) -> T {
        do {
            return try JSONDecoder().decode(type, from: buffer)
        } catch {
            throw AWSRequestError(
                code: "InvalidResponse", message: "\(operation) returned a body that is not its JSON output: \(error)",
                httpStatus: 200, kind: .retriable)
        }
    }
}
