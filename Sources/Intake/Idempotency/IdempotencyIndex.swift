import Crypto
import DequeModule
import Foundation
public import GatewayCore
import Synchronization

/// An answer kept for an `Idempotency-Key`: what the first request got, to give to its repeats.
public struct StoredAnswer: Sendable, Equatable {
    public var status: Int
    /// `application/json` or `application/problem+json`.
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// What ``IdempotencyIndex/begin(_:bodyDigest:)`` decided for a request carrying a key.
public enum IdempotencyVerdict: Sendable, Equatable {
    /// First time: go ahead, then ``IdempotencyIndex/complete(_:with:)`` or ``IdempotencyIndex/abandon(_:)``.
    case proceed
    /// Seen before with the same body: answer this.
    case replay(StoredAnswer)
    /// The first request with this key is still being answered (409).
    case inProgress
    /// Seen before with a different body (422).
    case differentBody
}

/// The `Idempotency-Key` index (docs/edge.md#idempotency): keys seen within `window`, at most `maxKeys` of them,
/// with the answer each got; kept in memory and, with a `directory`, in an append-only file that a restart reads
/// back (rewritten when it holds twice as many lines as live keys).
///
/// A key is scoped by who sent it (the caller's label) so two clients cannot see each other's answers.
public final class IdempotencyIndex: Sendable {
    /// One remembered key.
    struct Entry: Sendable, Codable, Equatable {
        var key: String
        var digest: String
        var storedAtMillis: Int64
        var status: Int
        var contentType: String
        var body: String

        var answer: StoredAnswer { StoredAnswer(status: status, contentType: contentType, body: Array(body.utf8)) }
    }

    private struct State: Sendable {
        var entries: [String: Entry] = [:]
        var order: Deque<String> = []
        var pending: [String: String] = [:]
        var linesInFile = 0
    }

    public let window: Duration
    public let maxKeys: Int
    private let file: URL?
    private let wallMillis: @Sendable () -> Int64
    private let state = Mutex(State())
    /// Serialises the file's appends and rewrites (taken before `state` when both are needed).
    private let fileLock = Mutex(())

    /// - Parameters:
    ///   - directory: where `keys.jsonl` lives; nil keeps the index in memory only (`durability.mode: memory`).
    ///   - wallMillis: the wall clock, in Unix milliseconds.
    public init(window: Duration, maxKeys: Int, directory: String?, wallMillis: @escaping @Sendable () -> Int64 = Timestamp.nowMillis) {
        self.window = window
        self.maxKeys = max(1, maxKeys)
        self.wallMillis = wallMillis
        self.file = directory.map { URL(fileURLWithPath: $0).appendingPathComponent("keys.jsonl") }
        if let directory { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        load()
    }

    /// The key of the index for `key` sent by `caller`.
    public static func scoped(_ key: String, caller: String) -> String { caller + "\u{0}" + key }

    /// Looks `key` up, and reserves it when it is new.
    public func begin(_ key: String, bodyDigest: String) -> IdempotencyVerdict {
        let now = wallMillis()
        return state.withLock { state in
            expire(&state, now: now)
            if let entry = state.entries[key] {
                return entry.digest == bodyDigest ? .replay(entry.answer) : .differentBody
            }
            if let digest = state.pending[key] { return digest == bodyDigest ? .inProgress : .differentBody }
            state.pending[key] = bodyDigest
            return .proceed
        }
    }

    /// Keeps `answer` for `key` (reserved by ``begin(_:bodyDigest:)``).
    public func complete(_ key: String, with answer: StoredAnswer) {
        let now = wallMillis()
        let line: Data? = state.withLock { state in
            guard let digest = state.pending.removeValue(forKey: key) else { return nil }
            let entry = Entry(
                key: key, digest: digest, storedAtMillis: now, status: answer.status, contentType: answer.contentType,
                body: String(decoding: answer.body, as: UTF8.self))
            insert(entry, into: &state)
            state.linesInFile += 1
            return try? JSONEncoder().encode(entry)
        }
        guard let line, let file else { return }
        append(line, to: file)
        compactIfNeeded()
    }

    /// Frees `key` without keeping an answer (the request failed before anything was appended).
    public func abandon(_ key: String) {
        _ = state.withLock { $0.pending.removeValue(forKey: key) }
    }

    /// How many keys are remembered.
    public var count: Int { state.withLock { $0.entries.count } }

    // MARK: Memory and file

    private func insert(_ entry: Entry, into state: inout State) {
        if state.entries.updateValue(entry, forKey: entry.key) == nil { state.order.append(entry.key) }
        while state.entries.count > maxKeys, let oldest = state.order.popFirst() {
            state.entries.removeValue(forKey: oldest)
        }
    }

    private func expire(_ state: inout State, now: Int64) {
        let horizon = now - window.nanoseconds / 1_000_000
        while let oldest = state.order.first, let entry = state.entries[oldest], entry.storedAtMillis < horizon {
            state.order.removeFirst()
            state.entries.removeValue(forKey: oldest)
        }
        while let oldest = state.order.first, state.entries[oldest] == nil { state.order.removeFirst() }
    }

    private func load() {
        guard let file, let data = try? Data(contentsOf: file) else { return }
        let now = wallMillis()
        let decoder = JSONDecoder()
        state.withLock { state in
            for line in data.split(separator: UInt8(ascii: "\n")) {
                // A torn last line (a crash mid-write) is skipped.
                guard let entry = try? decoder.decode(Entry.self, from: line) else { continue }
                insert(entry, into: &state)
                state.linesInFile += 1
            }
            expire(&state, now: now)
        }
    }

    private func append(_ line: Data, to file: URL) {
        var bytes = line
        bytes.append(UInt8(ascii: "\n"))
        fileLock.withLock { _ in
            if let handle = try? FileHandle(forWritingTo: file) {
                defer { try? handle.close() }
                _ = try? handle.seekToEnd()
                try? handle.write(contentsOf: bytes)
            } else {
                try? bytes.write(to: file)
            }
        }
    }

    /// Rewrites the file with the live keys once it holds twice as many lines (and at least 1,000). A key completed
    /// meanwhile is in the snapshot, or appended after the rewrite (a repeated line is harmless: the last one wins).
    private func compactIfNeeded() {
        guard let file, state.withLock({ $0.linesInFile >= max(1000, $0.entries.count * 2) }) else { return }
        fileLock.withLock { _ in
            let snapshot = state.withLock { state in
                state.linesInFile = state.entries.count
                return state.order.compactMap { state.entries[$0] }
            }
            let encoder = JSONEncoder()
            var data = Data()
            for entry in snapshot {
                guard let line = try? encoder.encode(entry) else { continue }
                data.append(line)
                data.append(UInt8(ascii: "\n"))
            }
            let temporary = file.appendingPathExtension("tmp")
            guard (try? data.write(to: temporary)) != nil else { return }
            _ = try? FileManager.default.replaceItemAt(file, withItemAt: temporary)
        }
    }
}

extension IdempotencyIndex {
    /// The hex SHA-256 of a request body (a repeat must carry the same body).
    public static func digest(_ body: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: body).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }
}
