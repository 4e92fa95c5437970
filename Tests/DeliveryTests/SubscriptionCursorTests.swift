import Foundation
import GatewayCore
import GatewayLog
import Testing
import WriteAheadLog

/// The two logs the subscription contract is checked on, through the ``EventLog`` protocol.
enum SubscribedLogKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, disk

    var testDescription: String { rawValue }
}

/// A log read by sinks archive and kinesis and by subscription "s", kept for an hour, and how to run its
/// maintenance now (the memory log applies retention as it goes).
struct SubscribedLog {
    let log: any EventLog
    let checkpoint: @Sendable () async throws -> Void
}

/// Opens a log of `kind` for `body` (in a fresh directory for `.disk`: small segments, the quota `maxBytes`) and
/// closes it afterwards.
func withSubscribedLog(
    _ kind: SubscribedLogKind, maxBytes: Int = 1 << 30, directory: String? = nil,
    _ body: (SubscribedLog) async throws -> Void
) async throws {
    let sinks: [SinkID] = [.archive, .kinesis]
    switch kind {
    case .memory:
        let log = MemoryLog(sinks: sinks, maxBytes: maxBytes, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        try await body(SubscribedLog(log: log, checkpoint: {}))
        await log.close()
    case .disk:
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("sub-tests-\(UUID().uuidString)").path
        let path = directory ?? temporary
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: temporary) } }
        var configuration = WALConfiguration(directory: path, cursorNames: sinks.map(\.name))
        configuration.subscriptionCursorNames = ["s"].map { WriteAheadEventLog.cursorName(forSubscription: $0) }
        configuration.subscriptionRetention = .seconds(3600)
        configuration.segmentSizeBytes = 1000
        configuration.maxDiskBytes = maxBytes
        let wal = try WriteAheadLog.open(configuration)
        let log = WriteAheadEventLog(wal: wal, maxBytes: maxBytes, sinks: SinkTable(sinks))
        try await body(SubscribedLog(log: log, checkpoint: { try await wal.checkpoint() }))
        await log.close()
    }
}

/// An event received `millis` (Unix ms), routed to the archive and copied to no other sink.
func makeEvent(_ id: String, receivedAt millis: Int64) -> EventRecord {
    EventRecord(
        eventID: id, team: "t", app: "a", partitionKey: id, receivedAtMillis: millis, route: .local,
        envelope: Array("{\"v\":1,\"event_id\":\"\(id)\",\"padding\":\"\(String(repeating: "x", count: 60))\"}".utf8)
    )
}

/// Now, in Unix milliseconds.
private func nowMillis() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1000)
}

@Suite("Subscription cursors of the event logs", .timeLimit(.minutes(3)))
struct SubscriptionCursorTests {
    @Test(
        "a new subscription starts at its start, then at the position it committed; its reader sees every record",
        arguments: SubscribedLogKind.allCases)
    func positions(kind: SubscribedLogKind) async throws {
        try await withSubscribedLog(kind) { subject in
            let log = subject.log
            #expect(log.subscriptionPosition("s") == nil)
            #expect(log.firstSequence == 0)
            // Records for either sink: the subscription gets them all.
            let events = [
                makeEvent("e0"), makeEvent("e1", route: .kinesis(stream: "k"), archived: false), makeEvent("e2"),
                makeEvent("e3", route: .kinesis(stream: "k"), archived: false), makeEvent("e4"),
            ]
            _ = try await log.append(events)
            let reader = try log.makeSubscriptionReader("s", start: 2)
            #expect(try await reader.next(maxRecords: 10, maxBytes: 1 << 20).map(\.sequence) == [2, 3, 4])
            #expect(log.subscriptionPosition("s") == nil) // reading is not committing
            log.commitSubscription("s", next: 4)
            #expect(log.subscriptionPosition("s") == 4)
            log.commitSubscription("s", next: 1) // lower values are ignored
            #expect(log.subscriptionPosition("s") == 4)
            // The stored position wins over `start`.
            let resumed = try log.makeSubscriptionReader("s", start: 0)
            #expect(try await resumed.next(maxRecords: 10, maxBytes: 1 << 20).map(\.event.eventID) == ["e4"])
            // Replay.
            try resumed.seek(to: 0)
            #expect(try await resumed.next(maxRecords: 10, maxBytes: 1 << 20).map(\.event.eventID) == ["e0", "e1", "e2", "e3", "e4"])
            // Sink cursors are unaffected.
            #expect(log.stats.cursors.values.allSatisfy { $0 == 0 })
        }
    }

    @Test(
        "a subscription reader waits for appends, and returns nothing when cancelled or closed",
        arguments: SubscribedLogKind.allCases)
    func waiting(kind: SubscribedLogKind) async throws {
        try await withSubscribedLog(kind) { subject in
            let log = subject.log
            let reader = try log.makeSubscriptionReader("s", start: log.nextSequence)
            async let next = reader.next(maxRecords: 10, maxBytes: 1 << 20)
            _ = try await log.append([makeEvent("late")])
            #expect(try await next.map(\.event.eventID) == ["late"])
            let cancelled = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
            cancelled.cancel()
            #expect(try await cancelled.value.isEmpty)
            let waiting = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
            await log.close()
            #expect(try await waiting.value.isEmpty)
        }
    }

    @Test(
        "a lagging subscription does not hold records older than the retention: it sees a gap",
        arguments: SubscribedLogKind.allCases)
    func gap(kind: SubscribedLogKind) async throws {
        try await withSubscribedLog(kind) { subject in
            let log = subject.log
            let threeHoursAgo = nowMillis() - 3 * 3_600_000
            _ = try await log.append((0..<30).map { makeEvent("old\($0)", receivedAt: threeHoursAgo) })
            log.commitSubscription("s", next: 1)
            log.commit(.archive, next: 30)
            log.commit(.kinesis, next: 30)
            try await subject.checkpoint()
            let first = log.firstSequence
            #expect(first > 1)
            #expect(log.subscriptionPosition("s") == 1)
            _ = try await log.append([makeEvent("new", receivedAt: nowMillis())])
            let records = try await log.makeSubscriptionReader("s", start: 0).next(maxRecords: 100, maxBytes: 1 << 20)
            #expect(records.first?.sequence == first)
            #expect(records.last?.event.eventID == "new")
        }
    }

    @Test("a sink cursor holds records whatever the retention", arguments: SubscribedLogKind.allCases)
    func sinkHolds(kind: SubscribedLogKind) async throws {
        try await withSubscribedLog(kind) { subject in
            let log = subject.log
            let threeHoursAgo = nowMillis() - 3 * 3_600_000
            _ = try await log.append((0..<30).map { makeEvent("old\($0)", receivedAt: threeHoursAgo) })
            log.commitSubscription("s", next: 30)
            log.commit(.archive, next: 30)
            try await subject.checkpoint()
            #expect(log.firstSequence == 0) // kinesis has not released anything
        }
    }

    @Test(
        "under quota pressure records only subscriptions hold are dropped instead of refusing the append",
        arguments: SubscribedLogKind.allCases)
    func quota(kind: SubscribedLogKind) async throws {
        let maxBytes = kind == .memory ? 20 * makeEvent("e000", receivedAt: 0).envelope.count : 5000
        try await withSubscribedLog(kind, maxBytes: maxBytes) { subject in
            let log = subject.log
            let now = nowMillis()
            // Half the quota, released by both sinks, recent, not read by the subscription: kept.
            var count = 0
            while log.stats.bytes < maxBytes / 2 {
                _ = try await log.append([makeEvent("e\(100 + count)", receivedAt: now)])
                count += 1
            }
            log.commit(.archive, next: UInt64(count))
            log.commit(.kinesis, next: UInt64(count))
            try await subject.checkpoint()
            #expect(log.firstSequence == 0)
            let released = UInt64(count)
            // Appending past the quota drops them; only the sinks' own backlog is refused, once it fills the quota.
            var refusal: EventLogError?
            while count < 1000 {
                do throws(EventLogError) {
                    _ = try await log.append([makeEvent("e\(100 + count)", receivedAt: now)])
                    count += 1
                } catch {
                    refusal = error
                    break
                }
            }
            #expect(refusal?.code == .full)
            #expect(log.firstSequence > 0)
            #expect(log.stats.bytes <= maxBytes)
            // Everything the subscription alone held went before the refusal; nothing the sinks hold did. (The
            // durable log lets go of whole segments: the one holding `released` stays.)
            if kind == .memory {
                #expect(log.firstSequence == released)
            } else {
                #expect(log.firstSequence <= released)
                #expect(released - log.firstSequence < 10)
            }
            let records = try await log.makeSubscriptionReader("s", start: 0).next(maxRecords: 1, maxBytes: 1 << 20)
            #expect(records.first?.sequence == log.firstSequence)
        }
    }

    @Test("a subscription's position is persisted by the durable log")
    func persisted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sub-tests-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withSubscribedLog(.disk, directory: directory) { subject in
            _ = try await subject.log.append((0..<5).map { makeEvent("e\($0)") })
            #expect(subject.log.subscriptionPosition("s") == nil)
            subject.log.commitSubscription("s", next: 3)
        }
        try await withSubscribedLog(.disk, directory: directory) { subject in
            #expect(subject.log.subscriptionPosition("s") == 3)
            let records = try await subject.log.makeSubscriptionReader("s", start: 0).next(maxRecords: 10, maxBytes: 1 << 20)
            #expect(records.map(\.sequence) == [3, 4])
        }
    }
}
