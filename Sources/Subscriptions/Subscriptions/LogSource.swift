import GatewayCore
public import GatewayLog
import Synchronization

/// The gateway's own log as a subscription source: the records of some streams, from the subscription's own
/// cursor (persisted by the log, holding nothing: see docs/subscriptions.md, retention).
public final class LogSource: SubscriptionSource {
    let name: String
    let streams: [StreamPattern]
    let startingPosition: SubscriptionSettings.StartingPosition
    let log: any EventLog
    private struct State {
        var reader: (any EventLogReader)?
        /// The next sequence the reader returns (a record before it that the reader skips was dropped).
        var expected: UInt64 = 0
        /// Records received before this Unix ms are passed over (`at_timestamp`, a replay by time).
        var skipBefore: Int64?
        var committed: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(name: String, streams: [StreamPattern], startingPosition: SubscriptionSettings.StartingPosition, log: any EventLog) {
        self.name = name
        self.streams = streams
        self.startingPosition = startingPosition
        self.log = log
    }

    public func start() async throws {
        var start: UInt64
        var skipBefore: Int64?
        if let stored = log.subscriptionPosition(name) {
            start = stored
        } else {
            switch startingPosition {
            case .trimHorizon: start = log.firstSequence
            case .latest: start = log.nextSequence
            case .atTimestamp(let millis):
                start = log.firstSequence
                skipBefore = millis
            }
            log.commitSubscription(name, next: start)
        }
        let reader = try log.makeSubscriptionReader(name, start: start)
        start = log.subscriptionPosition(name) ?? start
        state.withLock {
            $0.reader = reader
            $0.expected = start
            $0.committed = start
            $0.skipBefore = skipBefore
        }
    }

    public func next(maxRecords: Int) async throws -> SourceRead {
        guard let reader = state.withLock({ $0.reader }) else { return SourceRead() }
        let records = try await reader.next(maxRecords: maxRecords, maxBytes: 16 << 20)
        guard let last = records.last?.sequence, let first = records.first?.sequence else { return SourceRead() }
        return state.withLock { s in
            var read = SourceRead(checkpoint: .log(next: last + 1))
            if first > s.expected { read.gaps.append(s.expected...(first - 1)) }
            s.expected = last + 1
            for record in records where streams.contains(where: { $0.matches(team: record.event.team, app: record.event.app) }) {
                if let cutoff = s.skipBefore {
                    if record.event.receivedAtMillis < cutoff { continue }
                    s.skipBefore = nil
                }
                read.records.append(SubscriptionRecord(record))
            }
            return read
        }
    }

    public func commit(_ checkpoint: SourceCheckpoint) async throws {
        guard case .log(let next) = checkpoint else { return }
        log.commitSubscription(name, next: next)
        state.withLock { $0.committed = max($0.committed, next) }
    }

    public func replay(to target: ReplayTarget) async throws {
        let first = log.firstSequence
        let position: UInt64
        var skipBefore: Int64?
        switch target {
        case .timestamp(let millis):
            position = first
            skipBefore = millis
        case .sequence(let sequence):
            position = min(max(sequence, first), log.nextSequence)
        case .offsets:
            throw SubscriptionSourceError("the log source replays to a timestamp or a sequence, not to Kafka offsets")
        }
        guard let reader = state.withLock({ $0.reader }) else { return }
        try reader.seek(to: position)
        log.rewindSubscription(name, to: position)
        state.withLock {
            $0.expected = position
            $0.committed = position
            $0.skipBefore = skipBefore
        }
    }

    public func stop() async {}

    public var progress: SourceProgress {
        let committed = state.withLock { $0.committed }
        let next = log.nextSequence
        return SourceProgress(
            positionsJSON: "[{\"partition\":\"log\",\"sequence\":\(committed)}]", lagRecords: next > committed ? next - committed : 0)
    }

    public var descriptionJSON: String {
        "{\"log\":{\"streams\":[" + streams.map { EnvelopeWriter.jsonString($0.description) }.joined(separator: ",") + "]}}"
    }
}
