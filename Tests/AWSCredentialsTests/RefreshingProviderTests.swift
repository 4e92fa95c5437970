import AWSSigV4
import Foundation
import Testing

@testable import AWSCredentials

/// A gate the fetch waits on until the test opens it.
private actor Gate {
    private var open = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if open { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func release() {
        open = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

private func credential(_ n: Int) -> AWSCredential {
    AWSCredential(accessKeyID: "AKID\(n)", secretAccessKey: "secret\(n)", sessionToken: "token\(n)")
}

@Suite("RefreshingCredentialProvider")
struct RefreshingProviderTests {
    @Test func hundredConcurrentCallersShareOneFetch() async throws {
        let clock = TestClock()
        let fetches = Counter()
        let gate = Gate()
        let provider = RefreshingCredentialProvider(logger: testLogger, now: { clock.now }) {
            () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            let n = fetches.increment()
            await gate.wait()
            return (credential(n), clock.now.addingTimeInterval(3600))
        }
        try await withThrowingTaskGroup(of: AWSCredential.self) { group in
            for _ in 0..<100 {
                group.addTask { try await provider.credential() }
            }
            // Open the gate only once all 100 callers are parked on the one in-flight refresh.
            let deadline = ContinuousClock.now + .seconds(30)
            while await provider.waitingCallers < 100 {
                try #require(ContinuousClock.now < deadline, "callers never all joined the in-flight refresh")
                await Task.yield()
            }
            await gate.release()
            var results: [AWSCredential] = []
            for try await result in group { results.append(result) }
            #expect(results.count == 100)
            #expect(results.allSatisfy { $0 == credential(1) })
        }
        #expect(fetches.count == 1)
        #expect(await provider.waitingCallers == 0)
        // Cached afterwards: more calls, no more fetches.
        for _ in 0..<10 { _ = try await provider.credential() }
        #expect(fetches.count == 1)
    }

    @Test func refreshesOnlyWithinTheWindowBeforeExpiry() async throws {
        let clock = TestClock()
        let fetches = Counter()
        let provider = RefreshingCredentialProvider(refreshBefore: .seconds(300), logger: testLogger, now: { clock.now }) {
            () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            let n = fetches.increment()
            return (credential(n), clock.now.addingTimeInterval(3600))
        }
        #expect(try await provider.credential() == credential(1))
        clock.advance(by: 3600 - 301) // 301 s left: still outside the window
        #expect(try await provider.credential() == credential(1))
        #expect(fetches.count == 1)
        clock.advance(by: 2) // 299 s left: refresh
        #expect(try await provider.credential() == credential(2))
        #expect(fetches.count == 2)
        #expect(await provider.expiration == clock.now.addingTimeInterval(3600))
        #expect(try await provider.credential() == credential(2))
        #expect(fetches.count == 2)
    }

    @Test func neverExpiringCredentialIsFetchedOnce() async throws {
        let clock = TestClock()
        let fetches = Counter()
        let provider = RefreshingCredentialProvider(logger: testLogger, now: { clock.now }) {
            () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            (credential(fetches.increment()), nil)
        }
        for _ in 0..<5 {
            #expect(try await provider.credential() == credential(1))
            clock.advance(by: 86_400 * 365)
        }
        #expect(fetches.count == 1)
        #expect(try await provider.refresh() == credential(2))
    }

    @Test func keepsOldCredentialWhenRefreshFailsThenRecovers() async throws {
        let clock = TestClock()
        let fetches = Counter()
        let failing = Flag()
        let provider = RefreshingCredentialProvider(
            refreshBefore: .seconds(300), retryAfterFailure: .seconds(30), logger: testLogger, now: { clock.now }
        ) { () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            let n = fetches.increment()
            if failing.isSet { throw AWSCredentialError(source: "test", message: "source down") }
            return (credential(n), clock.now.addingTimeInterval(1000))
        }
        #expect(try await provider.credential() == credential(1))
        failing.set(true)
        clock.advance(by: 800) // 200 s left: due for refresh, refresh fails, old one returned
        #expect(try await provider.credential() == credential(1))
        #expect(fetches.count == 2)
        // Within retryAfterFailure: no new attempt.
        clock.advance(by: 10)
        #expect(try await provider.credential() == credential(1))
        #expect(fetches.count == 2)
        // After it: tries again (still failing, still valid → old one).
        clock.advance(by: 25)
        #expect(try await provider.credential() == credential(1))
        #expect(fetches.count == 3)
        // Once the old credential has expired, the failure surfaces.
        clock.advance(by: 200)
        let error = await captureError { try await provider.credential() }
        #expect(error == AWSCredentialError(source: "test", message: "source down"))
        #expect(fetches.count == 4)
        // The source recovers: the next call gets a fresh credential.
        failing.set(false)
        #expect(try await provider.credential() == credential(5))
        #expect(fetches.count == 5)
    }

    @Test func failureWithoutCacheIsThrownAndNextCallRetries() async throws {
        let clock = TestClock()
        let fetches = Counter()
        let provider = RefreshingCredentialProvider(logger: testLogger, now: { clock.now }) {
            () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            let n = fetches.increment()
            if n == 1 { throw AWSCredentialError(source: "test", message: "first attempt fails", code: "Throttling") }
            return (credential(n), clock.now.addingTimeInterval(3600))
        }
        let error = await captureError { try await provider.credential() }
        #expect(error?.code == "Throttling")
        #expect(try await provider.credential() == credential(2))
        #expect(fetches.count == 2)
    }
}
