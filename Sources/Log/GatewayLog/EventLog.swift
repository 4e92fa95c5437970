public import GatewayCore

/// The log between the router and the sinks: the durable write-ahead log, or memory (`durability.mode: memory`).
///
/// Every sink reads it through its own reader and cursor; a record is forgotten only once every sink's cursor passed it.
/// Subscriptions read it too, each through its own cursor, but hold nothing: a record every sink released is kept for
/// them only up to the subscription retention and while space allows (a subscription that falls behind sees a gap in
/// the sequences, intake never waits for it).
public protocol EventLog: Sendable {
    /// Appends records and returns their positions once they are as durable as the log promises
    /// (see `docs/durability.md`).
    /// - Throws: ``EventLogError`` with ``EventLogError/Code/full`` when the quota is reached (nothing appended).
    func append(_ records: [EventRecord]) async throws(EventLogError) -> [LogPosition]
    /// A reader starting at `sink`'s cursor.
    func makeReader(for sink: SinkID) throws(EventLogError) -> any EventLogReader
    /// Everything before sequence `next` is done with for `sink`.
    func commit(_ sink: SinkID, next: UInt64)
    /// A reader at `sequence` (clamped to what the log holds) that belongs to nobody: it holds nothing and persists
    /// nothing (live streams, the events API); it returns every record, whatever its sinks.
    func makeTailReader(from sequence: UInt64) throws(EventLogError) -> any EventLogReader
    /// A reader at subscription `name`'s stored position (or at `start` when it has none yet); it returns every
    /// record, whatever its sinks.
    func makeSubscriptionReader(_ name: String, start: UInt64) throws(EventLogError) -> any EventLogReader
    /// Subscription `name` is done with everything before `next` (persisted by the log's maintenance).
    func commitSubscription(_ name: String, next: UInt64)
    /// Moves subscription `name` back (or forward) to `next` for a replay; persisted like a commit.
    func rewindSubscription(_ name: String, to next: UInt64)
    /// The stored position of subscription `name`, nil when it has none yet (a new subscription).
    func subscriptionPosition(_ name: String) -> UInt64?
    /// Live figures for `/health` and `/metrics`.
    var stats: EventLogStats { get }
    /// The sequence the next append gets; cheap enough to read on every dispatcher iteration.
    var nextSequence: UInt64 { get }
    /// The oldest sequence the log still holds.
    var firstSequence: UInt64 { get }
    /// Syncs and closes; later appends fail.
    func close() async
}

/// Sequential reader over an ``EventLog`` for one sink or subscription.
public protocol EventLogReader: Sendable {
    /// Waits for at least one record at the reader's position and returns up to `maxRecords` (about `maxBytes`).
    /// Returns `[]` when the calling task is cancelled or the log is closed.
    func next(maxRecords: Int, maxBytes: Int) async throws(EventLogError) -> [SinkRecord]
    /// Moves the reader to `sequence` (to redeliver records a sink lost).
    func seek(to sequence: UInt64) throws(EventLogError)
}

/// Live figures of an ``EventLog``.
public struct EventLogStats: Sendable {
    /// `disk` or `memory`.
    public var kind: String
    /// Bytes the log holds (on disk, or in memory).
    public var bytes: Int
    /// The quota in bytes.
    public var maxBytes: Int
    /// The sequence the next append gets.
    public var nextSequence: UInt64
    /// Per sink: the next sequence it will deliver (everything before is released).
    public var cursors: [SinkID: UInt64]
    /// Per sink: when the oldest record it has not released was received (Unix ms), nil when caught up.
    public var oldestUnreleasedMillis: [SinkID: Int64]
    /// Whether appends are currently refused because the quota is reached.
    public var isRefusingIntake: Bool

    public init(
        kind: String, bytes: Int, maxBytes: Int, nextSequence: UInt64, cursors: [SinkID: UInt64],
        oldestUnreleasedMillis: [SinkID: Int64], isRefusingIntake: Bool
    ) {
        self.kind = kind
        self.bytes = bytes
        self.maxBytes = maxBytes
        self.nextSequence = nextSequence
        self.cursors = cursors
        self.oldestUnreleasedMillis = oldestUnreleasedMillis
        self.isRefusingIntake = isRefusingIntake
    }

    /// Records appended but not yet released by every sink.
    public var outstandingRecords: UInt64 {
        guard let oldest = cursors.values.min() else { return 0 }
        return nextSequence - min(oldest, nextSequence)
    }

    /// Records `sink` has not released yet.
    public func backlog(of sink: SinkID) -> UInt64 {
        nextSequence - min(cursors[sink] ?? nextSequence, nextSequence)
    }
}

/// A failure of the log.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    /// Opaque error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case full, io, closed, corrupt }
        private let value: Value
        /// The quota is reached: answer 503 with `Retry-After`.
        public static let full = Code(value: .full)
        /// A file system call failed.
        public static let io = Code(value: .io)
        /// The log is closed (shutting down).
        public static let closed = Code(value: .closed)
        /// A damaged record was found on disk.
        public static let corrupt = Code(value: .corrupt)
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
