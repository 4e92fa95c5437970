import GatewayCore
import KinesisAPI
import KinesisAggregation

/// The KPL aggregation of one shard: user records packed into one aggregated record until the next does not fit.
///
/// A sealed aggregate of one record is sent as a plain record; with aggregation off every record is plain. The
/// caller seals the open aggregate when its oldest record has waited `record_max_buffered_time_ms` (or on flush).
struct ShardAggregator {
    private var aggregator: RecordAggregator
    private var records: [PendingRecord] = []
    private let isEnabled: Bool
    /// The arrival of the oldest record in the open aggregate, nil when it is empty.
    private(set) var oldest: ElapsedClock.Instant?

    /// - Parameters:
    ///   - isEnabled: `aggregation`.
    ///   - maxSize: `aggregation_max_size`.
    init(isEnabled: Bool, maxSize: Int) {
        self.isEnabled = isEnabled
        aggregator = RecordAggregator(maxBytes: maxSize)
    }

    /// The user records in the open aggregate.
    var pending: [PendingRecord] { records }

    /// Adds a record; returns what is ready to send because of it (the aggregate it closed, or itself when it
    /// travels alone).
    mutating func add(_ user: PendingRecord, shardID: String) -> [OutgoingRecord] {
        guard isEnabled else { return [OutgoingRecord(plain: user, shardID: shardID)] }
        let userRecord = UserRecord(partitionKey: user.record.event.partitionKey, data: Array(user.record.event.envelope))
        var sealed: [OutgoingRecord] = []
        if !aggregator.append(userRecord) {
            if let closed = seal(shardID: shardID) { sealed.append(closed) }
            if !aggregator.append(userRecord) {
                // Too big to aggregate: it travels alone.
                sealed.append(OutgoingRecord(plain: user, shardID: shardID))
                return sealed
            }
        }
        records.append(user)
        if oldest == nil { oldest = user.arrival }
        return sealed
    }

    /// Closes the open aggregate, nil when it is empty.
    mutating func seal(shardID: String) -> OutgoingRecord? {
        guard let first = records.first else { return nil }
        defer {
            aggregator.reset()
            records.removeAll(keepingCapacity: true)
            oldest = nil
        }
        if records.count == 1 { return OutgoingRecord(plain: first, shardID: shardID) }
        let entry = KinesisAPI.PutEntry(
            data: aggregator.encode(), partitionKey: first.record.event.partitionKey, explicitHashKey: aggregator.explicitHashKey
        )
        return OutgoingRecord(aggregate: entry, users: records, shardID: shardID, oldest: oldest ?? first.arrival)
    }
}
