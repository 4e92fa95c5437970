import CoreMetrics
import GatewayCore
import KinesisAPI
import Testing

@testable import KinesisSink

@Suite("Kinesis request builder")
struct KinesisRequestBuilderTests {
    static let now = ElapsedClock.Instant(offset: .seconds(1000))

    /// A user record of `size` envelope bytes, with partition key `key-<index>`.
    static func pending(_ index: Int, size: Int) -> PendingRecord {
        let event = EventRecord(
            eventID: "event-\(index)", team: "web", app: "clicks", partitionKey: "key-\(index)", receivedAtMillis: 1,
            route: .kinesis(stream: "clicks"), envelope: Array(repeating: UInt8(ascii: "x"), count: size)
        )
        let record = SinkRecord(position: LogPosition(sequence: UInt64(index), segment: 0, offset: 0), event: event)
        return PendingRecord(record: record, stream: "clicks", hashKey: 0, deadline: now + .seconds(30), arrival: now)
    }

    /// A stream whose shards `shard-0`… hold `counts[i]` ready plain records of `size` bytes each.
    static func stream(_ counts: [Int], size: Int, ratePercent: Int = 1_000_000) -> StreamState {
        let stream = StreamState(nextMapFetch: now, metrics: KinesisMetrics.Stream(stream: "clicks", factory: NOOPMetricsHandler.instance))
        var index = 0
        for (shard, count) in counts.enumerated() {
            let id = "shard-\(shard)"
            let buffer = ShardBuffer(
                aggregator: ShardAggregator(isEnabled: false, maxSize: 51_200),
                limiter: ShardRateLimiter(percent: ratePercent, now: now),
                metrics: KinesisMetrics.Shard(stream: "clicks", shard: id, factory: NOOPMetricsHandler.instance)
            )
            for _ in 0..<count {
                buffer.enqueue([OutgoingRecord(plain: pending(index, size: size), shardID: id)])
                index += 1
            }
            stream.shards[id] = buffer
        }
        return stream
    }

    /// Every batch the builder forms until the stream's queues are empty (or nothing more can be taken).
    static func batches(_ builder: KinesisRequestBuilder, from stream: StreamState) -> [KinesisRequestBuilder.Batch] {
        var batches: [KinesisRequestBuilder.Batch] = []
        while true {
            let batch = builder.makeBatch(from: stream, now: now)
            guard !batch.records.isEmpty else { return batches }
            batches.append(batch)
        }
    }

    @Test("a call carries at most 500 records (the API's limit)")
    func countLimit() {
        let builder = KinesisRequestBuilder(maxCount: 500, maxBytes: 5 * 1_048_576)
        let batches = Self.batches(builder, from: Self.stream([400, 400, 400], size: 10))
        #expect(batches.map(\.records.count) == [500, 500, 200])
        #expect(batches.map(\.isFull) == [true, true, false])
    }

    @Test("a call carries at most 5 MiB of data and partition keys (the API's limit)")
    func sizeLimit() {
        let limit = 5 * 1_048_576
        let builder = KinesisRequestBuilder(maxCount: 500, maxBytes: limit)
        // 100,000-byte envelopes: 52 fit in 5 MiB with their keys, the 53rd would not.
        let batches = Self.batches(builder, from: Self.stream([60, 60], size: 100_000))
        #expect(batches.reduce(0) { $0 + $1.records.count } == 120)
        #expect(batches.allSatisfy { $0.bytes <= limit })
        #expect(batches.allSatisfy { batch in batch.bytes == batch.records.reduce(0) { $0 + $1.billedBytes } })
        #expect(batches.first?.records.count == 52)
        #expect(batches.first?.isFull == true)
    }

    @Test("one record bigger than the size limit still travels, in a call of its own")
    func oversizedRecord() {
        let builder = KinesisRequestBuilder(maxCount: 500, maxBytes: 1_000)
        let batches = Self.batches(builder, from: Self.stream([3], size: 2_000))
        #expect(batches.map(\.records.count) == [1, 1, 1])
    }

    @Test("records are taken round robin across shards")
    func roundRobin() {
        let builder = KinesisRequestBuilder(maxCount: 10, maxBytes: 5 * 1_048_576)
        let batch = builder.makeBatch(from: Self.stream([20, 20], size: 10), now: Self.now)
        #expect(batch.records.count == 10)
        #expect(batch.records.filter { $0.shardID == "shard-0" }.count == 5)
        #expect(batch.records.filter { $0.shardID == "shard-1" }.count == 5)
    }

    @Test("a shard's rate limit holds its records back; the rest wait in its queue")
    func rateLimit() {
        let builder = KinesisRequestBuilder(maxCount: 500, maxBytes: 5 * 1_048_576)
        // 100% of a shard: 1,000 records per second.
        let stream = Self.stream([1_200], size: 10, ratePercent: 100)
        let batches = Self.batches(builder, from: stream)
        #expect(batches.map(\.records.count) == [500, 500])
        #expect(stream.shards["shard-0"]?.ready.count == 200)
    }

    @Test("a call is due when full by count or bytes, when its oldest record aged, or on flush")
    func isDue() {
        let builder = KinesisRequestBuilder(maxCount: 500, maxBytes: 1_000)
        let now = Self.now
        let fresh = now - .milliseconds(10)
        let aged = now - .milliseconds(200)
        func due(_ count: Int, _ bytes: Int, _ oldest: ElapsedClock.Instant?, flushing: Bool = false) -> Bool {
            builder.isDue(count: count, bytes: bytes, oldest: oldest, maxBufferedTime: .milliseconds(100), isFlushing: flushing, now: now)
        }
        #expect(!due(0, 0, nil, flushing: true))
        #expect(!due(10, 100, fresh))
        #expect(due(500, 100, fresh))
        #expect(due(10, 1_000, fresh))
        #expect(due(10, 100, aged))
        #expect(due(10, 100, fresh, flushing: true))
    }
}
