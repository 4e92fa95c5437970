import DequeModule

/// What the sink holds for one shard: the open aggregate, the sealed records waiting for a call, the shard's rate
/// limiter and its metrics.
///
/// A class, touched only under the sink's lock: mutating it in place avoids copy-on-write copies of aggregators and
/// queues on every record.
final class ShardBuffer {
    /// The open aggregate.
    var aggregator: ShardAggregator
    /// Sealed records in the order they are sent.
    private(set) var ready = Deque<OutgoingRecord>()
    /// The billed bytes of ``ready``.
    private(set) var readyBytes = 0
    /// `rate_limit` percent of the shard's limits.
    var limiter: ShardRateLimiter
    let metrics: KinesisMetrics.Shard

    init(aggregator: ShardAggregator, limiter: ShardRateLimiter, metrics: KinesisMetrics.Shard) {
        self.aggregator = aggregator
        self.limiter = limiter
        self.metrics = metrics
    }

    /// Queues sealed records.
    func enqueue(_ records: [OutgoingRecord]) {
        for record in records {
            readyBytes += record.billedBytes
            ready.append(record)
        }
    }

    /// Seals the open aggregate into the queue.
    func sealAggregate(shardID: String) {
        if let sealed = aggregator.seal(shardID: shardID) { enqueue([sealed]) }
    }

    /// Takes the record at the head of the queue.
    func dequeue() -> OutgoingRecord? {
        guard let head = ready.popFirst() else { return nil }
        readyBytes -= head.billedBytes
        return head
    }

    /// Every user record held (open aggregate and queue), for when the shard closed and they go back through the map.
    func drainAll() -> [PendingRecord] {
        var users = aggregator.pending
        for outgoing in ready { users.append(contentsOf: outgoing.users) }
        return users
    }
}
