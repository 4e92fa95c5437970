import GatewayCore

/// A user record the sink holds: taken from the log, not yet stored or failed.
struct PendingRecord {
    /// The log record.
    var record: SinkRecord
    /// The Kinesis stream it goes to.
    let stream: String
    /// MD5 of its partition key: where it lands on the stream's shard map.
    let hashKey: UInt128
    /// After this, it fails with `ttl_expired` (`record_ttl_ms` after it was taken).
    let deadline: ElapsedClock.Instant
    /// When the sink took it (the age `record_max_buffered_time_ms` is measured from).
    let arrival: ElapsedClock.Instant
    /// Every failed attempt so far, for the receipt's count and a failure's history.
    var attempts: [DeliveryAttempt] = []

    /// The envelope's size: what counts against `max_outstanding_mb`.
    var envelopeBytes: Int { record.event.envelope.count }
}
