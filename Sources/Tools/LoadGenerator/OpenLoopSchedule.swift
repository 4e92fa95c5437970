/// The constant-arrival schedule of an open-loop run: request `i` is intended at `start + i × interval`.
///
/// Each intended time is computed from the start and the index with exact integer arithmetic
/// (`i × eventsPerRequest × 10¹² / rate in milli-events per second`, floored to the nanosecond),
/// never by adding intervals, so there is no drift however long the run.
public struct OpenLoopSchedule: Sendable, Equatable {
    /// The run's start, in nanoseconds on a monotonic clock (`NIODeadline.uptimeNanoseconds`).
    public let startNanos: UInt64
    /// The target rate in thousandths of an event per second (so fractional rates like 0.5/s are exact).
    public let milliEventsPerSecond: UInt64
    /// Events carried by each request (the batch size; 1 for single-event endpoints).
    public let eventsPerRequest: UInt64

    /// The slowest rate accepted: one event every 1000 s.
    public static let minimumRate = 0.001
    /// The fastest rate accepted.
    public static let maximumRate = 100_000_000.0

    /// A schedule of `eventsPerSecond` starting at `startNanos`, sending `eventsPerRequest` events per request.
    /// - Throws: ``BenchError`` when the rate or batch size is out of range.
    public init(startNanos: UInt64, eventsPerSecond: Double, eventsPerRequest: Int = 1) throws(BenchError) {
        guard eventsPerSecond.isFinite, eventsPerSecond >= Self.minimumRate, eventsPerSecond <= Self.maximumRate else {
            throw BenchError(
                .invalidOption,
                "--rate: \(eventsPerSecond) is out of range; give events per second between \(Self.minimumRate) and \(Int(Self.maximumRate))"
            )
        }
        guard eventsPerRequest >= 1 else {
            throw BenchError(.invalidOption, "--batch-size: must be at least 1")
        }
        self.startNanos = startNanos
        self.milliEventsPerSecond = UInt64((eventsPerSecond * 1000).rounded())
        self.eventsPerRequest = UInt64(eventsPerRequest)
    }

    /// The rate in requests per second.
    public var requestsPerSecond: Double {
        Double(milliEventsPerSecond) / 1000 / Double(eventsPerRequest)
    }

    /// The intended send time of request `index`, in nanoseconds (same clock as ``startNanos``).
    public func intendedNanos(forRequest index: Int) -> UInt64 {
        startNanos &+ offsetNanos(forRequest: index)
    }

    /// How long after the start request `index` is intended: ⌊index × eventsPerRequest × 10¹² / milli-rate⌋ ns.
    public func offsetNanos(forRequest index: Int) -> UInt64 {
        let events = UInt64(max(0, index)).multipliedFullWidth(by: eventsPerRequest)
        // events × 10^12, as a 128-bit number (high, low).
        let scale: UInt64 = 1_000_000_000_000
        let low = events.low.multipliedFullWidth(by: scale)
        let highPart = events.high.multipliedFullWidth(by: scale)
        let (lowHigh, carry) = low.high.addingReportingOverflow(highPart.low)
        let high = highPart.high &+ (carry ? 1 : 0)
        guard high < milliEventsPerSecond else { return .max } // beyond UInt64 nanoseconds (~584 years)
        return milliEventsPerSecond.dividingFullWidth((high: lowHigh, low: low.low)).quotient
    }

    /// How many requests are intended strictly before `offsetNanos` after the start (the requests of a run that long).
    public func requestCount(before offsetNanos: UInt64) -> Int {
        // Smallest i with offset(i) >= offsetNanos, i.e. i = ⌈offsetNanos × milli-rate / (eventsPerRequest × 10¹²)⌉.
        let numerator = offsetNanos.multipliedFullWidth(by: milliEventsPerSecond)
        let denominator = eventsPerRequest.multipliedFullWidth(by: 1_000_000_000_000)
        guard denominator.high == 0 else {
            // Enormous batch sizes: fall back to a search over the exact offsets.
            var low = 0
            var high = Int(clamping: offsetNanos) + 1
            while low < high {
                let middle = low + (high - low) / 2
                if self.offsetNanos(forRequest: middle) >= offsetNanos { high = middle } else { low = middle + 1 }
            }
            return low
        }
        let divisor = denominator.low
        guard numerator.high < divisor else { return .max }
        let (quotient, remainder) = divisor.dividingFullWidth(numerator)
        let count = quotient + (remainder == 0 ? 0 : 1)
        return Int(clamping: count)
    }
}
