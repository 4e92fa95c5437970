public import GatewayCore
public import GatewayLog
import Synchronization

/// One stream's events read from the log from a position on, without a cursor: what a live connection and an events
/// page read. It holds nothing in the log; a position the log no longer holds shows up as a gap.
public final class LiveFeed: Sendable {
    /// What one read found.
    public struct Read: Sendable {
        /// The matching events, in log order.
        public var events: [SinkRecord] = []
        /// Sequences the log dropped (retention) before they could be read, when there is such a gap.
        public var skipped: ClosedRange<UInt64>?
        /// The position after this read: the next sequence to read (a resume point).
        public var next: UInt64
    }

    let team: String
    let app: String
    let filter: LiveFilter
    let reader: any EventLogReader
    private let expected: Mutex<UInt64>

    /// A feed of `team/app` from `sequence` (the log's next sequence for "from now on"). A `sequence` older than the
    /// log's oldest record starts at that record; the caller announces that gap (the feed reports later ones).
    /// - Throws: ``EventLogError`` when the log is closed.
    public init(log: any EventLog, team: String, app: String, filter: LiveFilter, from sequence: UInt64) throws(EventLogError) {
        self.team = team
        self.app = app
        self.filter = filter
        self.reader = try log.makeTailReader(from: sequence)
        self.expected = Mutex(max(sequence, log.firstSequence))
    }

    /// Waits for records after the position and returns the matching ones (maybe none, when the records read were
    /// other streams'). Returns with no events and the same position when the task is cancelled or the log closed.
    /// - Throws: ``EventLogError`` when the log cannot be read.
    public func next(maxRecords: Int = 500, maxBytes: Int = 4 << 20) async throws(EventLogError) -> Read {
        let records = try await reader.next(maxRecords: maxRecords, maxBytes: maxBytes)
        return expected.withLock { expected in
            guard let first = records.first?.sequence, let last = records.last?.sequence else { return Read(next: expected) }
            var read = Read(next: last + 1)
            if first > expected { read.skipped = expected...(first - 1) }
            expected = last + 1
            read.events = records.filter {
                $0.event.team == team && $0.event.app == app
                    && filter.matches(partitionKey: $0.event.partitionKey, envelope: $0.event.envelope)
            }
            return read
        }
    }
}

/// The JSON of one event as the live streams and the events API send it:
/// `{"sequence":N,"received_at_ms":M,"event":<the envelope, byte for byte>}`.
public enum LiveMessage {
    /// Appends `record`'s JSON to `out`.
    public static func append(_ record: SinkRecord, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"sequence":"#.utf8)
        out.append(contentsOf: String(record.sequence).utf8)
        out.append(contentsOf: #","received_at_ms":"#.utf8)
        out.append(contentsOf: String(record.event.receivedAtMillis).utf8)
        out.append(contentsOf: #","event":"#.utf8)
        out.append(contentsOf: record.event.envelope)
        out.append(UInt8(ascii: "}"))
    }

    /// `{"type":"lagged","skipped_from":A,"skipped_to":B,"resume_from":C}`: the log no longer held A…B.
    public static func lagged(_ skipped: ClosedRange<UInt64>, resumeFrom: UInt64) -> [UInt8] {
        Array(
            #"{"type":"lagged","skipped_from":\#(skipped.lowerBound),"skipped_to":\#(skipped.upperBound),"resume_from":\#(resumeFrom)}"#
                .utf8)
    }
}

/// Server-sent events framing (the WHATWG `text/event-stream` format) of the live messages.
public enum ServerSentEvents {
    /// `id: N` / `data: {…}` and a blank line per event; the id is the sequence, so `Last-Event-ID` resumes after it.
    /// A payload's raw line breaks (JSON whitespace, forwarded byte for byte) become further `data:` lines, which the
    /// client joins with `\n`: the same JSON.
    public static func append(_ record: SinkRecord, to out: inout [UInt8]) {
        out.append(contentsOf: "id: ".utf8)
        out.append(contentsOf: String(record.sequence).utf8)
        out.append(contentsOf: "\ndata: ".utf8)
        let envelope = record.event.envelope
        if envelope.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            var message: [UInt8] = []
            LiveMessage.append(record, to: &message)
            var previous: UInt8 = 0
            for byte in message {
                switch byte {
                case UInt8(ascii: "\n") where previous == UInt8(ascii: "\r"): break // the \n of a \r\n
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"): out.append(contentsOf: "\ndata: ".utf8)
                default: out.append(byte)
                }
                previous = byte
            }
        } else {
            LiveMessage.append(record, to: &out)
        }
        out.append(contentsOf: "\n\n".utf8)
    }

    /// An `event: lagged` notice.
    public static func appendLagged(_ skipped: ClosedRange<UInt64>, resumeFrom: UInt64, to out: inout [UInt8]) {
        out.append(contentsOf: "event: lagged\ndata: ".utf8)
        out.append(contentsOf: LiveMessage.lagged(skipped, resumeFrom: resumeFrom))
        out.append(contentsOf: "\n\n".utf8)
    }

    /// A comment line: keeps idle connections (and proxies) alive; clients ignore it.
    public static let ping = Array(": ping\n\n".utf8)
}

/// Counts open live connections against `live.max_connections`.
public final class LiveConnectionLimit: Sendable {
    public let maximum: Int
    private let open = Mutex(0)

    public init(maximum: Int) {
        self.maximum = maximum
    }

    /// Takes a slot; false when all are taken.
    public func acquire() -> Bool {
        open.withLock { open in
            guard open < maximum else { return false }
            open += 1
            return true
        }
    }

    public func release() {
        open.withLock { $0 = max(0, $0 - 1) }
    }
}

/// A one-shot signal that ends live connections (graceful shutdown): ``wait()`` returns once ``stop()`` was called,
/// or at once after it.
public final class LiveStop: Sendable {
    private struct State {
        var stopped = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once stopped, or when the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.stopped || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
