/// Capped exponential backoff with full jitter: attempt `n` waits a random time in `[0, min(maximum, initial × 2ⁿ)]`,
/// but never less than `initial / 2`, so a failing backend is not hammered.
public struct RetryBackoff: Sendable, Equatable {
    /// The first delay's upper bound.
    public var initial: Duration
    /// The largest delay.
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before retry number `attempt` (1-based).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maximum, initial * (1 << exponent))
        let floor = initial / 2
        let ceilingNanos = max(ceiling.nanoseconds, floor.nanoseconds)
        let nanos = Int64.random(in: floor.nanoseconds...ceilingNanos, using: &generator)
        return .nanoseconds(nanos)
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
