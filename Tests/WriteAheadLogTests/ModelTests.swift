import Foundation
import GatewayTesting
import Testing

@testable import WriteAheadLog

#if canImport(Glibc)
import Glibc
#endif

/// Seeds for the model test: 1...N with N from `WAL_MODEL_SEEDS` (default 12).
func modelSeeds() -> [UInt64] {
    let n = ProcessInfo.processInfo.environment["WAL_MODEL_SEEDS"].flatMap { UInt64($0) } ?? 12
    return Array(1...max(1, n))
}

/// Model-based test: random operations against the log, checked after every step against a simple model
/// (the list of acknowledged records, what is known synced, cursor bounds).
@Suite("Model")
struct ModelTests {
    struct Acked {
        var entry: LogEntry
        var receipt: AppendReceipt
        var size: Int
    }

    /// Seeds 1...12 by default; `WAL_MODEL_SEEDS=300 swift test --filter Model` runs seeds 1...300. Every
    /// failure message starts with the seed (and policy, step), so a failing schedule can be replayed.
    @Test(arguments: modelSeeds())
    func randomOperations(seed: UInt64) async throws {
        try await withTemporaryDirectory { dir in
            var rng = SplitMix64(seed: seed)
            let policy: FsyncPolicy = [.always, .never, .interval(.milliseconds(1))][Int(seed % 3)]
            let memoryTail = [0, 500, 1 << 20][Int.random(in: 0..<3, using: &rng)]
            let segmentSize = Int.random(in: 300...2000, using: &rng)
            let cursorNames = ["a", "b"]
            let config = testConfiguration(dir, cursors: cursorNames, segmentSize: segmentSize, fsync: policy, memoryTail: memoryTail)
            var context = "seed \(seed) (\(policy), memoryTail \(memoryTail), segment \(segmentSize))"
            func check(_ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
                if !condition { Issue.record("\(context): \(message())", sourceLocation: sourceLocation) }
            }

            var log = try WriteAheadLog.open(config)
            var acked: [Acked] = []
            var syncedCount = 0 // acked[0..<syncedCount] are known synced
            var committed: [String: UInt64] = ["a": 0, "b": 0]
            var persisted: [String: UInt64] = ["a": 0, "b": 0] // at least this much is in the cursor files
            var readers: [String: LogReader] = [:]
            var positions: [String: UInt64] = [:]
            func makeReaders() throws {
                for name in cursorNames {
                    let r = try log.makeReader(cursor: name)
                    readers[name] = r
                    positions[name] = r.position
                }
            }
            try makeReaders()
            var nextEntry = 0

            for step in 0..<150 {
                let roll = Int.random(in: 0..<100, using: &rng)
                context = "seed \(seed) (\(policy), memoryTail \(memoryTail), segment \(segmentSize)) step \(step) roll \(roll)"
                if roll < 30 {
                    // Append a batch, either as one call or as concurrent single appends.
                    let n = Int.random(in: 1...5, using: &rng)
                    let entries = (0..<n).map { _ in
                        nextEntry += 1
                        return makeEntry(nextEntry, bodySize: Int.random(in: 0...300, using: &rng))
                    }
                    var pairs: [(LogEntry, AppendReceipt)]
                    if Bool.random(using: &rng) {
                        let receipts = try await log.append(entries)
                        pairs = Array(zip(entries, receipts))
                    } else {
                        let current = log
                        pairs = try await withThrowingTaskGroup(of: (LogEntry, AppendReceipt).self) { group in
                            for e in entries { group.addTask { (e, try await current.append(e)) } }
                            var all: [(LogEntry, AppendReceipt)] = []
                            for try await pair in group { all.append(pair) }
                            return all
                        }
                        pairs.sort { $0.1.sequence < $1.1.sequence }
                    }
                    for (i, (_, r)) in pairs.enumerated() {
                        check(r.sequence == UInt64(acked.count + i), "receipt \(r) expected sequence \(acked.count + i)")
                    }
                    acked += pairs.map { Acked(entry: $0.0, receipt: $0.1, size: RecordCodec.encodedSize($0.0)) }
                    if policy == .always { syncedCount = acked.count }
                } else if roll < 40 {
                    try await log.checkpoint()
                    syncedCount = acked.count
                    persisted = committed
                } else if roll < 45 {
                    await log.close()
                    syncedCount = acked.count
                    persisted = committed
                    log = try WriteAheadLog.open(config)
                    check(log.recovery.truncatedBytes == 0, "clean reopen truncated \(log.recovery)")
                    try makeReaders()
                } else if roll < 50 {
                    // Simulated kill -9, then a torn tail no shorter than what is known synced.
                    await log.simulateCrash()
                    let files = try segmentFiles(dir)
                    let activeName = try #require(files.last)
                    let activeBase = try #require(LogCore.segmentBase(fileName: activeName))
                    let path = dir + "/" + activeName
                    var lowerBound = 0
                    var mustSurvive = 0
                    for (i, a) in acked.enumerated() {
                        if a.receipt.segment != activeBase { mustSurvive = i + 1 }
                        if i < syncedCount {
                            mustSurvive = i + 1
                            if a.receipt.segment == activeBase { lowerBound = a.receipt.offset + a.size }
                        }
                    }
                    var bytes = try fileBytes(path)
                    if Bool.random(using: &rng) {
                        let torn = RecordCodec.encode(makeEntry(-1, bodySize: 200), sequence: UInt64(acked.count))
                        bytes += torn[0..<Int.random(in: 1..<torn.count, using: &rng)]
                        try writeFile(path, bytes)
                    }
                    let cut = Int.random(in: lowerBound...bytes.count, using: &rng)
                    check(truncate(path, off_t(cut)) == 0, "truncate failed")
                    log = try WriteAheadLog.open(config)
                    let survivors = Int(log.stats.nextSequence)
                    check(
                        survivors >= mustSurvive && survivors <= acked.count,
                        "after crash \(survivors) records survive, expected \(mustSurvive)...\(acked.count); \(log.recovery)")
                    if policy == .always { check(survivors == acked.count, "acknowledged record lost under .always") }
                    acked = Array(acked.prefix(survivors))
                    syncedCount = min(syncedCount, survivors)
                    let stats = log.stats
                    for name in cursorNames {
                        let first = stats.firstSequence
                        let low = max(min(persisted[name] ?? 0, UInt64(survivors)), first)
                        let high = max(min(committed[name] ?? 0, UInt64(survivors)), first)
                        let got = stats.cursors[name] ?? .max
                        check(got >= low && got <= high, "cursor \(name) at \(got) after crash, expected \(low)...\(high)")
                        committed[name] = got
                        persisted[name] = got
                    }
                    try makeReaders()
                } else if roll < 80 {
                    // Read from one cursor's reader (only when something is there: no blocking).
                    let name = cursorNames[Int.random(in: 0..<2, using: &rng)]
                    guard let reader = readers[name], var position = positions[name] else { continue }
                    if Int.random(in: 0..<8, using: &rng) == 0 {
                        let low = max(committed[name] ?? 0, log.stats.firstSequence)
                        position = UInt64.random(in: low...max(low, position), using: &rng)
                        try reader.seek(to: position)
                    }
                    if position < UInt64(acked.count) {
                        let records = try await reader.next(
                            maxRecords: Int.random(in: 1...20, using: &rng), maxBytes: Int.random(in: 50...3000, using: &rng))
                        check(!records.isEmpty, "reader returned nothing at \(position)")
                        for (i, r) in records.enumerated() {
                            let expected = position + UInt64(i)
                            check(r.sequence == expected, "read sequence \(r.sequence), expected \(expected)")
                            if r.sequence < UInt64(acked.count) {
                                let a = acked[Int(r.sequence)]
                                check(r.entry == a.entry, "record \(r.sequence) differs")
                                check(r.segment == a.receipt.segment && r.offset == a.receipt.offset, "record \(r.sequence) location differs")
                            } else {
                                check(false, "read unacknowledged sequence \(r.sequence)")
                            }
                        }
                        positions[name] = position + UInt64(records.count)
                    }
                } else if roll < 95 {
                    // A sink acknowledges part of what its reader delivered.
                    let name = cursorNames[Int.random(in: 0..<2, using: &rng)]
                    let low = committed[name] ?? 0
                    let high = max(low, positions[name] ?? 0)
                    let value = Int.random(in: 0..<4, using: &rng) == 0 ? UInt64.random(in: low...high, using: &rng) : high
                    log.commit(cursor: name, next: value)
                    committed[name] = value
                } else {
                    // Full verification with a fresh reader from the oldest retained record. Retention may
                    // concurrently delete the oldest segments (both cursors passed them): the reader then
                    // continues at the new oldest record, so read until the last acknowledged one.
                    let first = log.stats.firstSequence
                    let reader = try log.makeReader(cursor: "a")
                    try reader.seek(to: first)
                    var expected: UInt64? = nil
                    while UInt64(acked.count) > (expected ?? first) {
                        let records = try await reader.next(maxRecords: 50, maxBytes: 1 << 20)
                        check(!records.isEmpty, "full read returned nothing")
                        if records.isEmpty { break }
                        for r in records {
                            if let e = expected, r.sequence != e {
                                // Only a retention jump is allowed: forward, to at most the slowest committed cursor.
                                let slowest = committed.values.min() ?? 0
                                check(
                                    r.sequence > e && r.sequence <= slowest,
                                    "full read: sequence \(r.sequence), expected \(e) (slowest cursor \(slowest))")
                            }
                            check(Int(r.sequence) < acked.count && r.entry == acked[Int(r.sequence)].entry, "full read: record \(r.sequence) differs")
                            expected = r.sequence + 1
                        }
                    }
                }

                // Invariants after every step (disk listed before the catalog: retention drops a segment from
                // the catalog before unlinking it, so the catalog never has more segments than the disk).
                let onDisk = try segmentFiles(dir).count
                let stats = log.stats
                check(stats.segmentCount <= onDisk, "catalog has \(stats.segmentCount) segments, disk \(onDisk)")
                check(stats.nextSequence == UInt64(acked.count), "nextSequence \(stats.nextSequence) != \(acked.count)")
                for name in cursorNames {
                    let expected = max(committed[name] ?? 0, stats.firstSequence)
                    check(stats.cursors[name] == expected, "cursor \(name) is \(String(describing: stats.cursors[name])), expected \(expected)")
                    check(stats.firstSequence <= (committed[name] ?? 0), "retention passed cursor \(name): first \(stats.firstSequence)")
                }
            }
            await log.close()
        }
    }
}
