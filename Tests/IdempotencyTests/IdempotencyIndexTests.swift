import Foundation
import Idempotency
import Synchronization
import Testing

@Suite("The Idempotency-Key index: window, bound, file")
struct IdempotencyIndexTests {
    final class WallClock: Sendable {
        let now = Mutex<Int64>(1_800_000_000_000)
        func advance(hours: Int64) { now.withLock { $0 += hours * 3_600_000 } }
        var read: @Sendable () -> Int64 { { self.now.withLock { $0 } } }
    }

    static let answer = StoredAnswer(status: 202, contentType: "application/json", body: Array(#"{"event_id":"e1"}"#.utf8))

    @Test("first time proceeds; a repeat with the same body replays, another body is refused, one in flight is in progress")
    func verdicts() {
        let index = IdempotencyIndex(window: .seconds(3600), maxKeys: 10, directory: nil)
        #expect(index.begin("k", bodyDigest: "a") == .proceed)
        #expect(index.begin("k", bodyDigest: "a") == .inProgress)
        #expect(index.begin("k", bodyDigest: "b") == .differentBody)
        index.complete("k", with: Self.answer)
        #expect(index.begin("k", bodyDigest: "a") == .replay(Self.answer))
        #expect(index.begin("k", bodyDigest: "b") == .differentBody)
        // An abandoned key is free again.
        #expect(index.begin("other", bodyDigest: "a") == .proceed)
        index.abandon("other")
        #expect(index.begin("other", bodyDigest: "c") == .proceed)
    }

    @Test("keys expire after the window and the oldest go first past max_keys")
    func bounds() {
        let clock = WallClock()
        let index = IdempotencyIndex(window: .seconds(3600), maxKeys: 3, directory: nil, wallMillis: clock.read)
        for key in ["a", "b", "c", "d"] {
            #expect(index.begin(key, bodyDigest: "x") == .proceed)
            index.complete(key, with: Self.answer)
        }
        #expect(index.count == 3)
        #expect(index.begin("a", bodyDigest: "x") == .proceed, "the oldest key was forgotten")
        index.abandon("a")
        #expect(index.begin("d", bodyDigest: "x") == .replay(Self.answer))
        clock.advance(hours: 2)
        #expect(index.begin("d", bodyDigest: "x") == .proceed, "past the window")
        #expect(index.count == 0)
    }

    @Test("the keys survive a restart, a torn last line is skipped, and the file is compacted")
    func persisted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idempotency-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let index = IdempotencyIndex(window: .seconds(3600), maxKeys: 100, directory: directory)
            for number in 0..<1500 {
                #expect(index.begin("k\(number % 50)", bodyDigest: "d") != .inProgress)
                index.complete("k\(number % 50)", with: Self.answer)
            }
        }
        let file = directory + "/keys.jsonl"
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count
        #expect(lines < 1000, "the file was not compacted: \(lines) lines for 50 keys")
        let handle = try #require(FileHandle(forWritingAtPath: file))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Array(#"{"key":"torn","dig"#.utf8))
        try handle.close()
        let reopened = IdempotencyIndex(window: .seconds(3600), maxKeys: 100, directory: directory)
        #expect(reopened.count == 50)
        #expect(reopened.begin("k7", bodyDigest: "d") == .replay(Self.answer))
        #expect(reopened.begin("torn", bodyDigest: "d") == .proceed)
    }
}
