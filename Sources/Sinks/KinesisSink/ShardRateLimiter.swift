public import GatewayCore

/// The per-shard limits of the sink: two token buckets, records per second and bytes per second, so the sink stays
/// under Kinesis's limits instead of collecting throttling errors.
public struct ShardRateLimiter: Sendable, Equatable {
    /// Kinesis's per-shard write limit in records per second.
    public static let recordsPerSecond = 1000.0
    /// Kinesis's per-shard write limit in bytes per second.
    public static let bytesPerSecond = 1_048_576.0

    /// Records per second.
    public var records: TokenBucket
    /// Bytes (data and partition key) per second.
    public var bytes: TokenBucket

    /// - Parameter percent: the share of the shard's limits to use (the KPL's `RateLimit`, default 150).
    public init(percent: Int, now: ElapsedClock.Instant) {
        let share = Double(percent) / 100
        records = TokenBucket(rate: Self.recordsPerSecond * share, now: now)
        bytes = TokenBucket(rate: Self.bytesPerSecond * share, now: now)
    }

    /// Takes one record of `size` bytes if both buckets have room.
    public mutating func take(bytes size: Int, at now: ElapsedClock.Instant) -> Bool {
        guard records.available(at: now) >= 1, bytes.available(at: now) >= Double(size) || bytes.available(at: now) >= bytes.capacity
        else { return false }
        _ = records.take(1, at: now)
        _ = bytes.take(Double(size), at: now)
        return true
    }
}
