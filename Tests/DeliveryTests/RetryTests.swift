import Delivery
import GatewayCore
import GatewayTesting
import Synchronization
import Testing

/// A test client's typed failure, classified by ``TestRetryLogic``.
struct TestFailure: Error, Equatable {
    var kind: RetryDecision.Kind
    var retryAfter: Duration?
}

struct TestRetryLogic: RetryLogic {
    func decide(_ failure: TestFailure) -> RetryDecision {
        RetryDecision(failure.kind, retryAfter: failure.retryAfter)
    }
}

/// A value shared with the operation under test.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    var current: Value { value.withLock { $0 } }
}

/// A random number generator that always answers the same (`.max`: the top of every range), for exact jitter.
struct FixedGenerator: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}

@Suite("Backoff and retries", .timeLimit(.minutes(1)))
struct RetryTests {
    @Test("delays are jittered between half the initial delay and the capped exponential ceiling")
    func backoffBounds() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...40 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << min(attempt - 1, 30)))
            for _ in 0..<50 {
                let delay = backoff.delay(attempt: attempt, using: &generator)
                #expect(delay >= .milliseconds(50))
                #expect(delay <= ceiling)
            }
        }
        // The top of the jitter is the capped exponential ceiling.
        var high = FixedGenerator(value: .max)
        #expect(backoff.delay(attempt: 3, using: &high) == .milliseconds(400))
        #expect(backoff.delay(attempt: 8, using: &high) == .seconds(1))
        #expect(backoff.delay(attempt: 0, using: &high) == .milliseconds(100))
    }

    @Test("Retry-After raises the delay to at least its value, capped at the maximum honoured")
    func backoffRetryAfter() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), maximumRetryAfter: .seconds(30))
        var generator = FixedGenerator(value: .max)
        #expect(backoff.delay(attempt: 1, retryAfter: .seconds(5), using: &generator) == .seconds(5))
        #expect(backoff.delay(attempt: 1, retryAfter: .seconds(3600), using: &generator) == .seconds(30))
        // No hint, or a hint below the jittered delay: the backoff stands.
        #expect(backoff.delay(attempt: 1, retryAfter: .zero, using: &generator) == .milliseconds(100))
        #expect(backoff.delay(attempt: 1, retryAfter: .milliseconds(1), using: &generator) == .milliseconds(100))
    }

    @Test("a permanent failure is not retried")
    func permanentNotRetried() async {
        let calls = Shared(0)
        let outcome = await TestRetryLogic().retrying(backoff: Backoff(), clock: ManualClock()) { (_: Int) async throws(TestFailure) -> Int in
            calls.value.withLock { $0 += 1 }
            throw TestFailure(kind: .permanent)
        }
        guard case .failed(let failure, let decision, let attempts) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(failure.kind == .permanent)
        #expect(decision.kind == .permanent)
        #expect(attempts == 1)
        #expect(calls.current == 1)
    }

    @Test("a throttled failure waits at least its Retry-After on the clock before the next attempt")
    func throttledWaitsRetryAfter() async throws {
        let clock = ManualClock()
        let calls = Shared(0)
        let backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(10))
        try await withThrowingTaskGroup(of: RetryOutcome<Int, TestFailure>.self) { group in
            group.addTask {
                await TestRetryLogic().retrying(backoff: backoff, clock: clock) { (attempt: Int) async throws(TestFailure) -> Int in
                    calls.value.withLock { $0 += 1 }
                    if attempt == 1 { throw TestFailure(kind: .throttled, retryAfter: .seconds(5)) }
                    return attempt
                }
            }
            await clock.waitForSleepers(1)
            #expect(clock.deadlines == [ManualClock.Instant(offset: .seconds(5))])
            clock.advance(by: .milliseconds(4999))
            #expect(clock.sleeperCount == 1)
            #expect(calls.current == 1)
            clock.advance(by: .milliseconds(1))
            let outcome = try await group.next()
            #expect(outcome?.value == 2)
            #expect(outcome?.attempts == 2)
        }
    }

    @Test("retriable failures are retried with the backoff until the attempts run out")
    func retriableUntilAttemptsRunOut() async throws {
        let clock = ManualClock()
        let retried = Shared<[Int]>([])
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(1))
        try await withThrowingTaskGroup(of: RetryOutcome<Int, TestFailure>.self) { group in
            group.addTask {
                await TestRetryLogic().retrying(
                    backoff: backoff, clock: clock, maxAttempts: 3, onRetry: { _, _, attempt in retried.value.withLock { $0.append(attempt) } }
                ) { (_: Int) async throws(TestFailure) -> Int in
                    throw TestFailure(kind: .retriable)
                }
            }
            for _ in 1...2 {
                await clock.waitForSleepers(1)
                // Full jitter within [initial / 2, initial].
                let wait = try #require(clock.deadlines.first).offset - clock.now.offset
                #expect(wait >= .milliseconds(500) && wait <= .seconds(1))
                clock.advance(by: .seconds(1))
            }
            let outcome = try await group.next()
            guard case .failed(_, let decision, let attempts) = outcome else {
                Issue.record("expected a failure, got \(String(describing: outcome))")
                return
            }
            #expect(decision == .retriable)
            #expect(attempts == 3)
            #expect(retried.current == [1, 2])
        }
    }
}
