import Foundation
import Testing

@testable import WriteAheadLog

@Suite("Recovery")
struct RecoveryTests {
    /// Writes `count` records into a fresh single-segment log and returns the entries and their receipts.
    private func makeLog(_ dir: String, count: Int) async throws -> ([LogEntry], [AppendReceipt]) {
        let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1 << 20))
        let entries = (0..<count).map { makeEntry($0, bodySize: 10 + $0 % 7) }
        var receipts: [AppendReceipt] = []
        for e in entries { receipts.append(try await log.append(e)) }
        await log.close()
        return (entries, receipts)
    }

    /// Opens the damaged log and checks that exactly the first `kept` records survive and appends continue.
    private func expectRecovered(
        _ dir: String, entries: [LogEntry], kept: Int, truncated: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let log = try WriteAheadLog.open(testConfiguration(dir, segmentSize: 1 << 20))
        #expect(log.recovery.truncatedBytes == truncated, sourceLocation: sourceLocation)
        #expect(log.recovery.truncatedSegment == (truncated > 0 ? 0 : nil), sourceLocation: sourceLocation)
        #expect((log.recovery.reason != nil) == (truncated > 0), sourceLocation: sourceLocation)
        #expect(log.recovery.recordsRecovered == kept, sourceLocation: sourceLocation)
        #expect(log.stats.nextSequence == UInt64(kept), sourceLocation: sourceLocation)
        let reader = try log.makeReader(cursor: "a")
        let records = try await read(reader, count: kept, maxRecords: 100)
        expectMatches(records, Array(entries.prefix(kept)), firstSequence: 0, sourceLocation: sourceLocation)
        let next = try await log.append(makeEntry(999))
        #expect(next.sequence == UInt64(kept), sourceLocation: sourceLocation)
        let appended = try await reader.next(maxRecords: 10, maxBytes: 1 << 20)
        expectMatches(appended, [makeEntry(999)], firstSequence: UInt64(kept), sourceLocation: sourceLocation)
        await log.close()
    }

    @Test func cutAtEveryByteOfTheLastTwoRecords() async throws {
        try await withTemporaryDirectory { dir in
            let (entries, receipts) = try await makeLog(dir, count: 6)
            let path = dir + "/" + LogCore.segmentFileName(0)
            let original = try fileBytes(path)
            let ends = receipts.indices.map { i in i + 1 < receipts.count ? receipts[i + 1].offset : original.count }
            for cut in receipts[4].offset..<original.count {
                try writeFile(path, Array(original[0..<cut]))
                let kept = ends.filter { $0 <= cut }.count
                let keptEnd = kept == 0 ? 0 : ends[kept - 1]
                try await expectRecovered(dir, entries: entries, kept: kept, truncated: cut - keptEnd)
            }
        }
    }

    @Test func flippedBytesTruncateFromTheDamagedRecord() async throws {
        try await withTemporaryDirectory { dir in
            let (entries, receipts) = try await makeLog(dir, count: 6)
            let path = dir + "/" + LogCore.segmentFileName(0)
            let original = try fileBytes(path)
            // Every byte of record 3 (header and body), and a few bytes of the last record.
            let positions = Array(receipts[3].offset..<receipts[4].offset) + [receipts[5].offset + 1, receipts[5].offset + 20, original.count - 1]
            for position in positions {
                var damaged = original
                damaged[position] ^= 0x5A
                try writeFile(path, damaged)
                let kept = position < receipts[4].offset ? 3 : 5
                try await expectRecovered(dir, entries: entries, kept: kept, truncated: original.count - receipts[kept].offset)
            }
        }
    }

    @Test func emptyAndGarbageTails() async throws {
        try await withTemporaryDirectory { dir in
            let (entries, receipts) = try await makeLog(dir, count: 3)
            let path = dir + "/" + LogCore.segmentFileName(0)
            let original = try fileBytes(path)
            // Zeros after the last record (as a crash can leave after extending a file).
            try writeFile(path, original + [UInt8](repeating: 0, count: 100))
            try await expectRecovered(dir, entries: entries, kept: 3, truncated: 100)
            // A whole empty file.
            try writeFile(path, [])
            try await expectRecovered(dir, entries: entries, kept: 0, truncated: 0)
            _ = receipts
        }
    }

    @Test func damagedSealedSegmentIsReportedAndSkipped() async throws {
        try await withTemporaryDirectory { dir in
            let config = testConfiguration(dir, segmentSize: 500, memoryTail: 0)
            let log = try WriteAheadLog.open(config)
            var receipts: [AppendReceipt] = []
            let entries = (0..<30).map { makeEntry($0, bodySize: 40) }
            for e in entries { receipts.append(try await log.append(e)) }
            await log.close()
            // Damage the body of the 3rd record of the first (sealed) segment.
            let victim = receipts[2]
            #expect(victim.segment == 0)
            let secondSegment = try #require(receipts.first { $0.segment != 0 })
            let path = dir + "/" + LogCore.segmentFileName(0)
            var bytes = try fileBytes(path)
            bytes[victim.offset + 45] ^= 0xFF
            try writeFile(path, bytes)

            let reopened = try WriteAheadLog.open(config)
            #expect(reopened.recovery.truncatedBytes == 0) // sealed segments are not rescanned at open
            let reader = try reopened.makeReader(cursor: "a")
            let first = try await reader.next(maxRecords: 100, maxBytes: 1 << 20)
            expectMatches(first, Array(entries[0..<2]), firstSequence: 0)
            do throws(WALError) {
                _ = try await reader.next(maxRecords: 100, maxBytes: 1 << 20)
                Issue.record("damaged record not reported")
            } catch {
                #expect(error.code == .corrupt)
                #expect(error.segment == 0)
                #expect(error.offset == victim.offset)
                #expect(error.path == path)
            }
            // The following call continues at the next segment.
            let after = try await reader.next(maxRecords: 1, maxBytes: 1 << 20)
            #expect(after.first?.sequence == secondSegment.sequence)
            // Seeking past the damage in that segment works (positioning reads headers only; record 4 is intact).
            try reader.seek(to: 4)
            let fourth = try await reader.next(maxRecords: 1, maxBytes: 1 << 20)
            expectMatches(fourth, [entries[4]], firstSequence: 4)
            await reopened.close()
        }
    }
}
