// Public value types of the write-ahead log: configuration, entries, records, receipts,
// errors, the recovery report and live statistics.

/// How the log makes appended data durable (when it calls `fdatasync`).
public enum FsyncPolicy: Sendable, Equatable {
    /// Every append returns only after an `fdatasync` covering its records (group commit shares one
    /// sync among all appends gathered into the same batch). Survives power loss.
    case always
    /// Appends return after `write()`; the writer calls `fdatasync` at most once per interval, and only if
    /// something was written since the last sync. Survives a process crash; power loss may lose up to
    /// about one interval of acknowledged appends.
    case interval(Duration)
    /// Appends return after `write()`; `fdatasync` only when a segment is sealed, at `checkpoint()` and at
    /// `close()`. Survives a process crash; power loss may lose everything since the last seal/checkpoint.
    case never
}

/// Configuration of a ``WriteAheadLog``.
public struct WALConfiguration: Sendable {
    /// Directory holding segment and cursor files; created (with parents) if missing.
    public var directory: String
    /// A segment is sealed (synced) once it reaches this size and a new one is begun.
    public var segmentSizeBytes: Int = 64 << 20
    /// When the log calls `fdatasync`.
    public var fsync: FsyncPolicy = .interval(.milliseconds(10))
    /// Quota over the sizes of all segment files; appends that would exceed it throw `.quotaExceeded` (with
    /// ``subscriptionCursorNames``, only once no segment held for subscriptions alone is left to delete).
    public var maxDiskBytes: Int = 1 << 30
    /// Budget (in encoded record bytes) of recent records kept in memory, so readers that keep up never read files.
    public var memoryTailBytes: Int = 32 << 20
    /// The cursors (sinks) that read this log; a segment is deleted only once all of them have passed it.
    /// Names match `[A-Za-z0-9._-]+`.
    public var cursorNames: [String]
    /// Cursors of subscriptions: consumers that read the log at their own pace and must never hold intake back.
    /// Persisted, read and committed like ``cursorNames`` (``WriteAheadLog/makeReader(cursor:)``,
    /// ``WriteAheadLog/commit(cursor:next:)``), but they hold no segment: a subscription that falls behind
    /// retention finds a gap (its reader continues at the oldest retained record). Configuring any switches
    /// retention to keep segments every sink cursor passed for ``subscriptionRetention`` or until disk space is
    /// needed (see ``WriteAheadLog`` and docs/write-ahead-log.md). Names match `[A-Za-z0-9._-]+` and differ from
    /// ``cursorNames``.
    public var subscriptionCursorNames: [String] = []
    /// With ``subscriptionCursorNames`` or ``retainReleasedSegments``: how long a sealed segment every sink cursor
    /// passed is kept, counted from the newest `receivedAtMillis` among its records (against the wall clock), unless
    /// disk space is needed first. Ignored otherwise.
    public var subscriptionRetention: Duration = .zero
    /// Keeps segments every sink cursor passed under ``subscriptionRetention`` even without subscription cursors,
    /// for readers that hold no cursor (``WriteAheadLog/makeReader(at:)``: live streams, the events API).
    public var retainReleasedSegments = false

    /// Whether released segments are kept for subscriptions and cursorless readers (see ``subscriptionRetention``).
    var retainsReleasedSegments: Bool { retainReleasedSegments || !subscriptionCursorNames.isEmpty }
    /// How often the maintenance thread persists changed cursors, deletes segments every cursor has passed and
    /// refreshes cursor ages, when nothing wakes it sooner (a quota refusal, ``WriteAheadLog/checkpoint()``, close).
    /// Independent of the fsync policy: a cursor only bounds redelivery after a crash, and rewriting cursor files
    /// (two syncs each) every 10 ms cost a sink that commits often, such as Kinesis, about a tenth of its CPU per
    /// event (docs/benchmarks-pipeline.md).
    public var maintenanceInterval: Duration = .milliseconds(100)

    /// Creates a configuration with the default sizes and policy.
    public init(directory: String, cursorNames: [String]) {
        self.directory = directory
        self.cursorNames = cursorNames
    }
}

/// What the caller appends.
public struct LogEntry: Sendable, Equatable {
    /// The event's identifier (stored as UTF-8).
    public var eventID: String
    /// Opaque routing bitmask, stored as is.
    public var routes: UInt32
    /// When the gateway received the event (milliseconds since the Unix epoch).
    public var receivedAtMillis: Int64
    /// The event body, stored as is.
    public var body: [UInt8]

    /// Creates an entry.
    public init(eventID: String, routes: UInt32, receivedAtMillis: Int64, body: [UInt8]) {
        self.eventID = eventID
        self.routes = routes
        self.receivedAtMillis = receivedAtMillis
        self.body = body
    }
}

/// A record read back from the log.
public struct LogRecord: Sendable, Equatable {
    /// The record's sequence number (gap-free, assigned in append order).
    public var sequence: UInt64
    /// The base sequence (file name) of the segment holding the record.
    public var segment: UInt64
    /// Byte offset of the record in its segment file.
    public var offset: Int
    /// The event's identifier.
    public var eventID: String
    /// Opaque routing bitmask as appended.
    public var routes: UInt32
    /// Receive time as appended (milliseconds since the Unix epoch).
    public var receivedAtMillis: Int64
    /// The event body as appended.
    public var body: [UInt8]

    /// Creates a record (the log creates these; public for tests and fakes of the dispatcher).
    public init(
        sequence: UInt64, segment: UInt64, offset: Int, eventID: String, routes: UInt32,
        receivedAtMillis: Int64, body: [UInt8]
    ) {
        self.sequence = sequence
        self.segment = segment
        self.offset = offset
        self.eventID = eventID
        self.routes = routes
        self.receivedAtMillis = receivedAtMillis
        self.body = body
    }

    /// The entry this record was appended from.
    public var entry: LogEntry {
        LogEntry(eventID: eventID, routes: routes, receivedAtMillis: receivedAtMillis, body: body)
    }
}

/// Where an appended record landed.
public struct AppendReceipt: Sendable, Equatable {
    /// The record's sequence number.
    public var sequence: UInt64
    /// The segment's base sequence, i.e. its file name.
    public var segment: UInt64
    /// Byte offset of the record in the segment file.
    public var offset: Int

    /// Creates a receipt.
    public init(sequence: UInt64, segment: UInt64, offset: Int) {
        self.sequence = sequence
        self.segment = segment
        self.offset = offset
    }
}

/// A typed error of the write-ahead log, carrying `errno` and the path involved where there is one.
public struct WALError: Error, Sendable, CustomStringConvertible {
    /// The kind of error (an opaque, extensible set of values).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case quotaExceeded, io, corrupt, closed, invalidConfiguration, invalidArgument
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The append would push the segment files over `maxDiskBytes`; nothing was written.
        public static let quotaExceeded = Code(.quotaExceeded)
        /// A system call failed (see `errno` and `path`). After a failed write or sync the log refuses
        /// further appends with this code until it is reopened (recovery then truncates any torn tail).
        public static let io = Code(.io)
        /// A record failed verification (see `path`, `segment`, `offset`).
        public static let corrupt = Code(.corrupt)
        /// The log is closed.
        public static let closed = Code(.closed)
        /// The configuration is invalid (bad cursor name, sizes, directory in use…).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// An argument is invalid: unknown cursor, seek outside the retained range, entry too large.
        public static let invalidArgument = Code(.invalidArgument)

        /// The code's name.
        public var description: String {
            switch value {
            case .quotaExceeded: "quotaExceeded"
            case .io: "io"
            case .corrupt: "corrupt"
            case .closed: "closed"
            case .invalidConfiguration: "invalidConfiguration"
            case .invalidArgument: "invalidArgument"
            }
        }
    }

    /// What kind of error this is.
    public var code: Code
    /// Human-readable detail.
    public var message: String
    /// The `errno` of the failed system call, if one failed.
    public var errno: Int32?
    /// The file or directory involved, if any.
    public var path: String?
    /// For `.corrupt`: the base sequence of the segment holding the damaged record.
    public var segment: UInt64?
    /// For `.corrupt`: the byte offset of the damaged record in its segment.
    public var offset: Int?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, errno: Int32? = nil, path: String? = nil,
        segment: UInt64? = nil, offset: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.errno = errno
        self.path = path
        self.segment = segment
        self.offset = offset
    }

    /// `code: message (path, errno N: text, segment S offset O)`.
    public var description: String {
        var parts: [String] = []
        if let path { parts.append(path) }
        if let errno { parts.append("errno \(errno): \(errnoDescription(errno))") }
        if let segment { parts.append("segment \(segment)") }
        if let offset { parts.append("offset \(offset)") }
        return parts.isEmpty ? "WALError.\(code): \(message)" : "WALError.\(code): \(message) (\(parts.joined(separator: ", ")))"
    }
}

/// What recovery found when the log was opened.
public struct RecoveryReport: Sendable, Equatable {
    /// Segment files whose records were read and verified (the tail segment).
    public var segmentsScanned: Int
    /// Records retained in the log after recovery (`nextSequence - firstSequence`).
    public var recordsRecovered: Int
    /// Bytes cut off the end of a segment because they held a torn or damaged record (0 if none).
    public var truncatedBytes: Int
    /// The segment that was truncated, if any.
    public var truncatedSegment: UInt64?
    /// Why it was truncated (e.g. "incomplete record at offset 4096"), if it was.
    public var reason: String?
}

/// Live figures of the log, for `/health` and `/metrics`.
public struct WALStats: Sendable, Equatable {
    /// Total size of all segment files.
    public var diskBytes: Int
    /// Number of segment files (including the active one).
    public var segmentCount: Int
    /// Sequence of the oldest retained record (equals `nextSequence` when nothing is retained).
    public var firstSequence: UInt64
    /// Sequence the next appended record will get.
    public var nextSequence: UInt64
    /// Next sequence each sink cursor (`cursorNames`) will deliver (its committed position, at least `firstSequence`).
    public var cursors: [String: UInt64]
    /// Committed position of each subscription cursor (`subscriptionCursorNames`), not raised to `firstSequence`:
    /// a value below it means retention deleted records the subscription had not read.
    public var subscriptionCursors: [String: UInt64]
    /// True while appends are being refused: closed, failed after an I/O error, or the last append hit the
    /// quota and no space has been freed (or append accepted) since.
    public var isRefusingIntake: Bool
    /// For each sink cursor: `receivedAtMillis` of the record at its position, nil if it is caught up.
    /// Exact when that record is in the memory tail; otherwise the value computed by the background work
    /// (at most one maintenance period old), or, before that, the oldest record still in memory.
    public var oldestUnacknowledgedMillis: [String: Int64?]
}
