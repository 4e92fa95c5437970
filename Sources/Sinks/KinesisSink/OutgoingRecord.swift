import GatewayCore
import KinesisAPI

/// One Kinesis record ready for a `PutRecords` call: a plain user record, or an aggregate of several, on one shard.
struct OutgoingRecord {
    /// What goes into the request: data (the envelope's own bytes, or the aggregate), partition key, hash key.
    var entry: KinesisAPI.PutEntry
    /// The user records it carries, in aggregation order (the receipt's sub-sequence number is the index).
    var users: [PendingRecord]
    /// Whether ``entry`` is a KPL aggregated record.
    var isAggregated: Bool
    /// The shard the map predicts it lands on.
    var shardID: String
    /// The arrival of its oldest user record.
    var oldest: ElapsedClock.Instant
    /// The earliest TTL deadline of its user records.
    var earliestDeadline: ElapsedClock.Instant

    /// A user record travelling alone, its envelope sent as it lies in the log record's buffer (no copy).
    init(plain user: PendingRecord, shardID: String) {
        entry = KinesisAPI.PutEntry(data: user.record.event.envelope, partitionKey: user.record.event.partitionKey, explicitHashKey: nil)
        users = [user]
        isAggregated = false
        self.shardID = shardID
        oldest = user.arrival
        earliestDeadline = user.deadline
    }

    /// An aggregated record of `users`.
    init(aggregate entry: KinesisAPI.PutEntry, users: [PendingRecord], shardID: String, oldest: ElapsedClock.Instant) {
        self.entry = entry
        self.users = users
        isAggregated = true
        self.shardID = shardID
        self.oldest = oldest
        earliestDeadline = users.map(\.deadline).min() ?? oldest
    }

    /// What the record counts against a call's size limit.
    var billedBytes: Int { entry.billedBytes }
}
