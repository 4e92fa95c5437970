import Foundation
import Testing

@testable import WriteAheadLog

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("wal-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A deterministic entry of a given body size.
func makeEntry(_ i: Int, bodySize: Int = 32) -> LogEntry {
    var body = [UInt8](repeating: 0, count: bodySize)
    for j in 0..<bodySize { body[j] = UInt8(truncatingIfNeeded: i &* 31 &+ j &* 7) }
    return LogEntry(
        eventID: "evt-\(i)", routes: UInt32(truncatingIfNeeded: i) | 0x8000_0000, receivedAtMillis: 1_700_000_000_000 + Int64(i), body: body)
}

/// Configuration for tests: small segments, `.always` unless told otherwise.
func testConfiguration(
    _ dir: String, cursors: [String] = ["a"], segmentSize: Int = 4096, fsync: FsyncPolicy = .always,
    memoryTail: Int = 1 << 20, maxDisk: Int = 1 << 30
) -> WALConfiguration {
    var c = WALConfiguration(directory: dir, cursorNames: cursors)
    c.segmentSizeBytes = segmentSize
    c.fsync = fsync
    c.memoryTailBytes = memoryTail
    c.maxDiskBytes = maxDisk
    return c
}

/// Reads exactly `count` records (waiting as needed).
func read(_ reader: LogReader, count: Int, maxRecords: Int = 17, maxBytes: Int = 1 << 20) async throws -> [LogRecord] {
    var out: [LogRecord] = []
    while out.count < count {
        let batch = try await reader.next(maxRecords: min(maxRecords, count - out.count), maxBytes: maxBytes)
        #expect(!batch.isEmpty)
        if batch.isEmpty { break }
        out += batch
    }
    return out
}

/// Segment file names in a log directory, sorted.
func segmentFiles(_ dir: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }.sorted()
}

/// Whole file contents.
func fileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Replaces a file's contents.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Checks that `records` are what `entries` appended, with the right sequences.
func expectMatches(_ records: [LogRecord], _ entries: [LogEntry], firstSequence: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(records.count == entries.count, sourceLocation: sourceLocation)
    for (i, (r, e)) in zip(records, entries).enumerated() {
        #expect(r.sequence == firstSequence + UInt64(i), sourceLocation: sourceLocation)
        #expect(r.entry == e, sourceLocation: sourceLocation)
    }
}

/// Waits (yielding, no sleeping) until `condition` holds; fails after many rounds.
func waitUntil(_ what: String, _ condition: () -> Bool) async {
    for _ in 0..<2_000_000 {
        if condition() { return }
        await Task.yield()
    }
    Issue.record("timed out waiting for \(what)")
}
