public import GatewayCore
import Synchronization

/// One `rate_limit:` (or `limits:`): events per second with a burst, and payload bytes per second.
public struct RateLimit: Sendable, Equatable {
    /// Refill rate of the events bucket; `nil`: events are not limited.
    public var eventsPerSecond: Double?
    /// Events the bucket holds when full.
    public var burst: Int
    /// Refill rate (and size) of the bytes bucket; `nil`: bytes are not limited.
    public var bytesPerSecond: Int?

    /// `burst` defaults to one second's worth of events, at least 1.
    public init(eventsPerSecond: Double?, burst: Int? = nil, bytesPerSecond: Int?) {
        self.eventsPerSecond = eventsPerSecond
        self.burst = burst ?? max(1, Int(min(eventsPerSecond ?? 1, 1e9).rounded(.up)))
        self.bytesPerSecond = bytesPerSecond
    }
}

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
///
/// An event costs one token (or its payload size, in a bytes bucket). A cost larger than the whole bucket is let
/// through when the bucket is full and leaves it in debt, so one big event is slowed down, never refused forever.
struct TokenBucket: Sendable {
    let capacity: Double
    let rate: Double
    private(set) var tokens: Double
    private var updated: ElapsedClock.Instant

    init(capacity: Double, rate: Double, now: ElapsedClock.Instant) {
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now
    }

    mutating func refill(_ now: ElapsedClock.Instant) {
        let elapsed = updated.duration(to: now).milliseconds / 1000
        guard elapsed > 0 else { return }
        tokens = min(capacity, tokens + elapsed * rate)
        updated = now
    }

    /// How long until `cost` can be taken; zero when it can now.
    func wait(for cost: Double) -> Duration {
        let needed = min(cost, capacity)
        if tokens >= needed { return .zero }
        return .seconds((needed - tokens) / rate)
    }

    mutating func take(_ cost: Double) { tokens -= cost }

    /// Seconds until the bucket is full again.
    var secondsToFull: Double { max(0, capacity - tokens) / rate }
}

/// What the `RateLimit-*` headers say about the tightest bucket that applied.
public struct RateLimitStatus: Sendable, Equatable {
    /// `RateLimit-Limit`: the bucket's size (events, or bytes for a bytes-only limit).
    public var limit: Int
    /// `RateLimit-Remaining`: what is left now.
    public var remaining: Int
    /// `RateLimit-Reset`: seconds until the bucket is full.
    public var resetSeconds: Int

    public init(limit: Int, remaining: Int, resetSeconds: Int) {
        self.limit = limit
        self.remaining = remaining
        self.resetSeconds = resetSeconds
    }
}

/// The verdict of ``RateLimiter/admit(team:app:key:bytes:)``.
public enum RateLimitVerdict: Sendable, Equatable {
    /// Go ahead; the status is `nil` when no limit applies.
    case admitted(RateLimitStatus?)
    /// Refused: `retryAfter` is when the bucket named by `limit` (`gateway`, `stream`, `key`) holds enough again.
    case limited(retryAfter: Duration, limit: String, status: RateLimitStatus)
}

/// The gateway's rate limits: one bucket pair for `limits:`, one per stream with a `rate_limit`, one per API key with
/// a `rate_limit`. An event is admitted only when every bucket that applies to it has room, and then it takes from
/// all of them (docs/edge.md).
public final class RateLimiter: Sendable {
    /// The bucket pair of one limit.
    struct Buckets: Sendable {
        var events: TokenBucket?
        var bytes: TokenBucket?

        init(_ limit: RateLimit, now: ElapsedClock.Instant) {
            events = limit.eventsPerSecond.map { TokenBucket(capacity: Double(limit.burst), rate: $0, now: now) }
            bytes = limit.bytesPerSecond.map { TokenBucket(capacity: Double($0), rate: Double($0), now: now) }
        }
    }

    private struct State: Sendable {
        var gateway: Buckets?
        var streams: [String: Buckets]
        var keys: [String: Buckets]
    }

    private let clock: ElapsedClock
    private let state: Mutex<State>
    /// Whether any limit is configured (when not, ``admit(team:app:key:bytes:)`` costs nothing).
    public let isEnabled: Bool

    /// `streams` are keyed `team/app`, `keys` by key name.
    public init(gateway: RateLimit?, streams: [String: RateLimit], keys: [String: RateLimit], clock: ElapsedClock) {
        let now = clock.now
        self.clock = clock
        self.isEnabled = gateway != nil || !streams.isEmpty || !keys.isEmpty
        self.state = Mutex(
            State(
                gateway: gateway.map { Buckets($0, now: now) },
                streams: streams.mapValues { Buckets($0, now: now) },
                keys: keys.mapValues { Buckets($0, now: now) }))
    }

    /// No limits at all.
    public static let unlimited = RateLimiter(gateway: nil, streams: [:], keys: [:], clock: ElapsedClock(ContinuousClock()))

    /// Admits one event of `bytes` payload bytes on `team/app`, sent with API key `key` (nil: anonymous).
    public func admit(team: String, app: String, key: String?, bytes: Int) -> RateLimitVerdict {
        verdict(team: team, app: app, key: key, bytes: bytes, taking: true)
    }

    /// What ``admit(team:app:key:bytes:)`` would answer now, taking nothing (`POST /v1/events/explain`).
    public func peek(team: String, app: String, key: String?, bytes: Int) -> RateLimitVerdict {
        verdict(team: team, app: app, key: key, bytes: bytes, taking: false)
    }

    /// The names of the limits that apply to `team/app` and `key` (`gateway`, `stream`, `key`).
    public func limits(team: String, app: String, key: String?) -> [String] {
        state.withLock { state in
            var names: [String] = []
            if state.gateway != nil { names.append("gateway") }
            if state.streams["\(team)/\(app)"] != nil { names.append("stream") }
            if let key, state.keys[key] != nil { names.append("key") }
            return names
        }
    }

    private func verdict(team: String, app: String, key: String?, bytes: Int, taking: Bool) -> RateLimitVerdict {
        guard isEnabled else { return .admitted(nil) }
        let now = clock.now
        let streamName = "\(team)/\(app)"
        return state.withLock { state in
            var applicable: [(name: String, buckets: Buckets)] = []
            if let gateway = state.gateway { applicable.append(("gateway", gateway)) }
            if let stream = state.streams[streamName] { applicable.append(("stream", stream)) }
            if let key, let own = state.keys[key] { applicable.append(("key", own)) }
            guard !applicable.isEmpty else { return .admitted(nil) }
            let cost = Double(max(0, bytes))
            var longest: (wait: Duration, name: String)?
            for index in applicable.indices {
                applicable[index].buckets.events?.refill(now)
                applicable[index].buckets.bytes?.refill(now)
                let buckets = applicable[index].buckets
                let wait = max(buckets.events?.wait(for: 1) ?? .zero, buckets.bytes?.wait(for: cost) ?? .zero)
                if wait > .zero, wait > longest?.wait ?? .zero { longest = (wait, applicable[index].name) }
            }
            if let longest {
                store(applicable, into: &state, stream: streamName, key: key)
                return .limited(retryAfter: longest.wait, limit: longest.name, status: Self.status(of: applicable.map(\.buckets)))
            }
            for index in applicable.indices where taking {
                applicable[index].buckets.events?.take(1)
                applicable[index].buckets.bytes?.take(cost)
            }
            store(applicable, into: &state, stream: streamName, key: key)
            return .admitted(Self.status(of: applicable.map(\.buckets)))
        }
    }

    private func store(_ applicable: [(name: String, buckets: Buckets)], into state: inout State, stream: String, key: String?) {
        for (name, buckets) in applicable {
            switch name {
            case "gateway": state.gateway = buckets
            case "stream": state.streams[stream] = buckets
            default: if let key { state.keys[key] = buckets }
            }
        }
    }

    /// The status of the bucket with the smallest share left (events buckets first: they are what clients count).
    private static func status(of all: [Buckets]) -> RateLimitStatus {
        let buckets = all.compactMap(\.events).isEmpty ? all.compactMap(\.bytes) : all.compactMap(\.events)
        let tightest = buckets.min { $0.tokens / $0.capacity < $1.tokens / $1.capacity }
        guard let tightest else { return RateLimitStatus(limit: 0, remaining: 0, resetSeconds: 0) }
        return RateLimitStatus(
            limit: Int(min(tightest.capacity, 1e15)), remaining: Int(min(max(0, tightest.tokens), 1e15).rounded(.down)),
            resetSeconds: Int(min(tightest.secondsToFull, 1e9).rounded(.up)))
    }
}
