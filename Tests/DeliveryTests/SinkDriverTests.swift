import GatewayTesting
import Synchronization
import Testing

@testable import Delivery

/// Requests (plain integers) that finish only when the test opens their gate; every start is reported on `started`.
final class Gates: Sendable {
    private struct State {
        var waiting: [Int: CheckedContinuation<Result<Int, TestFailure>, Never>] = [:]
        var opened: [Int: [Result<Int, TestFailure>]] = [:]
        var attempts: [Int: Int] = [:]
    }

    private let state = Mutex(State())
    let started: AsyncStream<Int>
    private let startedContinuation: AsyncStream<Int>.Continuation

    init() {
        (started, startedContinuation) = AsyncStream.makeStream()
    }

    /// One attempt at `request`: waits for its gate, then answers what the gate was opened with.
    func send(_ request: Int) async throws(TestFailure) -> Int {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, TestFailure>, Never>) in
            let ready = state.withLock { state -> Result<Int, TestFailure>? in
                state.attempts[request, default: 0] += 1
                if var results = state.opened[request], !results.isEmpty {
                    let first = results.removeFirst()
                    state.opened[request] = results
                    return first
                }
                state.waiting[request] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
            startedContinuation.yield(request)
        }
        return try result.get()
    }

    /// Lets the current (or next) attempt at `request` finish with `result`.
    func open(_ request: Int, with result: Result<Int, TestFailure>? = nil) {
        let result = result ?? .success(request * 10)
        let waiter = state.withLock { state in
            guard let waiter = state.waiting.removeValue(forKey: request) else {
                state.opened[request, default: []].append(result)
                return nil as CheckedContinuation<Result<Int, TestFailure>, Never>?
            }
            return waiter
        }
        waiter?.resume(returning: result)
    }

    func attempts(_ request: Int) -> Int { state.withLock { $0.attempts[request] ?? 0 } }

    /// Waits until `count` more attempts have started and returns their requests.
    func waitForStarts(_ count: Int, in iterator: inout AsyncStream<Int>.Iterator) async -> [Int] {
        var out: [Int] = []
        while out.count < count, let next = await iterator.next() { out.append(next) }
        return out
    }
}

/// What the driver acknowledged, and everything else that happened, in order.
final class Recorder: Sendable {
    let events = Mutex<[String]>([])
    let acknowledged = Mutex<[TestDriver.Completion]>([])
}

typealias TestDriver = SinkDriver<Int, Int, TestRetryLogic, ManualClock>

@Suite("Sink driver", .timeLimit(.minutes(1)))
struct SinkDriverTests {
    let clock = ManualClock()
    let gates = Gates()
    let recorder = Recorder()

    func makeDriver(maxInFlight: Int, maxAttempts: Int? = nil) -> TestDriver {
        TestDriver(
            configuration: .init(maxInFlight: maxInFlight, backoff: Backoff(initial: .seconds(1), maximum: .seconds(1)), maxAttempts: maxAttempts),
            retryLogic: TestRetryLogic(),
            clock: clock,
            send: { [gates] request throws(TestFailure) in try await gates.send(request) },
            acknowledge: { [recorder] completion in
                recorder.events.withLock { $0.append("ack \(completion.request)") }
                recorder.acknowledged.withLock { $0.append(completion) }
            }
        )
    }

    /// Runs the driver while `body` runs, then finishes it and waits for `run()` to return (the drain).
    func withDriver(_ driver: TestDriver, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await driver.run() }
            try await body()
            driver.finish()
            try await group.waitForAll()
        }
    }

    @Test("completions that arrive out of order are acknowledged in submission order")
    func orderedAcknowledgements() async throws {
        let driver = makeDriver(maxInFlight: 4)
        var starts = gates.started.makeAsyncIterator()
        try await withDriver(driver) {
            for request in 0..<4 { try await driver.submit(request) }
            #expect(Set(await gates.waitForStarts(4, in: &starts)) == [0, 1, 2, 3])
            gates.open(3)
            gates.open(1)
            gates.open(2)
            // Requests 1...3 are done, but 0 is not: nothing may be acknowledged yet.
            #expect(recorder.acknowledged.withLock { $0.isEmpty })
            gates.open(0)
            await driver.waitForAcknowledgements()
        }
        #expect(recorder.events.withLock { $0 } == ["ack 0", "ack 1", "ack 2", "ack 3"])
        #expect(recorder.acknowledged.withLock { $0.map { $0.outcome.value } } == [0, 10, 20, 30])
        #expect(driver.outstandingCount == 0)
    }

    @Test("with N requests outstanding the next submit suspends until the oldest is acknowledged")
    func capacityGate() async throws {
        let driver = makeDriver(maxInFlight: 2)
        var starts = gates.started.makeAsyncIterator()
        try await withDriver(driver) {
            try await driver.submit(0)
            try await driver.submit(1)
            #expect(driver.isSaturated)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await driver.submit(2)
                    recorder.events.withLock { $0.append("submitted 2") }
                }
                // Parked on the gate (a registered waiter), not merely not yet scheduled.
                while driver.waitingCount == 0 { await Task.yield() }
                #expect(recorder.events.withLock { $0 }.isEmpty)
                #expect(Set(await gates.waitForStarts(2, in: &starts)) == [0, 1])
                // The younger request finishing frees nothing: the window is bounded by the oldest.
                gates.open(1)
                #expect(driver.waitingCount == 1)
                #expect(recorder.events.withLock { $0 }.isEmpty)
                gates.open(0)
                try await group.waitForAll()
            }
            #expect(await gates.waitForStarts(1, in: &starts) == [2])
            gates.open(2)
            await driver.waitForAcknowledgements()
        }
        let log = recorder.events.withLock { $0 }
        #expect(log.prefix(2) == ["ack 0", "ack 1"])
        #expect(Set(log.dropFirst(2)) == ["submitted 2", "ack 2"])
    }

    /// Submits `request` in a child task, runs `action` once that submit is parked at the capacity gate, and
    /// returns how the submit ended (nil: admitted).
    func submitWhileWaiting(
        _ driver: TestDriver, _ request: Int, then action: (inout TaskGroup<SinkDriverError?>) -> Void
    ) async -> SinkDriverError? {
        await withTaskGroup(of: SinkDriverError?.self) { group in
            group.addTask {
                do throws(SinkDriverError) {
                    try await driver.submit(request)
                    return nil
                } catch {
                    return error
                }
            }
            while driver.waitingCount == 0 { await Task.yield() }
            action(&group)
            return await group.next() ?? nil
        }
    }

    @Test("a waiting submit is refused when cancelled or when the driver finishes; admitted requests still drain")
    func cancelAndFinish() async throws {
        let driver = makeDriver(maxInFlight: 1)
        var starts = gates.started.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await driver.run() }
            try await driver.submit(0)
            let cancelled = await submitWhileWaiting(driver, 1) { group in group.cancelAll() }
            #expect(cancelled?.code == .cancelled)
            #expect(driver.waitingCount == 0)

            let finished = await submitWhileWaiting(driver, 2) { _ in driver.finish() }
            #expect(finished?.code == .finished)
            await #expect(throws: SinkDriverError.self) { try await driver.submit(3) }

            // run() is still draining request 0.
            #expect(await gates.waitForStarts(1, in: &starts) == [0])
            gates.open(0)
            try await group.waitForAll()
        }
        #expect(recorder.events.withLock { $0 } == ["ack 0"])
    }

    @Test("a permanent failure is acknowledged after one attempt; a retriable one is retried after the backoff")
    func retryClassification() async throws {
        let driver = makeDriver(maxInFlight: 2)
        var starts = gates.started.makeAsyncIterator()
        try await withDriver(driver) {
            try await driver.submit(0)
            try await driver.submit(1)
            _ = await gates.waitForStarts(2, in: &starts)
            gates.open(0, with: .failure(TestFailure(kind: .permanent)))
            gates.open(1, with: .failure(TestFailure(kind: .retriable)))
            // Request 1 waits its backoff on the clock; nothing retries before it passes.
            await clock.waitForSleepers(1)
            #expect(gates.attempts(1) == 1)
            clock.advance(by: .seconds(1))
            #expect(await gates.waitForStarts(1, in: &starts) == [1])
            gates.open(1)
            await driver.waitForAcknowledgements()
        }
        let completions = recorder.acknowledged.withLock { $0 }
        #expect(completions.map(\.request) == [0, 1])
        guard case .failed(_, let decision, let attempts) = completions.first?.outcome else {
            Issue.record("expected request 0 to fail")
            return
        }
        #expect(decision == .permanent)
        #expect(attempts == 1)
        #expect(gates.attempts(0) == 1)
        #expect(completions.last?.outcome.value == 10)
        #expect(completions.last?.outcome.attempts == 2)
    }
}
