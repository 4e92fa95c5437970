import Testing

@testable import WriteAheadLog

/// Inputs the fuzz targets in Fuzz/ found to crash the log, kept as regression tests.
@Suite("WAL fuzz findings")
struct WALFuzzFindingsTests {
    /// Fuzz/Corpus/wal-recovery/segment-high-base: a tail segment whose last record has sequence `UInt64.max`
    /// trapped the recovery scan (the next expected sequence overflowed), so `open` crashed the gateway at start-up.
    /// That record cannot be followed by any other and is now cut off like a damaged one.
    @Test func recordWithTheLargestSequenceIsCutOff() async throws {
        try await withTemporaryDirectory { dir in
            let base = UInt64.max - 1
            let kept = RecordCodec.encode(makeEntry(1), sequence: base)
            let last = RecordCodec.encode(makeEntry(2), sequence: .max)
            try writeFile(dir + "/" + LogCore.segmentFileName(base), kept + last)
            let log = try WriteAheadLog.open(testConfiguration(dir))
            #expect(log.recovery.recordsRecovered == 1)
            #expect(log.recovery.truncatedBytes == last.count)
            #expect(log.recovery.truncatedSegment == base)
            #expect(log.recovery.reason?.contains("largest possible") == true)
            #expect(log.stats.nextSequence == .max)
            let reader = try log.makeReader(cursor: "a")
            expectMatches(try await read(reader, count: 1), [makeEntry(1)], firstSequence: base)
            await log.close()
        }
    }

    /// The same with the record alone in a segment named `UInt64.max`: nothing is kept, and `open` succeeds.
    @Test func segmentHoldingOnlyTheLargestSequence() async throws {
        try await withTemporaryDirectory { dir in
            let only = RecordCodec.encode(makeEntry(3), sequence: .max)
            try writeFile(dir + "/" + LogCore.segmentFileName(.max), only)
            let log = try WriteAheadLog.open(testConfiguration(dir))
            #expect(log.recovery.recordsRecovered == 0)
            #expect(log.recovery.truncatedBytes == only.count)
            #expect(log.stats.nextSequence == .max)
            await log.close()
        }
    }

    /// Fuzz/Corpus/wal-recovery/segment-high-base beside the empty sealed segment 0 that the wal-recovery target
    /// adds: a tail segment named past `Int.max` (names are read from disk) trapped `open` converting the
    /// recovered-record count to `Int`.
    @Test func segmentsMoreThanIntMaxApart() async throws {
        try await withTemporaryDirectory { dir in
            let base = UInt64(Int.max) + 10
            try writeFile(dir + "/" + LogCore.segmentFileName(0), [])
            try writeFile(dir + "/" + LogCore.segmentFileName(base), RecordCodec.encode(makeEntry(1), sequence: base))
            let log = try WriteAheadLog.open(testConfiguration(dir))
            #expect(log.recovery.recordsRecovered == Int.max)
            #expect(log.recovery.truncatedBytes == 0)
            #expect(log.stats.nextSequence == base + 1)
            await log.close()
        }
    }
}
