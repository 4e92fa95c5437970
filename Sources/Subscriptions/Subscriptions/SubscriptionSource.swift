/// Where a subscription reads from: the gateway's log, a Kafka consumer group (later a Kinesis stream).
///
/// A source filters what it reads (streams, a replay's start time), reports what it skipped, and persists its
/// position only when ``commit(_:)`` says everything read so far is done.
public protocol SubscriptionSource: Sendable {
    /// Finds or stores the starting position, joins a group: called once, when the subscription starts.
    func start() async throws
    /// Waits for records and returns them; returns early, possibly empty, when the calling task is cancelled
    /// (records already taken are still returned, never dropped).
    func next(maxRecords: Int) async throws -> SourceRead
    /// Everything `read` covers is delivered or a dead letter: move the durable position past it.
    func commit(_ checkpoint: SourceCheckpoint) async throws
    /// Moves the position to `target`; what was read and not committed is read again.
    func replay(to target: ReplayTarget) async throws
    /// Called once the subscription's loop ended (leaves a consumer group).
    func stop() async
    /// Positions and lag, for `GET /v1/subscriptions/{name}` and the gauges.
    var progress: SourceProgress { get }
    /// The source as the HTTP API shows it (JSON).
    var descriptionJSON: String { get }
    /// The topic of a Kafka source (replay to offsets names its partitions); nil for the others.
    var kafkaTopic: String? { get }
}

extension SubscriptionSource {
    public var kafkaTopic: String? { nil }
}

/// What one ``SubscriptionSource/next(maxRecords:)`` returned.
public struct SourceRead: Sendable {
    /// The records the subscription delivers, in source order.
    public var records: [SubscriptionRecord]
    /// Ranges of positions the source no longer held when the subscription got to them (dead letters).
    public var gaps: [ClosedRange<UInt64>]
    /// What to commit once `records` are done; nil when nothing was read.
    public var checkpoint: SourceCheckpoint?

    public init(records: [SubscriptionRecord] = [], gaps: [ClosedRange<UInt64>] = [], checkpoint: SourceCheckpoint? = nil) {
        self.records = records
        self.gaps = gaps
        self.checkpoint = checkpoint
    }

    /// This read followed by `later`.
    public func followed(by later: SourceRead) -> SourceRead {
        SourceRead(
            records: records + later.records, gaps: gaps + later.gaps,
            checkpoint: later.checkpoint.map { checkpoint?.merged(with: $0) ?? $0 } ?? checkpoint)
    }
}

/// A position to persist: the log's next sequence, or the next offset of each partition read.
public enum SourceCheckpoint: Sendable, Equatable {
    case log(next: UInt64)
    case partitions([PartitionOffset])

    /// `self` then `later`: the later position of every partition.
    public func merged(with later: SourceCheckpoint) -> SourceCheckpoint {
        switch (self, later) {
        case (.partitions(let earlier), .partitions(let newer)):
            var byPartition: [String: PartitionOffset] = [:]
            for offset in earlier + newer {
                let key = offset.topic + "-" + String(offset.partition)
                if let current = byPartition[key], current.next >= offset.next { continue }
                byPartition[key] = offset
            }
            return .partitions(byPartition.values.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) })
        default:
            return later
        }
    }
}

/// The next offset to read of one partition.
public struct PartitionOffset: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var next: Int64

    public init(topic: String, partition: Int32, next: Int64) {
        self.topic = topic
        self.partition = partition
        self.next = next
    }
}

/// A source's positions and lag.
public struct SourceProgress: Sendable {
    /// `[{"partition":…, …}]`: where each partition is.
    public var positionsJSON: String
    /// Records after the positions.
    public var lagRecords: UInt64

    public init(positionsJSON: String, lagRecords: UInt64) {
        self.positionsJSON = positionsJSON
        self.lagRecords = lagRecords
    }
}

/// A source failed in a way the subscription reports (`last_error`) and retries.
public struct SubscriptionSourceError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
