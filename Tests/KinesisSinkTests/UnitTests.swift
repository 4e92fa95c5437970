import AWSJSONClient
import Foundation
import GatewayCore
import KinesisAggregation
import NIOCore
import Testing

@testable import KinesisAPI
@testable import KinesisSink

@Suite("Shard map")
struct ShardMapTests {
    static func evenShards(_ count: Int, open: Bool = true) -> [KinesisAPI.Shard] {
        let step = UInt128.max / UInt128(count)
        return (0..<count).map { index in
            let start = step * UInt128(index)
            let end = index == count - 1 ? UInt128.max : step * UInt128(index + 1) - 1
            return KinesisAPI.Shard(
                id: "shardId-\(String(repeating: "0", count: 11))\(index)", startingHashKey: start, endingHashKey: end, isOpen: open)
        }
    }

    @Test("every hash key lands on the shard whose range holds it")
    func lookup() {
        let map = ShardMap(shards: Self.evenShards(4).reversed())
        #expect(map.shards.map(\.id) == Self.evenShards(4).map(\.id))
        for key in ["a", "b", "user-17", "é", ""] + (0..<200).map({ "key-\($0)" }) {
            let hash = ShardHashing.hashKey(key)
            let shard = map.shard(forPartitionKey: key)
            #expect(shard.map { $0.startingHashKey <= hash && hash <= $0.endingHashKey } == true)
        }
        #expect(map.shard(for: 0)?.id == map.shards[0].id)
        #expect(map.shard(for: .max)?.id == map.shards[3].id)
    }

    @Test("closed shards (split parents) are left out")
    func closedShards() {
        var shards = Self.evenShards(2)
        shards.append(KinesisAPI.Shard(id: "parent", startingHashKey: 0, endingHashKey: .max, isOpen: false))
        let map = ShardMap(shards: shards)
        #expect(map.shards.count == 2)
        #expect(!map.shards.contains { $0.id == "parent" })
    }

    @Test("a map with a hole answers nil for keys in it")
    func hole() {
        let map = ShardMap(shards: [KinesisAPI.Shard(id: "low", startingHashKey: 0, endingHashKey: 100, isOpen: true)])
        #expect(map.shard(for: 50)?.id == "low")
        #expect(map.shard(for: 101) == nil)
    }
}

@Suite("Token buckets")
struct TokenBucketTests {
    @Test("a bucket refills at its rate and never beyond one second's worth")
    func refill() {
        let start = ElapsedClock.Instant(offset: .zero)
        var bucket = TokenBucket(rate: 1000, now: start)
        let first = bucket.take(1000, at: start)
        let second = bucket.take(1, at: start)
        let refilled = bucket.take(100, at: start + .milliseconds(100))
        let empty = bucket.take(1, at: start + .milliseconds(100))
        let later = bucket.available(at: start + .seconds(10))
        #expect(first && !second && refilled && !empty)
        #expect(abs(later - 1000) < 0.001)
    }

    @Test("a shard's limits scale with rate_limit and need both records and bytes")
    func shardLimit() {
        let start = ElapsedClock.Instant(offset: .zero)
        var limit = ShardRateLimiter(percent: 150, now: start)
        #expect(limit.records.rate == 1500)
        #expect(limit.bytes.rate == 1_572_864)
        var taken = 0
        while limit.take(bytes: 10, at: start) { taken += 1 }
        #expect(taken == 1500)
        var bytesBound = ShardRateLimiter(percent: 100, now: start)
        var bigTaken = 0
        while bytesBound.take(bytes: 100_000, at: start) { bigTaken += 1 }
        #expect(bigTaken == 10) // 1 MiB/s of 100 KB records; the 11th waits
        let afterRefill = bytesBound.take(bytes: 100_000, at: start + .milliseconds(100))
        #expect(afterRefill)
    }
}

@Suite("Kinesis JSON")
struct KinesisJSONTests {
    @Test("base64 matches Foundation's for every length, appended after what the buffer holds")
    func base64() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var out = ByteBuffer(string: "{\"Data\":\"")
            Base64.encode(bytes[...], into: &out)
            #expect(String(buffer: out) == "{\"Data\":\"" + Data(bytes).base64EncodedString())
            #expect(out.readableBytes == 9 + Base64.encodedCount(length))
        }
        // A slice in the middle of a larger buffer (a log record's envelope) encodes only its own bytes.
        let record = Array("envelope-bytes|trailer".utf8)
        var out = ByteBuffer()
        Base64.encode(record[0..<14], into: &out)
        #expect(String(buffer: out) == Data("envelope-bytes".utf8).base64EncodedString())
    }

    @Test("a PutRecords body is the JSON the API expects")
    func putRecordsBody() throws {
        let entries = [
            KinesisAPI.PutEntry(data: Array("hello".utf8), partitionKey: "pk \"quoted\"\n", explicitHashKey: nil),
            KinesisAPI.PutEntry(data: [0, 255, 3], partitionKey: "é", explicitHashKey: "12345"),
        ]
        let body = KinesisAPI.encodePutRecords(stream: "clicks", entries: entries)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        #expect(object["StreamName"] as? String == "clicks")
        let records = try #require(object["Records"] as? [[String: Any]])
        #expect(records.count == 2)
        #expect(records[0]["PartitionKey"] as? String == "pk \"quoted\"\n")
        #expect(Data(base64Encoded: records[0]["Data"] as? String ?? "") == Data("hello".utf8))
        #expect(records[0]["ExplicitHashKey"] == nil)
        #expect(records[1]["ExplicitHashKey"] as? String == "12345")
        #expect(Data(base64Encoded: records[1]["Data"] as? String ?? "") == Data([0, 255, 3]))
    }

    @Test("PutRecords results are read per record, failures with their codes")
    func putRecordsResults() throws {
        let json = """
            {"FailedRecordCount":1,"Records":[{"SequenceNumber":"495","ShardId":"shardId-000000000001"},
            {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"}]}
            """
        let results = try KinesisAPI.decodePutRecords(ByteBuffer(string: json), expected: 2)
        #expect(
            results == [
                .stored(shardID: "shardId-000000000001", sequenceNumber: "495"),
                .failed(KinesisError(code: .provisionedThroughputExceeded, message: "Rate exceeded for shard")),
            ])
        #expect(throws: AWSRequestError.self) { try KinesisAPI.decodePutRecords(ByteBuffer(string: json), expected: 3) }
        guard case .failed(let error) = results[1] else {
            Issue.record("the second record should have failed")
            return
        }
        #expect(error.isThrottling)
        #expect(error.cause == nil)
        #expect(error.code.description == "ProvisionedThroughputExceededException")
    }
}

@Suite("AWS error classification")
struct AWSErrorTests {
    @Test("JSON errors: the code after '#', throttling and transient codes retried, the rest fatal")
    func json() {
        let throttled = AWSRequestError.parse(
            status: 400,
            body: ByteBuffer(string: #"{"__type":"com.amazonaws.kinesis#ProvisionedThroughputExceededException","message":"slow down"}"#))
        #expect(throttled.code == "ProvisionedThroughputExceededException")
        #expect(throttled.message == "slow down")
        #expect(throttled.kind == .throttling)
        let missing = AWSRequestError.parse(
            status: 400, body: ByteBuffer(string: #"{"__type":"ResourceNotFoundException","message":"Stream x not found"}"#))
        #expect(missing.kind == .fatal)
        let internalFailure = AWSRequestError.parse(status: 500, body: ByteBuffer(string: #"{"__type":"InternalFailure"}"#))
        #expect(internalFailure.kind == .retriable)
        #expect(internalFailure.message.contains("500"))
        #expect(AWSRequestError.parse(status: 503, body: ByteBuffer()).kind == .retriable)
        #expect(AWSRequestError.parse(status: 429, body: ByteBuffer()).kind == .throttling)
        #expect(AWSRequestError.classify(code: "ExpiredTokenException", httpStatus: 400) == .retriable)
        #expect(AWSRequestError.classify(code: "AccessDeniedException", httpStatus: 400) == .fatal)
    }

    @Test("XML errors (signature checks) are read too")
    func xml() {
        let error = AWSRequestError.parse(
            status: 403,
            body: ByteBuffer(
                string:
                    "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></ErrorResponse>"
            ))
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.kind == .fatal)
        #expect(error.httpStatus == 403)
    }
}
