public import Histogram

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Latencies in microseconds, recorded in an HDR histogram (3 significant digits, up to one hour).
public struct LatencyHistogram: Sendable {
    /// The underlying HDR histogram (values in microseconds).
    public internal(set) var histogram: Histogram<UInt64>

    /// The largest value recorded as is; larger values are recorded as this (and counted in ``clampedCount``).
    public static let highestTrackableMicros: UInt64 = 3_600_000_000

    /// How many values were above ``highestTrackableMicros`` and were recorded as that.
    public internal(set) var clampedCount: UInt64 = 0

    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackableMicros, numberOfSignificantValueDigits: .three)
    }

    /// Records one latency in microseconds.
    public mutating func record(micros: UInt64) {
        if micros > Self.highestTrackableMicros {
            recordClamped()
        } else {
            histogram.record(micros)
        }
    }

    mutating func recordClamped() {
        clampedCount += 1
        histogram.record(Self.highestTrackableMicros)
    }

    /// Records one latency in nanoseconds (rounded to the nearest microsecond).
    public mutating func record(nanos: UInt64) {
        record(micros: (nanos &+ 500) / 1000)
    }

    /// Adds every value of `other`.
    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        clampedCount += other.clampedCount
    }

    /// How many values were recorded.
    public var count: UInt64 { histogram.totalCount }

    /// The value at `percentile` (0…100), in microseconds; 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        count == 0 ? 0 : histogram.valueAtPercentile(percentile)
    }

    /// The standard percentiles.
    public func summary() -> LatencySummary {
        guard count > 0 else { return LatencySummary() }
        return LatencySummary(
            count: count,
            min: histogram.min,
            mean: histogram.mean,
            p50: value(atPercentile: 50),
            p90: value(atPercentile: 90),
            p99: value(atPercentile: 99),
            p999: value(atPercentile: 99.9),
            p9999: value(atPercentile: 99.99),
            max: histogram.maxRecorded
        )
    }

    /// The percentile spectrum on a "nines" scale: points at x = 0, 0.05, 0.1 … nines (percentile = 100 × (1 − 10^−x)),
    /// up to the resolution the sample count allows (log10 of the count, at most 6 nines), then the maximum at 100%.
    public func spectrum(step: Double = 0.05) -> [SpectrumPoint] {
        guard count > 0 else { return [] }
        let limit = min(6, log10(Double(count)))
        var points: [SpectrumPoint] = []
        var nines = 0.0
        var index = 0
        while nines <= limit + 1e-9 {
            let percentile = 100 * (1 - pow(10, -nines))
            points.append(SpectrumPoint(percentile: percentile, micros: value(atPercentile: percentile)))
            index += 1
            nines = Double(index) * step
        }
        points.append(SpectrumPoint(percentile: 100, micros: histogram.maxRecorded))
        return points
    }
}

/// One point of a percentile spectrum.
public struct SpectrumPoint: Sendable, Equatable, Codable {
    /// The percentile, 0…100.
    public var percentile: Double
    /// The latency at it, in microseconds.
    public var micros: UInt64

    public init(percentile: Double, micros: UInt64) {
        self.percentile = percentile
        self.micros = micros
    }

    /// The position on the nines scale: −log10(1 − p/100) (0 at p0, 1 at p90, 2 at p99 …); infinite at 100%.
    public var nines: Double { percentile >= 100 ? .infinity : -log10(1 - percentile / 100) }
}

/// The standard latency percentiles of a run, in microseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    /// How many latencies were recorded.
    public var count: UInt64 = 0
    /// The smallest (at histogram resolution).
    public var min: UInt64 = 0
    /// The mean.
    public var mean: Double = 0
    public var p50: UInt64 = 0
    public var p90: UInt64 = 0
    public var p99: UInt64 = 0
    public var p999: UInt64 = 0
    public var p9999: UInt64 = 0
    /// The largest value recorded (exact).
    public var max: UInt64 = 0

    public init() {}

    public init(count: UInt64, min: UInt64, mean: Double, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, p9999: UInt64, max: UInt64) {
        self.count = count
        self.min = min
        self.mean = mean
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.p9999 = p9999
        self.max = max
    }

    enum CodingKeys: String, CodingKey {
        case count, min, mean, p50, p90, p99, max
        case p999 = "p99_9"
        case p9999 = "p99_99"
    }
}
