public import AWSJSONClient
import Foundation
import GatewayCore
import KinesisAggregation
import NIOCore
import NIOFoundationCompat

/// The two Kinesis Data Streams operations the producer uses, over the JSON 1.1 protocol.
public struct KinesisAPI: Sendable {
    /// The JSON client (endpoint, signing, error classification).
    public let client: AWSJSONClient

    public init(client: AWSJSONClient) {
        self.client = client
    }

    /// One record of a `PutRecords` call.
    public struct PutEntry: Sendable, Equatable {
        public var data: [UInt8]
        public var partitionKey: String
        public var explicitHashKey: String?

        public init(data: [UInt8], partitionKey: String, explicitHashKey: String?) {
            self.data = data
            self.partitionKey = partitionKey
            self.explicitHashKey = explicitHashKey
        }

        /// What the entry counts against the request's size limit: data plus partition key.
        public var billedBytes: Int { data.count + partitionKey.utf8.count }
    }

    /// What Kinesis said about one record of a `PutRecords` call.
    public enum PutResult: Sendable, Equatable {
        case stored(shardID: String, sequenceNumber: String)
        case failed(code: String, message: String)
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
    public func putRecords(stream: String, entries: [PutEntry]) async throws(AWSRequestError) -> [PutResult] {
        let body = Self.encodePutRecords(stream: stream, entries: entries)
        let response = try await client.call("PutRecords", body: body)
        return try Self.decodePutRecords(response, expected: entries.count)
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

    // MARK: Encoding

    /// The `PutRecords` request body, written directly: `Data` is base64.
    static func encodePutRecords(stream: String, entries: [PutEntry]) -> [UInt8] {
        var capacity = 64 + stream.utf8.count
        for entry in entries { capacity += (entry.data.count + 2) / 3 * 4 + entry.partitionKey.utf8.count + 96 }
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        out.append(contentsOf: "{\"StreamName\":".utf8)
        out.append(contentsOf: EnvelopeWriter.jsonString(stream).utf8)
        out.append(contentsOf: ",\"Records\":[".utf8)
        for (index, entry) in entries.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "{\"Data\":\"".utf8)
            Base64.encode(entry.data, into: &out)
            out.append(contentsOf: "\",\"PartitionKey\":".utf8)
            out.append(contentsOf: EnvelopeWriter.jsonString(entry.partitionKey).utf8)
            if let hashKey = entry.explicitHashKey {
                out.append(contentsOf: ",\"ExplicitHashKey\":\"".utf8)
                out.append(contentsOf: hashKey.utf8)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
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
            return .failed(code: entry.ErrorCode ?? "UnknownError", message: entry.ErrorMessage ?? "")
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

/// Standard base64 (RFC 4648, with padding), written straight into a byte array.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { input in
            alphabet.withUnsafeBufferPointer { table in
                var index = 0
                let count = input.count
                while index + 3 <= count {
                    let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                    out.append(table[Int(value >> 18 & 63)])
                    out.append(table[Int(value >> 12 & 63)])
                    out.append(table[Int(value >> 6 & 63)])
                    out.append(table[Int(value & 63)])
                    index += 3
                }
                let rest = count - index
                if rest == 1 {
                    let value = UInt32(input[index]) << 16
                    out.append(table[Int(value >> 18 & 63)])
                    out.append(table[Int(value >> 12 & 63)])
                    out.append(contentsOf: "==".utf8)
                } else if rest == 2 {
                    let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
                    out.append(table[Int(value >> 18 & 63)])
                    out.append(table[Int(value >> 12 & 63)])
                    out.append(table[Int(value >> 6 & 63)])
                    out.append(contentsOf: "=".utf8)
                }
            }
        }
    }
}
