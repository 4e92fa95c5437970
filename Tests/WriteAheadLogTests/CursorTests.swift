import Foundation
import Testing

@testable import WriteAheadLog

@Suite("Cursors, retention and quota")
struct CursorTests {
    @Test func commitCloseReopenResumesAtCommittedPosition() async throws {
        try await withTemporaryDirectory { dir in
            let config = testConfiguration(dir, cursors: ["a", "b"], segmentSize: 600)
            let log = try WriteAheadLog.open(config)
            let entries = (0..<20).map { makeEntry($0) }
            _ = try await log.append(entries)
            let reader = try log.makeReader(cursor: "a")
            let delivered = try await read(reader, count: 12)
            expectMatches(delivered, Array(entries[0..<12]), firstSequence: 0)
            // The sink acknowledged 0..<8 only; 8..<12 were read but not committed.
            log.commit(cursor: "a", next: 8)
            log.commit(cursor: "a", next: 3) // lower values are ignored
            log.commit(cursor: "unknown", next: 5) // unknown cursors are ignored
            #expect(log.stats.cursors == ["a": 8, "b": 0])
            await log.close()
            #expect(try fileBytes(dir + "/cursor-a").count == 16)

            let reopened = try WriteAheadLog.open(config)
            #expect(reopened.stats.cursors == ["a": 8, "b": 0])
            let again = try reopened.makeReader(cursor: "a")
            // Records after the committed position are redelivered (at-least-once).
            let redelivered = try await read(again, count: 12)
            expectMatches(redelivered, Array(entries[8...]), firstSequence: 8)
            let fromB = try await read(try reopened.makeReader(cursor: "b"), count: 20)
            expectMatches(fromB, entries, firstSequence: 0)
            await reopened.close()
        }
    }

    @Test func retentionWaitsForEveryCursor() async throws {
        try await withTemporaryDirectory { dir in
            let config = testConfiguration(dir, cursors: ["a", "b"], segmentSize: 600)
            let log = try WriteAheadLog.open(config)
            let receipts = try await log.append((0..<40).map { makeEntry($0) })
            // Segment bases from the files (the last one may be a fresh, empty active segment).
            let segments = try segmentFiles(dir).compactMap { LogCore.segmentBase(fileName: $0) }
            #expect(Set(receipts.map(\.segment)).isSubset(of: Set(segments)))
            #expect(segments.count >= 4)
            let firstFile = dir + "/" + LogCore.segmentFileName(segments[0])
            // Only "a" passed segment 0 (and 1): nothing is deleted.
            log.commit(cursor: "a", next: segments[2])
            try await log.checkpoint()
            #expect(FileManager.default.fileExists(atPath: firstFile))
            #expect(log.stats.firstSequence == 0)
            // "b" passed the last record of segment 0 but not all of segment 1: only segment 0 goes.
            log.commit(cursor: "b", next: segments[1] + 1)
            try await log.checkpoint()
            #expect(!FileManager.default.fileExists(atPath: firstFile))
            #expect(FileManager.default.fileExists(atPath: dir + "/" + LogCore.segmentFileName(segments[1])))
            #expect(log.stats.firstSequence == segments[1])
            #expect(log.stats.segmentCount == segments.count - 1)
            // A reader for a cursor behind the retained range starts at the oldest retained record.
            // (Both cursors are past it here; seek refuses deleted positions.)
            let reader = try log.makeReader(cursor: "b")
            #expect(throws: WALError.self) { try reader.seek(to: 0) }
            // The active segment is never deleted, even when every cursor is past all records.
            log.commit(cursor: "a", next: 40)
            log.commit(cursor: "b", next: 40)
            try await log.checkpoint()
            let stats = log.stats
            #expect(stats.segmentCount == 1)
            #expect(stats.firstSequence == segments.last)
            let caughtUp: [String: Int64?] = ["a": nil, "b": nil]
            #expect(stats.oldestUnacknowledgedMillis == caughtUp)
            await log.close()
            // Cursor files of cursors no longer configured are ignored.
            let reopened = try WriteAheadLog.open(testConfiguration(dir, cursors: ["c"], segmentSize: 600))
            #expect(reopened.stats.cursors == ["c": segments.last ?? 0])
            await reopened.close()
        }
    }

    @Test func quotaRefusesWhileACursorIsStalledAndRecoversAfterRetention() async throws {
        try await withTemporaryDirectory { dir in
            let config = testConfiguration(dir, cursors: ["a"], segmentSize: 1000, maxDisk: 5000)
            let log = try WriteAheadLog.open(config)
            var accepted: [AppendReceipt] = []
            var refused: WALError?
            for i in 0..<200 {
                do throws(WALError) {
                    accepted.append(try await log.append(makeEntry(i, bodySize: 100)))
                } catch {
                    refused = error
                    break
                }
            }
            let error = try #require(refused)
            #expect(error.code == .quotaExceeded)
            #expect(accepted.count > 20 && accepted.count < 40)
            #expect(log.stats.diskBytes <= 5000)
            #expect(log.stats.isRefusingIntake)
            // Still refused while the cursor is stalled (nothing is written).
            let before = log.stats.diskBytes
            await #expect(throws: WALError.self) { try await log.append(makeEntry(500, bodySize: 100)) }
            #expect(log.stats.diskBytes == before)
            #expect(log.stats.oldestUnacknowledgedMillis["a"] == .some(makeEntry(0).receivedAtMillis))

            // The sink catches up and commits: retention frees the sealed segments, appends succeed again.
            log.commit(cursor: "a", next: UInt64(accepted.count))
            try await log.checkpoint()
            #expect(!log.stats.isRefusingIntake)
            #expect(log.stats.diskBytes < before)
            let receipt = try await log.append(makeEntry(1000, bodySize: 100))
            #expect(receipt.sequence == UInt64(accepted.count))
            await log.close()
        }
    }

    @Test func oldestUnacknowledgedFromFiles() async throws {
        try await withTemporaryDirectory { dir in
            let config = testConfiguration(dir, cursors: ["a"], segmentSize: 700, memoryTail: 0)
            let log = try WriteAheadLog.open(config)
            _ = try await log.append((0..<20).map { makeEntry($0) })
            log.commit(cursor: "a", next: 13)
            try await log.checkpoint()
            // Not in memory: the maintenance pass read the record's header from its segment.
            #expect(log.stats.oldestUnacknowledgedMillis["a"] == .some(makeEntry(13).receivedAtMillis))
            await log.close()
        }
    }
}
