import EdgeAccess
import GatewayCore
import GatewayTesting
import Testing

@Suite("Rate limits: token buckets for events and bytes")
struct RateLimiterTests {
    @Test("a burst passes, the next event waits for one refill, and waiting that long is enough")
    func burstThenRefill() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(
            gateway: nil, streams: ["shop/orders": RateLimit(eventsPerSecond: 4, burst: 2, bytesPerSecond: nil)], keys: [:],
            clock: ElapsedClock(clock))
        #expect(
            limiter.admit(team: "shop", app: "orders", key: nil, bytes: 10) == .admitted(RateLimitStatus(limit: 2, remaining: 1, resetSeconds: 1)))
        #expect(
            limiter.admit(team: "shop", app: "orders", key: nil, bytes: 10) == .admitted(RateLimitStatus(limit: 2, remaining: 0, resetSeconds: 1)))
        guard case .limited(let retryAfter, let limit, let status) = limiter.admit(team: "shop", app: "orders", key: nil, bytes: 10) else {
            Issue.record("the third event of a burst of 2 should be limited")
            return
        }
        #expect(limit == "stream")
        #expect(status.remaining == 0)
        #expect(retryAfter == .milliseconds(250))
        // A refused event takes nothing: waiting exactly retryAfter is enough.
        clock.advance(by: retryAfter)
        #expect(isAdmitted(limiter.admit(team: "shop", app: "orders", key: nil, bytes: 10)))
        #expect(!isAdmitted(limiter.admit(team: "shop", app: "orders", key: nil, bytes: 10)))
        // Another stream has no limit.
        #expect(limiter.admit(team: "web", app: "clicks", key: nil, bytes: 10) == .admitted(nil))
    }

    @Test("bytes per second: a payload bigger than the bucket passes when it is full, then the bucket is in debt")
    func bytes() {
        let clock = ManualClock()
        let limiter = RateLimiter(
            gateway: RateLimit(eventsPerSecond: nil, bytesPerSecond: 1000), streams: [:], keys: [:], clock: ElapsedClock(clock))
        #expect(isAdmitted(limiter.admit(team: "a", app: "b", key: nil, bytes: 600)))
        guard case .limited(let wait, "gateway", _) = limiter.admit(team: "a", app: "b", key: nil, bytes: 600) else {
            Issue.record("600 more bytes with 400 left should wait")
            return
        }
        #expect(wait == .milliseconds(200))
        clock.advance(by: .milliseconds(600))
        #expect(isAdmitted(limiter.admit(team: "a", app: "b", key: nil, bytes: 5000))) // full: the big one passes
        guard case .limited(let debt, _, _) = limiter.admit(team: "a", app: "b", key: nil, bytes: 1) else {
            Issue.record("after a 5000-byte event the bucket owes 4000 bytes")
            return
        }
        #expect(debt > .seconds(4))
    }

    @Test("every bucket that applies must have room; a refused event takes from none")
    func allBuckets() {
        let clock = ManualClock()
        let limiter = RateLimiter(
            gateway: RateLimit(eventsPerSecond: 100, burst: 3, bytesPerSecond: nil),
            streams: [:], keys: ["k": RateLimit(eventsPerSecond: 1, burst: 1, bytesPerSecond: nil)], clock: ElapsedClock(clock))
        #expect(isAdmitted(limiter.admit(team: "a", app: "b", key: "k", bytes: 1)))
        guard case .limited(_, "key", _) = limiter.admit(team: "a", app: "b", key: "k", bytes: 1) else {
            Issue.record("the key's bucket of 1 is empty")
            return
        }
        // The refusal took nothing from the gateway's bucket: two more events without the key still pass.
        #expect(isAdmitted(limiter.admit(team: "a", app: "b", key: nil, bytes: 1)))
        #expect(isAdmitted(limiter.admit(team: "a", app: "b", key: nil, bytes: 1)))
        guard case .limited(_, "gateway", _) = limiter.admit(team: "a", app: "b", key: nil, bytes: 1) else {
            Issue.record("the gateway's bucket of 3 is empty")
            return
        }
    }

    @Test("burst defaults to one second of events, at least 1")
    func defaultBurst() {
        #expect(RateLimit(eventsPerSecond: 2.5, bytesPerSecond: nil).burst == 3)
        #expect(RateLimit(eventsPerSecond: 0.01, bytesPerSecond: nil).burst == 1)
        #expect(RateLimit(eventsPerSecond: nil, bytesPerSecond: 5).burst == 1)
    }

    private func isAdmitted(_ verdict: RateLimitVerdict) -> Bool {
        if case .admitted = verdict { return true }
        return false
    }
}
