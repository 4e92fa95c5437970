public import GatewayCore
import Synchronization
public import WriteAheadLog

/// The durable ``EventLog``: ``EventRecord``s stored in the embedded write-ahead log, one cursor per sink and one
/// subscription cursor (``cursorName(forSubscription:)``) per subscription.
public final class WriteAheadEventLog: EventLog {
    let wal: WriteAheadLog
    let maxBytes: Int
    let sinks: SinkTable

    /// The log over an opened write-ahead log whose cursors are the registered `sinks` and whose subscription
    /// cursors are ``cursorName(forSubscription:)`` of each subscription.
    public init(wal: WriteAheadLog, maxBytes: Int, sinks: SinkTable) {
        self.wal = wal
        self.maxBytes = maxBytes
        self.sinks = sinks
    }

    /// The write-ahead log cursor of subscription `name` (`sub-<name>`), for `WALConfiguration.subscriptionCursorNames`.
    public static func cursorName(forSubscription name: String) -> String {
        "sub-" + name
    }

    public func append(_ records: [EventRecord]) async throws(EventLogError) -> [LogPosition] {
        let entries = records.map {
            LogEntry(eventID: $0.eventID, routes: $0.sinks.rawValue, receivedAtMillis: $0.receivedAtMillis, body: $0.encodedBody())
        }
        do {
            return try await wal.append(entries).map { LogPosition(sequence: $0.sequence, segment: $0.segment, offset: $0.offset) }
        } catch {
            throw Self.wrap(error)
        }
    }

    public func makeReader(for sink: SinkID) throws(EventLogError) -> any EventLogReader {
        do {
            return Reader(reader: try wal.makeReader(cursor: sink.name), sinks: sinks)
        } catch {
            throw Self.wrap(error)
        }
    }

    public func commit(_ sink: SinkID, next: UInt64) {
        wal.commit(cursor: sink.name, next: next)
    }

    public func makeTailReader(from sequence: UInt64) throws(EventLogError) -> any EventLogReader {
        do {
            return Reader(reader: try wal.makeReader(at: sequence), sinks: sinks)
        } catch {
            throw Self.wrap(error)
        }
    }

    public func makeSubscriptionReader(_ name: String, start: UInt64) throws(EventLogError) -> any EventLogReader {
        let cursor = Self.cursorName(forSubscription: name)
        let reader: LogReader
        do {
            reader = try wal.makeReader(cursor: cursor)
        } catch {
            throw Self.wrap(error)
        }
        if !wal.hasCursorPosition(cursor) {
            do {
                try reader.seek(to: min(max(start, wal.firstSequence), wal.nextSequence))
            } catch {
                // Retention passed `start` meanwhile: the reader stays at the oldest retained record.
            }
        }
        return Reader(reader: reader, sinks: sinks)
    }

    public func commitSubscription(_ name: String, next: UInt64) {
        wal.commit(cursor: Self.cursorName(forSubscription: name), next: next)
    }

    public func rewindSubscription(_ name: String, to next: UInt64) {
        wal.rewind(cursor: Self.cursorName(forSubscription: name), to: next)
    }

    public func subscriptionPosition(_ name: String) -> UInt64? {
        let cursor = Self.cursorName(forSubscription: name)
        guard wal.hasCursorPosition(cursor) else { return nil }
        return wal.stats.subscriptionCursors[cursor]
    }

    public var nextSequence: UInt64 { wal.nextSequence }

    public var firstSequence: UInt64 { wal.firstSequence }

    public var stats: EventLogStats {
        let stats = wal.stats
        var cursors: [SinkID: UInt64] = [:]
        var oldest: [SinkID: Int64] = [:]
        for sink in sinks.sinks {
            if let cursor = stats.cursors[sink.name] { cursors[sink] = cursor }
            if let millis = stats.oldestUnacknowledgedMillis[sink.name] ?? nil { oldest[sink] = millis }
        }
        return EventLogStats(
            kind: "disk", bytes: stats.diskBytes, maxBytes: maxBytes, nextSequence: stats.nextSequence,
            cursors: cursors, oldestUnreleasedMillis: oldest, isRefusingIntake: stats.isRefusingIntake
        )
    }

    public func close() async {
        await wal.close()
    }

    static func wrap(_ error: WALError) -> EventLogError {
        switch error.code {
        case .quotaExceeded: EventLogError(code: .full, message: error.description)
        case .closed: EventLogError(code: .closed, message: error.description)
        case .corrupt: EventLogError(code: .corrupt, message: error.description)
        default: EventLogError(code: .io, message: error.description)
        }
    }

    /// Decodes log records into sink records. A record whose body cannot be decoded is skipped (the dispatcher
    /// releases the gap it leaves); that only happens with a body written by an incompatible version.
    final class Reader: EventLogReader {
        let reader: LogReader
        let sinks: SinkTable
        let undecodable = Atomic<Int>(0)

        init(reader: LogReader, sinks: SinkTable) {
            self.reader = reader
            self.sinks = sinks
        }

        func next(maxRecords: Int, maxBytes: Int) async throws(EventLogError) -> [SinkRecord] {
            let records: [LogRecord]
            do {
                records = try await reader.next(maxRecords: maxRecords, maxBytes: maxBytes)
            } catch {
                throw WriteAheadEventLog.wrap(error)
            }
            return records.compactMap { record in
                do {
                    let event = try EventRecord(
                        decoding: record.body, eventID: record.eventID, receivedAtMillis: record.receivedAtMillis, sinks: sinks)
                    return SinkRecord(
                        position: LogPosition(sequence: record.sequence, segment: record.segment, offset: record.offset),
                        event: event
                    )
                } catch {
                    undecodable.add(1, ordering: .relaxed)
                    return nil
                }
            }
        }

        func seek(to sequence: UInt64) throws(EventLogError) {
            do {
                try reader.seek(to: sequence)
            } catch {
                throw WriteAheadEventLog.wrap(error)
            }
        }
    }
}
