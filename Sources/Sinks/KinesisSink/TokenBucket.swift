public import GatewayCore

/// A token bucket: `rate` tokens per second, holding at most one second's worth.
///
/// Kinesis allows each shard 1,000 records and 1 MiB per second; the producer keeps one bucket for each and sends a
/// record only when both have room, so it stays under the limits instead of collecting throttling errors.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens the bucket holds.
    public let capacity: Double
    private(set) var tokens: Double
    private var lastRefill: ElapsedClock.Instant

    public init(rate: Double, now: ElapsedClock.Instant) {
        self.rate = rate
        self.capacity = rate
        self.tokens = rate
        self.lastRefill = now
    }

    /// Tokens available at `now`.
    public mutating func available(at now: ElapsedClock.Instant) -> Double {
        refill(now)
        return tokens
    }

    /// Takes `amount` tokens if there are that many; a request larger than the capacity is allowed when the bucket
    /// is full (so one big record is never stuck).
    public mutating func take(_ amount: Double, at now: ElapsedClock.Instant) -> Bool {
        refill(now)
        guard tokens >= amount || tokens >= capacity else { return false }
        tokens -= amount
        return true
    }

    private mutating func refill(_ now: ElapsedClock.Instant) {
        guard now > lastRefill else { return }
        let elapsed = now - lastRefill
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(capacity, tokens + seconds * rate)
        lastRefill = now
    }
}
