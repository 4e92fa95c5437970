public import GatewayCore
import Synchronization

/// The log for `durability.mode: memory`: records live in memory until every sink released them.
///
/// Accepted events are lost if the process dies (as with the KPL or aiokpl); memory is bounded by `maxBytes`,
/// past which appends fail with ``EventLogError/Code/full`` (503 at the edge), never unbounded growth.
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
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false
        var isRefusing = false

        var retainedCount: Int { records.count - head }

        func record(at sequence: UInt64) -> SinkRecord? {
            guard sequence >= firstSequence, sequence < nextSequence else { return nil }
            return records[head + Int(sequence - firstSequence)]
        }
    }

    private let state: Mutex<State>
    private let maxBytes: Int

    /// Creates an empty log read by `sinks`, holding at most `maxBytes` of envelopes.
    public init(sinks: [SinkID], maxBytes: Int) {
        self.maxBytes = maxBytes
        self.state = Mutex(State(cursors: Dictionary(uniqueKeysWithValues: sinks.map { ($0, 0) })))
    }

    public func append(_ records: [EventRecord]) async throws(EventLogError) -> [LogPosition] {
        let size = records.reduce(0) { $0 + $1.envelope.count }
        let result: Result<([LogPosition], [Waiter]), EventLogError> = state.withLock { state in
            if state.isClosed { return .failure(EventLogError(code: .closed, message: "the log is closed")) }
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
        state.withLock { state in
            guard let current = state.cursors[sink], next > current else { return }
            state.cursors[sink] = next
            let oldestNeeded = state.cursors.values.min() ?? state.nextSequence
            while state.firstSequence < oldestNeeded, state.head < state.records.count {
                state.bytes -= state.records[state.head].event.envelope.count
                state.head += 1
                state.firstSequence += 1
            }
            // Compact once the dead prefix dominates, so memory follows the live records.
            if state.head > 1024, state.head * 2 > state.records.count {
                state.records.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    public var nextSequence: UInt64 { state.withLock { $0.nextSequence } }

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
