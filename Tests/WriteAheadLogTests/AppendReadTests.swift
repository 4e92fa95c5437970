import Foundation
import Testing

@testable import WriteAheadLog

@Suite("Append and read")
struct AppendReadTests {
    @Test(arguments: [0, 1 << 20])
    func roundTripAcrossRollovers(memoryTail: Int) async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1000, fsync: .never, memoryTail: memoryTail))
            var entries: [LogEntry] = []
            var receipts: [AppendReceipt] = []
            for i in 0..<60 {
                let e = makeEntry(i, bodySize: (i * 37) % 300)
                entries.append(e)
                receipts.append(try await log.append(e))
            }
            let batch = (60..<80).map { makeEntry($0, bodySize: 50) }
            entries += batch
            receipts += try await log.append(batch)
            #expect(receipts.map(\.sequence) == Array(0..<80))
            #expect(try segmentFiles(dir).count > 5)
            let stats = log.stats
            #expect(stats.nextSequence == 80 && stats.firstSequence == 0)
            #expect(stats.segmentCount == (try segmentFiles(dir).count))

            let reader = try log.makeReader(cursor: "a")
            let records = try await read(reader, count: 80)
            expectMatches(records, entries, firstSequence: 0)
            for (r, receipt) in zip(records, receipts) {
                #expect(r.segment == receipt.segment && r.offset == receipt.offset && r.sequence == receipt.sequence)
            }
            // Receipts point at real bytes: the record decodes at that offset of that file.
            for receipt in receipts.prefix(10) {
                let bytes = try fileBytes(dir + "/" + LogCore.segmentFileName(receipt.segment))
                let parsed = bytes[receipt.offset...].withUnsafeBytes { RecordCodec.decode($0, segment: receipt.segment, offset: receipt.offset) }
                guard case .record(let r, _) = parsed else {
                    Issue.record("no record at receipt \(receipt)")
                    continue
                }
                #expect(r.sequence == receipt.sequence)
            }
            // Seek back and re-read from the middle (file path when memoryTail == 0).
            try reader.seek(to: 33)
            let again = try await read(reader, count: 47, maxRecords: 5)
            expectMatches(again, Array(entries[33...]), firstSequence: 33)
            #expect(throws: WALError.self) { try reader.seek(to: 81) }
            await log.close()

            // After reopening, everything is read back from files, and appends continue.
            let reopened = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1000, fsync: .never, memoryTail: memoryTail))
            #expect(reopened.recovery.truncatedBytes == 0)
            #expect(reopened.recovery.recordsRecovered == 80)
            let r2 = try reopened.makeReader(cursor: "a")
            expectMatches(try await read(r2, count: 80, maxRecords: 1000), entries, firstSequence: 0)
            #expect(try await reopened.append(makeEntry(80)).sequence == 80)
            let last = try await r2.next(maxRecords: 10, maxBytes: 1 << 20)
            expectMatches(last, [makeEntry(80)], firstSequence: 80)
            await reopened.close()
        }
    }

    @Test func readerFallsBehindMemoryTail() async throws {
        try await withTemporaryDirectory { dir in
            // Memory tail of ~3 records: a reader that waits reads older records from files.
            let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 2000, fsync: .never, memoryTail: 300))
            let reader = try log.makeReader(cursor: "a")
            var entries: [LogEntry] = []
            for i in 0..<10 {
                entries.append(makeEntry(i, bodySize: 50))
                _ = try await log.append(entries[i])
            }
            let first = try await reader.next(maxRecords: 4, maxBytes: 1 << 20)
            expectMatches(first, Array(entries[0..<4]), firstSequence: 0)
            for i in 10..<40 {
                entries.append(makeEntry(i, bodySize: 50))
                _ = try await log.append(entries[i])
            }
            let rest = try await read(reader, count: 36, maxRecords: 3)
            expectMatches(rest, Array(entries[4...]), firstSequence: 4)
            // maxBytes bounds a batch but at least one record is returned.
            try reader.seek(to: 0)
            let one = try await reader.next(maxRecords: 100, maxBytes: 1)
            #expect(one.count == 1)
            let some = try await reader.next(maxRecords: 100, maxBytes: 300)
            #expect(some.count >= 1 && some.count <= 3)
            await log.close()
        }
    }

    @Test func groupCommitSharesWritesAndSyncs() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1 << 20, fsync: .always))
            let before = log.ioCounters
            // Hold the writer, queue 200 appends, release: one batch, one write, one sync.
            log.pauseWriter()
            let receipts = try await withThrowingTaskGroup(of: (Int, AppendReceipt).self) { group in
                for i in 0..<200 {
                    group.addTask { (i, try await log.append(makeEntry(i))) }
                }
                await waitUntil("200 queued appends") { log.queuedAppendCount == 200 }
                log.resumeWriter()
                var all: [Int: AppendReceipt] = [:]
                for try await (i, r) in group { all[i] = r }
                return all
            }
            let after = log.ioCounters
            #expect(after.writes - before.writes == 1)
            #expect(after.syncs - before.syncs == 1)
            #expect(after.batches - before.batches == 1)
            let sequences = Set(receipts.values.map(\.sequence))
            #expect(sequences == Set(0..<200))
            let reader = try log.makeReader(cursor: "a")
            let records = try await read(reader, count: 200, maxRecords: 200)
            for r in records {
                // Each record is the entry whose append got that sequence.
                let i = receipts.first { $0.value.sequence == r.sequence }?.key
                #expect(i.map { makeEntry($0) } == r.entry)
            }
            await log.close()
        }
    }

    @Test func concurrentAppendsWithoutPausing() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 8192, fsync: .always))
            let receipts = try await withThrowingTaskGroup(of: AppendReceipt.self) { group in
                for i in 0..<200 { group.addTask { try await log.append(makeEntry(i)) } }
                var all: [AppendReceipt] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(Set(receipts.map(\.sequence)) == Set(0..<200))
            let counters = log.ioCounters
            // Each batch is one write (two at a rollover) and one sync (plus one per seal).
            #expect(counters.batches <= 200)
            let reader = try log.makeReader(cursor: "a")
            let records = try await read(reader, count: 200, maxRecords: 64)
            #expect(records.map(\.sequence) == Array(0..<200))
            let bySequence = Dictionary(uniqueKeysWithValues: receipts.map { ($0.sequence, $0) })
            for r in records {
                #expect(bySequence[r.sequence] == AppendReceipt(sequence: r.sequence, segment: r.segment, offset: r.offset))
            }
            await log.close()
        }
    }

    @Test func readerWaitsForAppend() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir))
            let reader = try log.makeReader(cursor: "a")
            let pending = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
            await waitUntil("reader blocked") { log.waitingReaderCount == 1 }
            let receipt = try await log.append(makeEntry(1))
            let records = try await pending.value
            #expect(records.map(\.sequence) == [receipt.sequence])
            #expect(records.first?.entry == makeEntry(1))
            await log.close()
        }
    }

    @Test func cancellationReturnsEmptyPromptly() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir))
            let reader = try log.makeReader(cursor: "a")
            let pending = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
            await waitUntil("reader blocked") { log.waitingReaderCount == 1 }
            pending.cancel()
            #expect(try await pending.value.isEmpty)
            #expect(log.waitingReaderCount == 0)
            // Already-cancelled task: returns [] without waiting.
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await reader.next(maxRecords: 10, maxBytes: 1 << 20)
            }
            #expect(try await early.value.isEmpty)
            // Close wakes a blocked reader with [].
            let blocked = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
            await waitUntil("reader blocked") { log.waitingReaderCount == 1 }
            await log.close()
            #expect(try await blocked.value.isEmpty)
        }
    }

    @Test func closeIsIdempotentAndRefusesAppends() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir, fsync: .interval(.milliseconds(5))))
            _ = try await log.append(makeEntry(0))
            await log.close()
            await log.close()
            await #expect(throws: WALError.self) { try await log.append(makeEntry(1)) }
            do throws(WALError) {
                _ = try await log.append(makeEntry(1))
            } catch {
                #expect(error.code == .closed)
            }
            // The directory lock was released: it can be opened again, but not twice at once.
            let again = try WriteAheadLog.open(testConfiguration(dir))
            #expect(throws: WALError.self) { try WriteAheadLog.open(testConfiguration(dir)) }
            #expect(again.stats.nextSequence == 1)
            #expect(throws: WALError.self) { try again.makeReader(cursor: "nope") }
            await again.close()
        }
    }

    @Test func intervalPolicySyncsInBackground() async throws {
        try await withTemporaryDirectory { dir in
            let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1 << 20, fsync: .interval(.milliseconds(1))))
            let before = log.ioCounters.syncs
            for i in 0..<5 { _ = try await log.append(makeEntry(i)) }
            // The writer syncs by itself once the interval has passed (no append needed to trigger it).
            await waitUntil("background sync") { log.ioCounters.syncs > before }
            await waitUntil("syncer idle") { log.isSyncerIdle }
            try await log.checkpoint()
            let idle = log.ioCounters.syncs
            // Nothing written since: no further syncs (checkpoint with nothing dirty does not sync either).
            try await log.checkpoint()
            #expect(log.ioCounters.syncs == idle)
            await log.close()
        }
    }
}
