public import GatewayCore
import Synchronization

/// The log for `durability.mode: memory`: records live in memory until every sink released them.
///
/// Accepted events are lost if the process dies (as with the KPL or aiokpl); memory is bounded by `maxBytes`,
/// past which appends fail with ``EventLogError/Code/full`` (503 at the edge), never unbounded growth.
///
/// Subscription cursors live in memory only and hold nothing for long: a record every sink released is kept while
/// some subscription has not passed it, up to the subscription retention (checked on every append and commit), and
/// an append that would exceed `maxBytes` first drops such records, oldest first, instead of being refused.
public final class MemoryLog: EventLog {
    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, Never>
    }

    struct State {
        var records: [SinkRecord] = [] // records[i].sequence == firstSequence + i
        var head = 0 // index of the oldest retained record in `records`
        var firstSequence: UInt64 = 0
        var nextSequence: UInt64 = 0
        var bytes = 0
        var cursors: [SinkID: UInt64]
        /// Subscriptions and their committed positions (nil until the first commit).
        var subscriptions: [String: UInt64?]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false
        var isRefusing = false
        /// Keeps released records under the retention without subscriptions too (live streams, the events API).
        var retainsReleased = false

        var retainedCount: Int { records.count - head }

        func record(at sequence: UInt64) -> SinkRecord? {
            guard sequence >= firstSequence, sequence < nextSequence else { return nil }
            return records[head + Int(sequence - firstSequence)]
        }

        /// Forgets the oldest records every sink released: all of them without subscriptions; with subscriptions,
        /// those every subscription passed or received before `cutoffMillis`, and any of them while
        /// `bytes + room > maxBytes`.
        mutating func trim(cutoffMillis: Int64, room: Int, maxBytes: Int) {
            let released = cursors.values.min() ?? nextSequence
            let passed = subscriptions.values.lazy.map { $0 ?? 0 }.min() ?? (retainsReleased ? 0 : nil)
            while firstSequence < released, head < records.count {
                if let passed, firstSequence >= passed, records[head].event.receivedAtMillis >= cutoffMillis,
                    bytes + room <= maxBytes
                {
                    break
                }
                bytes -= records[head].event.envelope.count
                head += 1
                firstSequence += 1
            }
            // Compact once the dead prefix dominates, so memory follows the live records.
            if head > 1024, head * 2 > records.count {
                records.removeFirst(head)
                head = 0
            }
        }
    }

    private let state: Mutex<State>
    private let maxBytes: Int
    private let retentionMillis: Int64

    /// Creates an empty log read by `sinks`, holding at most `maxBytes` of envelopes, with in-memory cursors for
    /// `subscriptions` that keep records every sink released for up to `subscriptionRetention` (see the type's notes);
    /// `retainReleased` keeps them so without subscriptions too (for ``makeTailReader(from:)``).
    public init(
        sinks: [SinkID], maxBytes: Int, subscriptions: [String] = [], subscriptionRetention: Duration = .zero, retainReleased: Bool = false
    ) {
        self.maxBytes = maxBytes
        let (seconds, attoseconds) = max(subscriptionRetention, .zero).components
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        self.retentionMillis = overflow ? Int64.max / 2 : millis + attoseconds / 1_000_000_000_000_000
        self.state = Mutex(
            State(
                cursors: Dictionary(uniqueKeysWithValues: sinks.map { ($0, 0) }),
                subscriptions: Dictionary(subscriptions.map { ($0, UInt64?.none) }, uniquingKeysWith: { first, _ in first }),
                retainsReleased: retainReleased
            ))
    }

    /// The oldest receive time (Unix ms) a record kept only for subscriptions may have.
    private var cutoffMillis: Int64 {
        Timestamp.nowMillis() - retentionMillis
    }

    public func append(_ records: [EventRecord]) async throws(EventLogError) -> [LogPosition] {
        let size = records.reduce(0) { $0 + $1.envelope.count }
        let cutoff = cutoffMillis
        let result: Result<([LogPosition], [Waiter]), EventLogError> = state.withLock { state in
            if state.isClosed { return .failure(EventLogError(code: .closed, message: "the log is closed")) }
            if !state.subscriptions.isEmpty || state.retainsReleased {
                state.trim(cutoffMillis: cutoff, room: size <= maxBytes ? size : 0, maxBytes: maxBytes)
            }
            if state.bytes + size > maxBytes {
                state.isRefusing = true
                return .failure(EventLogError(code: .full, message: "the in-memory log holds \(state.bytes) bytes, its limit is \(maxBytes)"))
            }
            state.isRefusing = false
            var positions: [LogPosition] = []
            positions.reserveCapacity(records.count)
            for record in records {
                let position = LogPosition(sequence: state.nextSequence, segment: 0, offset: 0)
                state.records.append(SinkRecord(position: position, event: record))
                state.nextSequence += 1
                positions.append(position)
            }
            state.bytes += size
            let waiters = state.waiters
            state.waiters.removeAll()
            return .success((positions, waiters))
        }
        let (positions, waiters) = try result.get()
        for waiter in waiters { waiter.continuation.resume() }
        return positions
    }

    public func makeReader(for sink: SinkID) throws(EventLogError) -> any EventLogReader {
        let start = state.withLock { $0.cursors[sink] ?? $0.firstSequence }
        return Reader(log: self, position: start)
    }

    public func commit(_ sink: SinkID, next: UInt64) {
        let cutoff = cutoffMillis
        state.withLock { state in
            guard let current = state.cursors[sink], next > current else { return }
            state.cursors[sink] = next
            state.trim(cutoffMillis: cutoff, room: 0, maxBytes: maxBytes)
        }
    }

    public func makeTailReader(from sequence: UInt64) throws(EventLogError) -> any EventLogReader {
        let position = state.withLock { state in min(max(sequence, state.firstSequence), state.nextSequence) }
        return Reader(log: self, position: position)
    }

    public func makeSubscriptionReader(_ name: String, start: UInt64) throws(EventLogError) -> any EventLogReader {
        let position: UInt64? = state.withLock { state in
            guard let stored = state.subscriptions[name] else { return nil }
            return stored ?? min(max(start, state.firstSequence), state.nextSequence)
        }
        guard let position else { throw EventLogError(code: .io, message: "unknown subscription \"\(name)\"") }
        return Reader(log: self, position: position)
    }

    public func commitSubscription(_ name: String, next: UInt64) {
        let cutoff = cutoffMillis
        state.withLock { state in
            guard let stored = state.subscriptions[name] else { return }
            let value = min(next, state.nextSequence)
            if let current = stored, value <= current { return }
            state.subscriptions[name] = .some(value)
            state.trim(cutoffMillis: cutoff, room: 0, maxBytes: maxBytes)
        }
    }

    public func rewindSubscription(_ name: String, to next: UInt64) {
        state.withLock { state in
            guard state.subscriptions[name] != nil else { return }
            state.subscriptions[name] = .some(min(next, state.nextSequence))
        }
    }

    public func subscriptionPosition(_ name: String) -> UInt64? {
        state.withLock { $0.subscriptions[name] ?? nil }
    }

    public var nextSequence: UInt64 { state.withLock { $0.nextSequence } }

    public var firstSequence: UInt64 { state.withLock { $0.firstSequence } }

    public var stats: EventLogStats {
        state.withLock { state in
            var oldest: [SinkID: Int64] = [:]
            for (sink, cursor) in state.cursors {
                if let record = state.record(at: cursor) { oldest[sink] = record.event.receivedAtMillis }
            }
            return EventLogStats(
                kind: "memory", bytes: state.bytes, maxBytes: maxBytes, nextSequence: state.nextSequence,
                cursors: state.cursors, oldestUnreleasedMillis: oldest, isRefusingIntake: state.isRefusing
            )
        }
    }

    public func close() async {
        let waiters = state.withLock { state in
            state.isClosed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns records from `position`, or nil when the caller must wait.
    fileprivate func read(from position: UInt64, maxRecords: Int, maxBytes: Int) -> (records: [SinkRecord], closed: Bool) {
        state.withLock { state in
            let start = max(position, state.firstSequence)
            guard start < state.nextSequence else { return ([], state.isClosed) }
            var out: [SinkRecord] = []
            var bytes = 0
            var sequence = start
            while sequence < state.nextSequence, out.count < maxRecords, out.isEmpty || bytes < maxBytes,
                let record = state.record(at: sequence)
            {
                out.append(record)
                bytes += record.event.envelope.count
                sequence += 1
            }
            return (out, state.isClosed)
        }
    }

    /// Suspends until an append or close; returns at once if records past `position` already exist.
    fileprivate func waitForRecords(after position: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isClosed || position < state.nextSequence || Task.isCancelled { return true }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume()
        }
    }

    /// A reader of the in-memory log.
    final class Reader: EventLogReader {
        private let log: MemoryLog
        private let position: Mutex<UInt64>

        init(log: MemoryLog, position: UInt64) {
            self.log = log
            self.position = Mutex(position)
        }

        func next(maxRecords: Int, maxBytes: Int) async throws(EventLogError) -> [SinkRecord] {
            while !Task.isCancelled {
                let start = position.withLock { $0 }
                let (records, closed) = log.read(from: start, maxRecords: maxRecords, maxBytes: maxBytes)
                if let last = records.last {
                    position.withLock { $0 = last.sequence + 1 }
                    return records
                }
                if closed { return [] }
                await log.waitForRecords(after: start)
            }
            return []
        }

        func seek(to sequence: UInt64) throws(EventLogError) {
            position.withLock { $0 = sequence }
        }
    }
}
