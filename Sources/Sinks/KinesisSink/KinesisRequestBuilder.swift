import CoreMetrics
import GatewayCore

/// Forms `PutRecords` calls from a stream's shard queues within the API's limits (`collection_max_count` records,
/// at most 500, and `collection_max_size` bytes of data and partition keys, at most 5 MiB) and each shard's rate
/// limit.
///
/// Records are taken round robin across the shards, so one busy shard does not starve the others, and a record is
/// taken only when its shard's token buckets have room for it. One record bigger than the size limit still forms a
/// call of its own. The request body itself is encoded by ``KinesisAPI`` straight from the records' bytes.
struct KinesisRequestBuilder {
    /// One call's worth of records.
    struct Batch {
        var records: [OutgoingRecord] = []
        /// Their billed bytes.
        var bytes = 0
        /// Whether a limit closed the batch (more records are ready for another call).
        var isFull = false
    }

    /// Records per call (`collection_max_count`).
    var maxCount: Int
    /// Bytes per call (`collection_max_size`).
    var maxBytes: Int

    /// Whether a call should be made now with `count` records (`bytes` bytes) ready, the oldest having arrived at
    /// `oldest`: a full call's worth, the oldest record's buffered time passed, or a flush.
    func isDue(
        count: Int, bytes: Int, oldest: ElapsedClock.Instant?, maxBufferedTime: Duration, isFlushing: Bool,
        now: ElapsedClock.Instant
    ) -> Bool {
        guard count > 0 else { return false }
        if isFlushing || count >= maxCount || bytes >= maxBytes { return true }
        return oldest.map { now - $0 >= maxBufferedTime } ?? false
    }

    /// Takes the records of one call from `stream`'s shard queues.
    func makeBatch(from stream: StreamState, now: ElapsedClock.Instant) -> Batch {
        var batch = Batch()
        var ids = stream.shards.compactMap { id, shard in shard.ready.isEmpty ? nil : id }
        while !ids.isEmpty {
            var stillReady: [String] = []
            for id in ids {
                guard let shard = stream.shards[id], let head = shard.ready.first else { continue }
                let size = head.billedBytes
                if batch.records.count >= maxCount || (batch.bytes + size > maxBytes && !batch.records.isEmpty) {
                    batch.isFull = true
                    return batch
                }
                guard shard.limiter.take(bytes: size, at: now) else {
                    shard.metrics.rateLimited.increment()
                    continue
                }
                guard let record = shard.dequeue() else { continue }
                batch.records.append(record)
                batch.bytes += size
                if !shard.ready.isEmpty { stillReady.append(id) }
            }
            ids = stillReady
        }
        return batch
    }
}
