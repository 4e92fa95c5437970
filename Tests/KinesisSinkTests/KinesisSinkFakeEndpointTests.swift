import AWSCredentials
import AWSJSONClient
import AWSSigV4
import AsyncHTTPClient
import Foundation
import GatewayCore
import GatewayTesting
import KinesisAPI
import KinesisAggregation
import KinesisSink
import Logging
import Synchronization
import Testing

/// Collects what the sink reports, and lets a test wait for a condition on it.
final class RecordingReporter: Sendable {
    struct Seen {
        var accepted: [UInt64: (receipt: Receipt, attempts: Int)] = [:]
        var acceptedCount = 0
        var released: [UInt64] = []
        var rejected: [UInt64: DeliveryFailure] = [:]
    }

    let seen = Mutex(Seen())
    private let (changes, change) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

    var reporter: SinkReporter {
        SinkReporter(
            .init(
                accepted: { record, receipt, attempts in
                    self.seen.withLock {
                        $0.accepted[record.sequence] = (receipt, attempts)
                        $0.acceptedCount += 1
                    }
                    self.change.yield()
                },
                released: { sequences in
                    self.seen.withLock { $0.released += sequences }
                    self.change.yield()
                },
                rejected: { record, failure in
                    self.seen.withLock { $0.rejected[record.sequence] = failure }
                    self.change.yield()
                },
                lostUnreleased: { _ in }
            )
        )
    }

    /// Waits until `condition` holds (the suite's time limit bounds it).
    func wait(until condition: (Seen) -> Bool) async {
        if seen.withLock({ condition($0) }) { return }
        for await _ in changes where seen.withLock({ condition($0) }) { return }
    }
}

/// A Kinesis sink against a fake Kinesis endpoint, running until the test ends.
struct SinkHarness {
    let sink: KinesisSink
    let fake: FakeKinesis
    let reporter = RecordingReporter()

    static func with(
        _ fake: FakeKinesis, configure: (inout KinesisSink.Configuration) -> Void = { _ in }, clock: ElapsedClock = ElapsedClock(),
        _ body: (SinkHarness) async throws -> Void
    ) async throws {
        let (url, server) = try await fake.start()
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        var configuration = KinesisSink.Configuration()
        configuration.minBackoff = .milliseconds(5)
        configuration.maxBackoff = .milliseconds(50)
        configure(&configuration)
        let client = AWSJSONClient(
            httpClient: httpClient,
            endpoint: .init(url: url, region: "us-east-1", service: "kinesis", targetPrefix: "Kinesis_20131202"),
            credentials: StaticCredentialProvider(AWSCredential(accessKeyID: "AKIDTEST", secretAccessKey: "secret"))
        )
        let sink = KinesisSink(configuration: configuration, api: KinesisAPI(client: client), logger: Logger(label: "test"), clock: clock)
        let running = Task { try await sink.run() }
        // Teardown order: the sink, then the client (its connections closed and awaited), then the server, shut
        // down gracefully (see FakeKinesis.Running.stop()).
        do {
            try await body(SinkHarness(sink: sink, fake: fake))
        } catch {
            running.cancel()
            _ = try? await running.value
            try? await httpClient.shutdown()
            await server.stop()
            throw error
        }
        running.cancel()
        _ = try? await running.value
        try await httpClient.shutdown()
        await server.stop()
    }

    static func records(_ range: Range<Int>, stream: String = "clicks", size: Int = 100, key: (Int) -> String = { "user-\($0)" }) -> [SinkRecord] {
        range.map { index in
            let payload = "{\"n\":\(index),\"pad\":\"\(String(repeating: "x", count: size))\"}"
            let record = EventRecord(
                eventID: "event-\(index)", team: "web", app: "clicks", partitionKey: key(index), receivedAtMillis: 1,
                route: .kinesis(stream: stream), envelope: Array(payload.utf8)
            )
            return SinkRecord(position: LogPosition(sequence: UInt64(index), segment: 0, offset: 0), event: record)
        }
    }

    /// Every user record stored by the fake, deaggregated, by payload.
    func storedUserRecords() throws -> [(shardID: String, sequenceNumber: String, subSequence: Int?, record: UserRecord)] {
        var out: [(String, String, Int?, UserRecord)] = []
        for stored in fake.stored {
            if RecordDeaggregator.isAggregated(stored.data) {
                for (index, user) in try RecordDeaggregator.deaggregate(stored.data, partitionKey: stored.partitionKey).enumerated() {
                    out.append((stored.shardID, stored.sequenceNumber, index, user))
                }
            } else {
                out.append((stored.shardID, stored.sequenceNumber, nil, UserRecord(partitionKey: stored.partitionKey, data: stored.data)))
            }
        }
        return out
    }
}

@Suite("Kinesis sink against an in-process Kinesis endpoint", .timeLimit(.minutes(2)))
struct KinesisSinkFakeEndpointTests {
    @Test("every record is stored once, aggregated on its own shard, and its receipt names where")
    func storesEverything() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(4))
        try await SinkHarness.with(fake) { harness in
            let records = SinkHarness.records(0..<2000)
            await harness.sink.write(Array(records[0..<1000]), reporter: harness.reporter.reporter)
            await harness.sink.write(Array(records[1000...]), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 2000 }
            let seen = harness.reporter.seen.withLock { $0 }
            #expect(seen.acceptedCount == 2000)
            #expect(Set(seen.released) == Set(0..<2000))
            #expect(seen.rejected.isEmpty)
            let stored = try harness.storedUserRecords()
            #expect(stored.count == 2000)
            // Fewer Kinesis records than user records: aggregation happened.
            #expect(fake.stored.count < 2000)
            let map = ShardMap(shards: ShardMapTests.evenShards(4))
            for (shardID, sequenceNumber, subSequence, user) in stored {
                #expect(map.shard(forPartitionKey: user.partitionKey)?.id == shardID)
                let index = Int(user.partitionKey.dropFirst("user-".count)) ?? -1
                #expect(user.data == Array(records[index].event.envelope))
                guard let receipt = seen.accepted[UInt64(index)]?.receipt, receipt.key == "kinesis" else {
                    Issue.record("no Kinesis receipt for record \(index)")
                    continue
                }
                let stream = receipt.string("stream")
                let receiptShard = receipt.string("shard_id")
                let receiptSequence = receipt.string("sequence_number")
                let receiptSub = receipt.integer("sub_sequence_number").map { Int($0) }
                #expect(stream == "clicks")
                #expect(receiptShard == shardID)
                #expect(receiptSequence == sequenceNumber)
                #expect(receiptSub == subSequence)
            }
            #expect(harness.sink.outstandingRecords == 0)
        }
    }

    @Test("throttled and failed records are retried until stored; the receipt counts the attempts")
    func partialFailures() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(2)) { key, seenBefore in
            guard let number = Int(key.dropFirst("user-".count)) else { return nil }
            if number % 3 == 0, seenBefore == 0 { return "ProvisionedThroughputExceededException" }
            if number % 5 == 0, seenBefore < 2 { return "InternalFailure" }
            return nil
        }
        try await SinkHarness.with(fake, configure: { $0.aggregation = false }) { harness in
            await harness.sink.write(SinkHarness.records(0..<300), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 300 }
            let seen = harness.reporter.seen.withLock { $0 }
            #expect(seen.rejected.isEmpty)
            #expect(fake.stored.count == 300)
            #expect(Set(fake.stored.map(\.partitionKey)).count == 300)
            #expect(seen.accepted[1]?.attempts == 1)
            #expect(seen.accepted[3]?.attempts == 2)
            #expect(seen.accepted[5]?.attempts == 3)
            #expect(seen.accepted[15]?.attempts == 3)
        }
    }

    @Test("a record never stored fails after record_ttl_ms with every attempt's error")
    func expiry() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(1)) { key, _ in key == "user-1" ? "InternalFailure" : nil }
        try await SinkHarness.with(
            fake,
            configure: {
                $0.recordTTL = .seconds(3)
                $0.aggregation = false
            }
        ) { harness in
            // A first record that succeeds: the shard map is known before the clock of the failing one starts.
            await harness.sink.write(SinkHarness.records(0..<1), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count == 1 }
            await harness.sink.write(SinkHarness.records(1..<3), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.rejected.count + $0.released.count == 3 }
            #expect(harness.reporter.seen.withLock { Set($0.released) } == [0, 2])
            let failure = try #require(harness.reporter.seen.withLock { $0.rejected[1] })
            #expect(failure.code == "ttl_expired")
            #expect(failure.attempts.count >= 1)
            #expect(failure.attempts.allSatisfy { $0.errorCode == "InternalFailure" && $0.errorMessage?.contains("user-1") == true })
            #expect(failure.message.contains("InternalFailure"))
            #expect(harness.sink.outstandingRecords == 0)
        }
    }

    @Test("fail_if_throttled fails a throttled record at once")
    func failIfThrottled() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(1)) { key, _ in key == "user-0" ? "ProvisionedThroughputExceededException" : nil }
        try await SinkHarness.with(
            fake,
            configure: {
                $0.failIfThrottled = true
                $0.aggregation = false
            }
        ) { harness in
            await harness.sink.write(SinkHarness.records(0..<2), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.rejected.count + $0.released.count == 2 }
            let failure = try #require(harness.reporter.seen.withLock { $0.rejected[0] })
            #expect(failure.code == "ProvisionedThroughputExceededException")
            #expect(failure.attempts.count == 1)
        }
    }

    @Test("a record stored on an unexpected shard makes the sink read the shard map again")
    func shardMapRefresh() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(1))
        // The stream was split: records land on two new shards the sink's map does not know yet.
        fake.state.withLock {
            $0.storageShards = ShardMapTests.evenShards(2).map {
                var shard = $0
                shard.id = "child-" + shard.id
                return shard
            }
        }
        try await SinkHarness.with(fake) { harness in
            await harness.sink.write(SinkHarness.records(0..<50), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 50 }
            #expect(fake.state.withLock { $0.listShardsCalls } == 1)
            fake.state.withLock {
                $0.shards = $0.storageShards ?? []
                $0.shards.append(KinesisAPI.Shard(id: "shardId-000000000000", startingHashKey: 0, endingHashKey: .max, isOpen: false))
            }
            await harness.sink.write(SinkHarness.records(50..<100), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 100 }
            // The unexpected shards in the answers ask for a refresh, made within about a second.
            for await calls in fake.listShardsCalls where calls >= 2 { break }
            await harness.sink.write(SinkHarness.records(100..<200), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 200 }
            let receipts = harness.reporter.seen.withLock { $0.accepted }
            for index in 100..<200 {
                guard let shardID = receipts[UInt64(index)]?.receipt.string("shard_id") else { continue }
                #expect(shardID.hasPrefix("child-"))
            }
            #expect(fake.state.withLock { $0.listShardsCalls } >= 2)
        }
    }

    @Test("max_outstanding_records: the sink says it is saturated and write waits for room")
    func backpressure() async throws {
        /// Where the second `submit` is: not yet called, inside the call, or returned.
        enum Progress: Equatable { case notStarted, inSubmit, returned }

        let fake = FakeKinesis(shards: ShardMapTests.evenShards(1))
        fake.hold()
        try await SinkHarness.with(fake, configure: { $0.maxOutstandingRecords = 10 }) { harness in
            let reporter = harness.reporter.reporter
            await harness.sink.write(SinkHarness.records(0..<10), reporter: reporter)
            // Full: the fake holds every PutRecords answer, so none of the ten can leave before release().
            #expect(harness.sink.isSaturated)
            #expect(harness.sink.outstandingRecords == 10)

            let progress = Mutex(Progress.notStarted)
            let second = Task {
                progress.withLock { $0 = .inSubmit }
                await harness.sink.write(SinkHarness.records(10..<15), reporter: reporter)
                progress.withLock { $0 = .returned }
            }
            let clock = ContinuousClock()
            // The child task has called submit (bounded by a generous deadline on a loaded machine).
            var deadline = clock.now + .seconds(30)
            while progress.withLock({ $0 }) == .notStarted, clock.now < deadline { await Task.yield() }
            #expect(progress.withLock { $0 } == .inSubmit)
            // A submit that does not wait takes microseconds to return; this one must still be inside after many
            // scheduler turns over 300 ms, with none of its records taken.
            deadline = clock.now + .milliseconds(300)
            while progress.withLock({ $0 }) == .inSubmit, clock.now < deadline { await Task.yield() }
            #expect(progress.withLock { $0 } == .inSubmit, "write returned while the sink held max_outstanding_records")
            #expect(harness.sink.outstandingRecords == 10, "the waiting submit must not add its records")

            // Room again: the held answers come back, the ten are released, and the waiting submit completes.
            fake.release()
            await second.value
            #expect(progress.withLock { $0 } == .returned)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 15 }
            #expect(harness.reporter.seen.withLock { $0.released.count } == 15)
            #expect(!harness.sink.isSaturated)
        }
    }

    @Test("records that expire while they wait for a shard free their capacity: a waiting submit goes on")
    func expiryWakesWaitingSubmit() async throws {
        /// Where the second `submit` is.
        enum Progress: Equatable { case notStarted, inSubmit, returned }
        // No shard to map any record to (as while the stream is unreachable): records wait unmapped until their TTL.
        let fake = FakeKinesis(shards: [])
        try await SinkHarness.with(
            fake,
            configure: {
                $0.maxOutstandingRecords = 3
                $0.recordTTL = .milliseconds(500)
            }
        ) { harness in
            let reporter = harness.reporter.reporter
            await harness.sink.write(SinkHarness.records(0..<3), reporter: reporter)
            #expect(harness.sink.outstandingRecords == 3)
            let progress = Mutex(Progress.notStarted)
            let second = Task {
                progress.withLock { $0 = .inSubmit }
                await harness.sink.write(SinkHarness.records(3..<5), reporter: reporter)
                progress.withLock { $0 = .returned }
            }
            // The first three expire after 500 ms; once they do, the waiting submit must return (it used to wait for
            // a wake-up that only a PutRecords answer gave, so a backend outage longer than the TTL wedged the sink).
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            while progress.withLock({ $0 }) != .returned, clock.now < deadline { await Task.yield() }
            #expect(progress.withLock { $0 } == .returned, "submit still waits after the held records expired")
            if progress.withLock({ $0 }) == .returned {
                await second.value
                await harness.reporter.wait { $0.rejected.count == 5 }
                #expect(harness.reporter.seen.withLock { $0.rejected.values.allSatisfy { $0.code == "ttl_expired" } })
            }
        }
    }

    @Test("record_ttl_ms runs on the injected clock: records past it on a manual clock are rejected, none before")
    func ttlOnInjectedClock() async throws {
        // No shard to map any record to: records wait unmapped until their TTL, which only the manual clock can reach
        // within this suite's time limit.
        let fake = FakeKinesis(shards: [])
        let manual = ManualClock()
        try await SinkHarness.with(fake, configure: { $0.recordTTL = .seconds(600) }, clock: ElapsedClock(manual)) { harness in
            await harness.sink.write(SinkHarness.records(0..<3), reporter: harness.reporter.reporter)
            // The ticker is parked on the manual clock: nothing has expired, nothing moves until the clock does.
            await manual.waitForSleepers(1)
            #expect(harness.reporter.seen.withLock { $0.rejected.isEmpty })
            #expect(harness.sink.outstandingRecords == 3)
            manual.advance(by: .seconds(601))
            await harness.reporter.wait { $0.rejected.count == 3 }
            #expect(harness.reporter.seen.withLock { $0.rejected.values.allSatisfy { $0.code == "ttl_expired" } })
            #expect(harness.sink.outstandingRecords == 0)
        }
    }

    @Test("max_outstanding_mb: submit waits once the held records reach the byte bound, without refusing at the edge")
    func byteBound() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(1))
        fake.hold()
        // Records of about 1,020 bytes: three reach a 3,000-byte bound long before the record count.
        try await SinkHarness.with(fake, configure: { $0.maxOutstandingBytes = 3_000 }) { harness in
            await harness.sink.write(SinkHarness.records(0..<3, size: 1_000), reporter: harness.reporter.reporter)
            let second = Task {
                await harness.sink.write(SinkHarness.records(3..<6, size: 1_000), reporter: harness.reporter.reporter)
            }
            #expect(harness.sink.outstandingRecords == 3)
            #expect(!harness.sink.isSaturated, "the byte bound leaves the log to absorb the backlog, no 503")
            fake.release()
            await second.value
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 6 }
            #expect(harness.reporter.seen.withLock { $0.released.count } == 6)
        }
    }

    @Test("flush sends what is buffered at once and returns when nothing is outstanding")
    func flush() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(2))
        try await SinkHarness.with(
            fake,
            configure: {
                $0.maxBufferedTime = .seconds(60)
                $0.flushWhenIdle = false
            }
        ) { harness in
            await harness.sink.write(SinkHarness.records(0..<20), reporter: harness.reporter.reporter)
            await harness.sink.flush(timeout: .seconds(30))
            #expect(harness.sink.outstandingRecords == 0)
            #expect(harness.reporter.seen.withLock { $0.released.count } == 20)
        }
    }

    @Test("flush_when_idle: with no call in flight a record goes at once, not after record_max_buffered_time_ms")
    func flushWhenIdle() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(2))
        try await SinkHarness.with(fake, configure: { $0.maxBufferedTime = .seconds(3600) }) { harness in
            await harness.sink.write(SinkHarness.records(0..<3), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count == 3 }
            #expect(fake.stored.count >= 1)
        }
    }

    @Test("a PutRecords call never carries more than collection_max_count records or collection_max_size bytes")
    func collectionLimits() async throws {
        let fake = FakeKinesis(shards: ShardMapTests.evenShards(4))
        try await SinkHarness.with(
            fake,
            configure: {
                $0.aggregation = false
                $0.collectionMaxCount = 10
                $0.collectionMaxSize = 2_000
            }
        ) { harness in
            // Records of about 300 bytes: the size limit (2,000) binds before the count (10).
            await harness.sink.write(SinkHarness.records(0..<200, size: 200), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 200 }
            let calls = fake.state.withLock { $0.calls }
            #expect(calls.reduce(0) { $0 + $1.records } == 200)
            #expect(calls.allSatisfy { $0.records <= 10 && $0.bytes <= 2_000 })
            #expect(calls.contains { $0.records > 1 })
        }
        let byCount = FakeKinesis(shards: ShardMapTests.evenShards(4))
        try await SinkHarness.with(
            byCount,
            configure: {
                $0.aggregation = false
                $0.collectionMaxCount = 7
                $0.flushWhenIdle = false
            }
        ) { harness in
            await harness.sink.write(SinkHarness.records(0..<100, size: 20), reporter: harness.reporter.reporter)
            await harness.reporter.wait { $0.released.count + $0.rejected.count == 100 }
            let calls = byCount.state.withLock { $0.calls }
            #expect(calls.allSatisfy { $0.records <= 7 })
            #expect(calls.filter { $0.records == 7 }.count >= 14)
        }
    }
}
