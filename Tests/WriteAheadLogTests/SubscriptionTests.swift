import Foundation
import Testing

@testable import WriteAheadLog

/// `makeEntry(i)` received `millis` (milliseconds since the Unix epoch).
private func entry(_ i: Int, receivedAt millis: Int64, bodySize: Int = 32) -> LogEntry {
    var e = makeEntry(i, bodySize: bodySize)
    e.receivedAtMillis = millis
    return e
}

/// Now, in milliseconds since the Unix epoch.
private func nowMillis() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1000)
}

/// A configuration with sink cursor "a" and subscription cursor "sub-s" kept for an hour.
private func subscriptionConfiguration(
    _ dir: String, segmentSize: Int = 600, maxDisk: Int = 1 << 30, retention: Duration = .seconds(3600)
) -> WALConfiguration {
    var c = testConfiguration(dir, cursors: ["a"], segmentSize: segmentSize, maxDisk: maxDisk)
    c.subscriptionCursorNames = ["sub-s"]
    c.subscriptionRetention = retention
    return c
}

@Suite("Subscription cursors and their retention")
struct SubscriptionTests {
    @Test func subscriptionCursorIsPersistedAcrossReopen() async throws {
        try await withTemporaryDirectory { dir in
            let config = subscriptionConfiguration(dir)
            let log = try WriteAheadLog.open(config)
            #expect(!log.hasCursorPosition("sub-s"))
            #expect(!log.hasCursorPosition("a"))
            #expect(!log.hasCursorPosition("unknown"))
            let entries = (0..<10).map { makeEntry($0) }
            _ = try await log.append(entries)
            let delivered = try await read(try log.makeReader(cursor: "sub-s"), count: 10)
            expectMatches(delivered, entries, firstSequence: 0)
            log.commit(cursor: "sub-s", next: 6)
            #expect(log.hasCursorPosition("sub-s"))
            #expect(!log.hasCursorPosition("a"))
            // Subscription cursors are reported apart from the sink cursors.
            #expect(log.stats.cursors == ["a": 0])
            #expect(log.stats.subscriptionCursors == ["sub-s": 6])
            #expect(log.stats.oldestUnacknowledgedMillis.keys.sorted() == ["a"])
            await log.close()
            #expect(try fileBytes(dir + "/cursor-sub-s").count == 16)

            let reopened = try WriteAheadLog.open(config)
            #expect(reopened.hasCursorPosition("sub-s"))
            #expect(reopened.stats.subscriptionCursors == ["sub-s": 6])
            let again = try await read(try reopened.makeReader(cursor: "sub-s"), count: 4)
            expectMatches(again, Array(entries[6...]), firstSequence: 6)
            await reopened.close()
        }
    }

    @Test func rewoundSubscriptionCursorIsPersistedAndSinkCursorsDoNotMoveBack() async throws {
        try await withTemporaryDirectory { dir in
            let config = subscriptionConfiguration(dir)
            let log = try WriteAheadLog.open(config)
            _ = try await log.append((0..<10).map { makeEntry($0) })
            log.commit(cursor: "sub-s", next: 9)
            log.commit(cursor: "a", next: 9)
            try await log.checkpoint()
            log.rewind(cursor: "sub-s", to: 2)
            log.rewind(cursor: "a", to: 2)
            #expect(log.stats.subscriptionCursors == ["sub-s": 2])
            #expect(log.stats.cursors == ["a": 9])
            await log.close()
            let reopened = try WriteAheadLog.open(config)
            #expect(reopened.stats.subscriptionCursors == ["sub-s": 2])
            await reopened.close()
        }
    }

    @Test func positionCommittedAtTheStartIsPersistedToo() async throws {
        try await withTemporaryDirectory { dir in
            let config = subscriptionConfiguration(dir)
            let log = try WriteAheadLog.open(config)
            // A new subscription pins its start at the oldest record: the value the cursor already has.
            log.commit(cursor: "sub-s", next: 0)
            #expect(log.hasCursorPosition("sub-s"))
            await log.close()
            let reopened = try WriteAheadLog.open(config)
            #expect(reopened.hasCursorPosition("sub-s"))
            #expect(!reopened.hasCursorPosition("a"))
            await reopened.close()
        }
    }

    @Test func subscriptionCursorNamesAreValidated() async throws {
        try await withTemporaryDirectory { dir in
            var clash = testConfiguration(dir, cursors: ["a"])
            clash.subscriptionCursorNames = ["a"]
            #expect(throws: WALError.self) { try WriteAheadLog.open(clash) }
            var invalid = testConfiguration(dir, cursors: ["a"])
            invalid.subscriptionCursorNames = ["sub/s"]
            #expect(throws: WALError.self) { try WriteAheadLog.open(invalid) }
            var negative = subscriptionConfiguration(dir)
            negative.subscriptionRetention = .seconds(-1)
            #expect(throws: WALError.self) { try WriteAheadLog.open(negative) }
        }
    }

    @Test func recentSegmentsEverySinkPassedAreKeptForSubscriptions() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(subscriptionConfiguration(dir))
            let now = nowMillis()
            let entries = (0..<40).map { entry($0, receivedAt: now) }
            _ = try await log.append(entries)
            #expect(log.stats.segmentCount >= 4)
            log.commit(cursor: "a", next: 40)
            try await log.checkpoint()
            // The sink is done with everything, but the records are younger than the retention: all stay.
            #expect(log.stats.firstSequence == 0)
            let delivered = try await read(try log.makeReader(cursor: "sub-s"), count: 40)
            expectMatches(delivered, entries, firstSequence: 0)
            await log.close()
        }
    }

    @Test func laggingSubscriptionDoesNotHoldSegmentsOlderThanRetention() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(subscriptionConfiguration(dir))
            let threeHoursAgo = nowMillis() - 3 * 3_600_000
            _ = try await log.append((0..<40).map { entry($0, receivedAt: threeHoursAgo) })
            let segments = try segmentFiles(dir).compactMap { LogCore.segmentBase(fileName: $0) }
            #expect(segments.count >= 4)
            log.commit(cursor: "sub-s", next: 2)
            let early = try log.makeReader(cursor: "sub-s")
            #expect(early.position == 2)
            log.commit(cursor: "a", next: 40)
            try await log.checkpoint()
            // Every sink passed them and they are older than the retention: only the active segment is left.
            let stats = log.stats
            #expect(stats.segmentCount == 1)
            #expect(stats.firstSequence == segments.last)
            #expect(try segmentFiles(dir).count == 1)
            // The subscription cursor keeps its position; the gap is visible against `firstSequence`.
            #expect(stats.subscriptionCursors == ["sub-s": 2])
            // A reader made before and one made after the deletion both continue at the oldest retained record
            // (the active segment may be empty: one more record).
            _ = try await log.append(entry(40, receivedAt: nowMillis()))
            let first = try #require(segments.last)
            let late = try log.makeReader(cursor: "sub-s")
            for reader in [early, late] {
                let records = try await read(reader, count: Int(41 - first))
                #expect(records.first?.sequence == first)
                #expect(first > 2)
            }
            await log.close()
        }
    }

    @Test func sinkCursorHoldsSegmentsWhateverTheRetention() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(subscriptionConfiguration(dir, segmentSize: 1000, maxDisk: 5000))
            let old = nowMillis() - 3 * 3_600_000
            var accepted = 0
            var refusal: WALError?
            for i in 0..<200 {
                do throws(WALError) {
                    _ = try await log.append(entry(i, receivedAt: old, bodySize: 100))
                    accepted += 1
                } catch {
                    refusal = error
                    break
                }
            }
            // Sink "a" never committed: its segments stay, however old, and the quota refuses intake.
            #expect(refusal?.code == .quotaExceeded)
            log.commit(cursor: "sub-s", next: UInt64(accepted))
            try await log.checkpoint()
            #expect(log.stats.firstSequence == 0)
            #expect(log.stats.isRefusingIntake)
            await #expect(throws: WALError.self) { try await log.append(entry(500, receivedAt: old, bodySize: 100)) }
            let delivered = try await read(try log.makeReader(cursor: "a"), count: accepted)
            #expect(delivered.first?.sequence == 0)
            await log.close()
        }
    }

    @Test func quotaPressureDeletesSubscriptionOnlySegmentsAndTheAppendSucceeds() async throws {
        try await withTemporaryDirectory { dir in
            var config = subscriptionConfiguration(dir, segmentSize: 1000, maxDisk: 5000)
            // Only the append path (and explicit checkpoints) free space: no periodic pass in between.
            config.maintenanceInterval = .seconds(3600)
            let log = try WriteAheadLog.open(config)
            let now = nowMillis()
            let size = RecordCodec.encodedSize(entry(0, receivedAt: now, bodySize: 100))
            // Fill half the quota; the sink passes all of it, the subscription none.
            let released = 2500 / size
            for i in 0..<released { _ = try await log.append(entry(i, receivedAt: now, bodySize: 100)) }
            log.commit(cursor: "a", next: UInt64(released))
            try await log.checkpoint()
            #expect(log.stats.firstSequence == 0) // recent, and room enough: kept for the subscription
            let subscription = try log.makeReader(cursor: "sub-s")

            // Append past the quota: segments only the subscription still wants make room, nothing is refused
            // until the sink's own backlog fills the quota.
            var accepted = released
            var refusal: WALError?
            for i in released..<200 {
                do throws(WALError) {
                    _ = try await log.append(entry(i, receivedAt: now, bodySize: 100))
                    accepted += 1
                } catch {
                    refusal = error
                    break
                }
            }
            #expect(refusal?.code == .quotaExceeded)
            #expect(accepted * size > 5000 + 1000)
            let stats = log.stats
            #expect(stats.firstSequence > 0)
            #expect(stats.firstSequence <= UInt64(released)) // nothing the sink still needs went
            #expect(stats.diskBytes <= 5000)
            try await log.checkpoint()
            let files = try segmentFiles(dir).compactMap { LogCore.segmentBase(fileName: $0) }
            #expect(files.first == stats.firstSequence)
            #expect(files.count == stats.segmentCount)
            // The subscription sees the gap: its first record is past what it had read.
            let records = try await subscription.next(maxRecords: 1, maxBytes: 1 << 20)
            #expect(records.first?.sequence == stats.firstSequence)
            await log.close()
        }
    }

    @Test func segmentsFoundAtOpenAgeByTheirModificationTime() async throws {
        try await withTemporaryDirectory { dir in
            let config = subscriptionConfiguration(dir)
            let log = try WriteAheadLog.open(config)
            let threeHoursAgo = nowMillis() - 3 * 3_600_000
            _ = try await log.append((0..<40).map { entry($0, receivedAt: threeHoursAgo) })
            await log.close()

            // Sealed segments are not rescanned at open: their files were written just now, so they are kept.
            let reopened = try WriteAheadLog.open(config)
            reopened.commit(cursor: "a", next: 40)
            try await reopened.checkpoint()
            #expect(reopened.stats.firstSequence == 0)
            await reopened.close()

            // Once the files are older than the retention, they go.
            let twoHoursAgo = Date(timeIntervalSinceNow: -7200)
            for name in try segmentFiles(dir) {
                try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: dir + "/" + name)
            }
            let aged = try WriteAheadLog.open(config)
            try await aged.checkpoint()
            #expect(aged.stats.segmentCount == 1)
            #expect(aged.stats.firstSequence > 0)
            await aged.close()
        }
    }
}
