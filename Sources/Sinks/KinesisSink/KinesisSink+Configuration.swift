public import Delivery

extension KinesisSink {
    /// The sink's knobs; names and defaults follow the Kinesis Producer Library (see `docs/kinesis.md`). The wiring maps
    /// the `kinesis:` section onto it.
    public struct Configuration: Sendable, Equatable {
        /// `aggregation`: pack user records into KPL aggregated records.
        public var aggregation = true
        /// `aggregation_max_size`: bytes per aggregated record (magic, protobuf and MD5 included).
        public var aggregationMaxSize = 51_200
        /// `record_max_buffered_time_ms`: the longest a record waits for a fuller batch before it is sent.
        public var maxBufferedTime: Duration = .milliseconds(100)
        /// `flush_when_idle`: send buffered records at once when none of the stream's calls is in flight, instead of
        /// waiting out `record_max_buffered_time_ms` (Sluice's addition; see `docs/kinesis.md`). Under load calls are in
        /// flight and records gather into full calls as with the KPL; at low load a record does not wait for company that
        /// is not coming.
        public var flushWhenIdle = true
        /// `record_ttl_ms`: after this, a record not yet stored fails with its attempt history.
        public var recordTTL: Duration = .milliseconds(30_000)
        /// `max_outstanding_records`: records held by the producer before it stops taking more (the log keeps the rest
        /// and the HTTP edge answers 503 for the Kinesis route).
        public var maxOutstandingRecords = 100_000
        /// `max_outstanding_mb`: bytes of user records the producer holds before ``KinesisSink/write(_:reporter:)``
        /// waits. Unlike the record count this does not refuse events at the edge: the log keeps them on disk, so memory
        /// stays bounded while a stream is slow or down.
        public var maxOutstandingBytes = 64 << 20
        /// `rate_limit`: percentage of each shard's limits (1,000 records/s, 1 MiB/s) the producer uses.
        public var rateLimitPercent = 150
        /// `fail_if_throttled`: fail a throttled record at once instead of retrying it.
        public var failIfThrottled = false
        /// `collection_max_count`: records per `PutRecords` call (AWS allows 500).
        public var collectionMaxCount = 500
        /// `collection_max_size`: bytes (data and partition keys) per `PutRecords` call (AWS allows 5 MiB).
        public var collectionMaxSize = 5 * 1_048_576
        /// `max_connections`: concurrent `PutRecords` calls.
        public var maxConnections = 24
        /// `request_timeout_ms`: the deadline of one call.
        public var requestTimeout: Duration = .milliseconds(6_000)
        /// `min_backoff_ms`: the first retry delay of a failed record (see ``backoff``).
        public var minBackoff: Duration = .milliseconds(100)
        /// `max_backoff_ms`: the longest retry delay of a failed record.
        public var maxBackoff: Duration = .milliseconds(5_000)
        /// `shard_map_refresh_ms`: how often the shard map is read again, besides after a record lands on an
        /// unexpected shard.
        public var shardMapRefreshInterval: Duration = .seconds(60)
        /// How often the sink wakes to flush timed-out buffers and refill rate limits.
        public var tickInterval: Duration = .milliseconds(5)

        public init() {}

        /// The retry delays of failed records and shard-map reads: the shared policy between `min_backoff_ms` and
        /// `max_backoff_ms` (capped exponential, full jitter).
        public var backoff: Backoff { Backoff(initial: minBackoff, maximum: maxBackoff) }

        /// How long a flush (graceful shutdown) waits for outstanding records before leaving them in the log:
        /// `min(record_ttl_ms, 10 s)`.
        public var flushTimeout: Duration { min(recordTTL, .seconds(10)) }
    }
}
