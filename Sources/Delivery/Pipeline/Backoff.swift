import GatewayCore

/// The one backoff policy of every sink and the dispatcher: capped exponential with full jitter, honouring a
/// server's `Retry-After`.
///
/// Retry number `n` (1-based) waits a random time in `[initial / 2, min(maximum, initial × 2ⁿ⁻¹)]`: full jitter, with a
/// floor of half the initial delay so a failing backend is never hammered. A `Retry-After` from the backend raises
/// the wait to at least that long (capped at ``maximumRetryAfter``, so a hostile header cannot park a sink for a day).
public struct Backoff: Sendable, Equatable {
    /// The first delay's upper bound.
    public var initial: Duration
    /// The largest jittered delay.
    public var maximum: Duration
    /// The longest `Retry-After` honoured.
    public var maximumRetryAfter: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10), maximumRetryAfter: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// The delay before retry number `attempt` (1-based).
    /// - Parameters:
    ///   - attempt: which retry this is; values below 1 count as 1.
    ///   - retryAfter: the backend's `Retry-After` (or a throttling hint), if it sent one.
    ///   - generator: the source of jitter (seeded in tests).
    public func delay(attempt: Int, retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maximum, initial * (1 << exponent))
        let floor = initial / 2
        let ceilingNanos = max(ceiling.nanoseconds, floor.nanoseconds)
        let jittered = Duration.nanoseconds(Int64.random(in: floor.nanoseconds...ceilingNanos, using: &generator))
        guard let retryAfter, retryAfter > .zero else { return jittered }
        return max(jittered, min(retryAfter, maximumRetryAfter))
    }

    /// The delay before retry number `attempt`, with the system's random numbers.
    public func delay(attempt: Int, retryAfter: Duration? = nil) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, retryAfter: retryAfter, using: &generator)
    }
}
