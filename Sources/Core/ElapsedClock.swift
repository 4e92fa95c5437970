/// Any `Clock<Duration>` seen as the time elapsed since it was wrapped: one concrete clock type for every timed part
/// of a sink, whichever clock drives it (`ContinuousClock` in `serve`, a manual clock in tests).
///
/// Value types of a sink (buffers, token buckets, retry queues) store ``Instant``s, which are plain durations from
/// the wrapping moment, so they need no generic parameter; the wiring injects one clock into all of them.
public struct ElapsedClock: Clock, Sendable {
    public typealias Duration = Swift.Duration

    /// A point on a time line that starts at zero: for an ``ElapsedClock`` the time since it was made (the test
    /// support's `ManualClock` uses the same type).
    public struct Instant: InstantProtocol, Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The time since the start (negative for a point before it).
        public var offset: Swift.Duration

        public init(offset: Swift.Duration) {
            self.offset = offset
        }

        public func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public static func + (lhs: Instant, rhs: Swift.Duration) -> Instant { lhs.advanced(by: rhs) }
        public static func - (lhs: Instant, rhs: Swift.Duration) -> Instant { lhs.advanced(by: .zero - rhs) }
        public static func - (lhs: Instant, rhs: Instant) -> Swift.Duration { rhs.duration(to: lhs) }
        public var description: String { "T+\(offset)" }
    }

    private let reading: @Sendable () -> Swift.Duration
    private let sleeping: @Sendable (Swift.Duration) async throws -> Void
    public let minimumResolution: Swift.Duration

    /// Wraps `clock`; its current reading becomes ``Instant`` zero.
    public init<C: Clock>(_ clock: C) where C.Duration == Swift.Duration {
        let start = clock.now
        reading = { start.duration(to: clock.now) }
        sleeping = { duration in try await clock.sleep(for: duration) }
        minimumResolution = clock.minimumResolution
    }

    /// Wraps a `ContinuousClock`.
    public init() {
        self.init(ContinuousClock())
    }

    public var now: Instant { Instant(offset: reading()) }

    /// Sleeps on the wrapped clock until `deadline` (at once when it has passed); throws `CancellationError` when the
    /// task is cancelled.
    public func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        let remaining = now.duration(to: deadline)
        guard remaining > .zero else {
            try Task.checkCancellation()
            return
        }
        try await sleeping(remaining)
    }
}
