public import ServiceLifecycle
import Synchronization

/// Sends a sink's requests with at most ``Configuration/maxInFlight`` outstanding, retries failures by the sink's
/// ``RetryLogic``, and acknowledges every request in the order it was submitted.
///
/// Design:
/// - ``submit(_:)`` admits a request, or suspends while `maxInFlight` requests are outstanding: that suspension is the
///   sink's backpressure, and it propagates to the dispatcher, which stops reading the log. A request stays
///   outstanding until it is *acknowledged*, not merely finished, so a slow head of line bounds the window.
/// - ``run()`` owns a task group with one child per admitted request (structured: nothing outlives it). A child runs
///   the request through ``RetryLogic/retrying(backoff:clock:maxAttempts:onRetry:_:)``: retriable and throttled
///   failures wait the ``Backoff`` on the injected clock (at least the backend's `Retry-After`); a permanent failure is
///   reported at once, never retried.
/// - Completions are handed to `acknowledge` strictly in submission order: a later request that finished first waits
///   for the earlier ones. One completing child at a time delivers every completion that is ready (never two at once),
///   so `acknowledge` is never called concurrently.
/// - ``finish()`` (called on graceful shutdown) stops admissions; ``run()`` returns once every admitted request was
///   sent and acknowledged. When `run()` is cancelled instead, admitted requests still get their (cancelled) attempt
///   and are acknowledged, so no caller waits forever.
///
/// ```swift
/// let driver = SinkDriver(configuration: .init(maxInFlight: 4), retryLogic: KinesisRetryLogic(), clock: ContinuousClock(),
///                         send: { request throws(KinesisError) in try await client.putRecords(request) },
///                         acknowledge: { completion in report(completion) })
/// // in a ServiceGroup, or a task group: try await driver.run()
/// try await driver.submit(builder.makeRequest(for: batch.items))
/// ```
public final class SinkDriver<Request: Sendable, Response: Sendable, Logic: RetryLogic, C: Clock>: Service, Sendable
where C.Duration == Duration {
    /// How many requests may be outstanding and how failures are retried.
    public struct Configuration: Sendable {
        /// The most requests submitted and not yet acknowledged (at least 1).
        public var maxInFlight: Int
        /// The delays between attempts.
        public var backoff: Backoff
        /// The most attempts per request; nil retries until the decision is permanent or the driver is cancelled.
        public var maxAttempts: Int?

        public init(maxInFlight: Int, backoff: Backoff = Backoff(), maxAttempts: Int? = nil) {
            self.maxInFlight = max(maxInFlight, 1)
            self.backoff = backoff
            self.maxAttempts = maxAttempts
        }
    }

    /// What became of one request, handed to `acknowledge` in submission order.
    public struct Completion: Sendable {
        /// The request as submitted.
        public var request: Request
        /// Its response, or the failure that ended its retries (with the decision; permanent ones were never retried).
        public var outcome: RetryOutcome<Response, Logic.Failure>
    }

    private enum Admission {
        case admitted
        case finished
        case cancelled
    }

    private struct Waiter {
        var id: UInt64
        var request: Request
        var continuation: CheckedContinuation<Admission, Never>
    }

    private struct State {
        var nextIndex: UInt64 = 0
        var nextAcknowledged: UInt64 = 0
        /// Submitted and not yet acknowledged (queued, sending, or finished and waiting for its turn).
        var outstanding = 0
        var queue: [(index: UInt64, request: Request)] = []
        var completed: [UInt64: Completion] = [:]
        var isAcknowledging = false
        var isFinished = false
        var isRunCancelled = false
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var runWaiter: CheckedContinuation<(index: UInt64, request: Request)?, Never>?
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        /// Puts an admitted request in the queue, or straight into the hands of a waiting `run()`.
        mutating func enqueue(_ request: Request) -> (() -> Void)? {
            let item = (index: nextIndex, request: request)
            nextIndex += 1
            if let runWaiter {
                self.runWaiter = nil
                return { runWaiter.resume(returning: item) }
            }
            queue.append(item)
            return nil
        }
    }

    /// The driver's limits and retry policy.
    public let configuration: Configuration
    private let retryLogic: Logic
    private let clock: C
    private let send: @Sendable (Request) async throws(Logic.Failure) -> Response
    private let acknowledge: @Sendable (Completion) -> Void
    private let state = Mutex(State())

    /// Creates a driver; nothing is sent until ``run()`` runs.
    /// - Parameters:
    ///   - configuration: in-flight limit and retry policy.
    ///   - retryLogic: the sink's classification of its client's errors.
    ///   - clock: where backoff waits happen (a `ManualClock` in tests).
    ///   - send: one attempt at a request.
    ///   - acknowledge: told what became of each request, in submission order, never concurrently.
    public init(
        configuration: Configuration,
        retryLogic: Logic,
        clock: C,
        send: @escaping @Sendable (Request) async throws(Logic.Failure) -> Response,
        acknowledge: @escaping @Sendable (Completion) -> Void
    ) {
        self.configuration = configuration
        self.retryLogic = retryLogic
        self.clock = clock
        self.send = send
        self.acknowledge = acknowledge
    }

    /// Requests submitted and not yet acknowledged.
    public var outstandingCount: Int { state.withLock { $0.outstanding } }

    /// Submitters suspended at the capacity gate.
    var waitingCount: Int { state.withLock { $0.waiters.count } }

    /// Whether ``submit(_:)`` would suspend now.
    public var isSaturated: Bool { state.withLock { $0.outstanding >= configuration.maxInFlight } }

    /// Hands `request` to the driver, suspending while ``Configuration/maxInFlight`` requests are outstanding.
    /// - Throws: ``SinkDriverError`` `.finished` after ``finish()``, `.cancelled` when the caller is cancelled while
    ///   it waits; the request was then not taken.
    public func submit(_ request: Request) async throws(SinkDriverError) {
        let limit = configuration.maxInFlight
        let fastPath: (admission: Admission, wake: (() -> Void)?)? = state.withLock { state in
            if state.isFinished { return (.finished, nil) }
            guard state.outstanding < limit, state.waiters.isEmpty else { return nil }
            state.outstanding += 1
            return (.admitted, state.enqueue(request))
        }
        let admission: Admission
        if let fastPath {
            fastPath.wake?()
            admission = fastPath.admission
        } else {
            admission = await waitForSlot(request)
        }
        switch admission {
        case .admitted: return
        case .finished: throw SinkDriverError(code: .finished)
        case .cancelled: throw SinkDriverError(code: .cancelled)
        }
    }

    private func waitForSlot(_ request: Request) async -> Admission {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let limit = configuration.maxInFlight
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
                let action: (() -> Void)? = state.withLock { state in
                    if state.isFinished { return { continuation.resume(returning: .finished) } }
                    // Cancelled before the handler could see a waiter: answer here (cancel-first).
                    if Task.isCancelled { return { continuation.resume(returning: .cancelled) } }
                    if state.outstanding < limit, state.waiters.isEmpty {
                        state.outstanding += 1
                        let wake = state.enqueue(request)
                        return {
                            wake?()
                            continuation.resume(returning: .admitted)
                        }
                    }
                    state.waiters.append(Waiter(id: id, request: request, continuation: continuation))
                    return nil
                }
                action?()
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: .cancelled)
        }
    }

    /// Stops admissions: waiting and later ``submit(_:)`` calls throw `.finished`; ``run()`` returns once every
    /// admitted request is acknowledged.
    public func finish() {
        let (waiters, runWaiter) = state.withLock { state in
            state.isFinished = true
            defer {
                state.waiters.removeAll()
                state.runWaiter = nil
            }
            return (state.waiters, state.queue.isEmpty ? state.runWaiter : nil)
        }
        for waiter in waiters { waiter.continuation.resume(returning: .finished) }
        runWaiter?.resume(returning: nil)
    }

    /// Returns once every admitted request has been acknowledged (immediately when none is outstanding).
    public func waitForAcknowledgements() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isIdle = state.withLock { state in
                if state.outstanding == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if isIdle { continuation.resume() }
        }
    }

    /// Sends admitted requests until ``finish()`` (called on graceful shutdown) or cancellation, then returns once
    /// every admitted request is acknowledged.
    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while let next = await nextSubmission() {
                    let (index, request) = next
                    group.addTask {
                        let outcome = await self.retryLogic.retrying(
                            backoff: self.configuration.backoff, clock: self.clock, maxAttempts: self.configuration.maxAttempts
                        ) { (_: Int) async throws(Logic.Failure) -> Response in
                            try await self.send(request)
                        }
                        self.complete(index, Completion(request: request, outcome: outcome))
                    }
                }
            }
        } onGracefulShutdown: {
            self.finish()
        }
    }

    /// The next admitted request; nil once finished (or cancelled) with nothing queued.
    private func nextSubmission() async -> (index: UInt64, request: Request)? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<(index: UInt64, request: Request)?, Never>) in
                let next: (index: UInt64, request: Request)?? = state.withLock { state in
                    if !state.queue.isEmpty { return state.queue.removeFirst() }
                    if state.isFinished || state.isRunCancelled || Task.isCancelled { return .some(nil) }
                    state.runWaiter = continuation
                    return nil
                }
                if let next { continuation.resume(returning: next) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.isRunCancelled = true
                defer { state.runWaiter = nil }
                return state.runWaiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Records a finished request and, unless another child is already doing it, acknowledges every completion
    /// that is next in submission order, then frees their slots for waiting submitters.
    private func complete(_ index: UInt64, _ completion: Completion) {
        let isAcknowledger = state.withLock { state in
            state.completed[index] = completion
            if state.isAcknowledging { return false }
            state.isAcknowledging = true
            return true
        }
        guard isAcknowledger else { return }
        let limit = configuration.maxInFlight
        var acknowledged = 0
        while true {
            let (ready, wakes) = state.withLock { state -> ([Completion], [() -> Void]) in
                state.outstanding -= acknowledged
                var wakes: [() -> Void] = []
                while state.outstanding < limit, !state.waiters.isEmpty {
                    let waiter = state.waiters.removeFirst()
                    state.outstanding += 1
                    if let wake = state.enqueue(waiter.request) { wakes.append(wake) }
                    wakes.append { waiter.continuation.resume(returning: .admitted) }
                }
                var ready: [Completion] = []
                while let next = state.completed.removeValue(forKey: state.nextAcknowledged) {
                    ready.append(next)
                    state.nextAcknowledged += 1
                }
                if ready.isEmpty {
                    state.isAcknowledging = false
                    if state.outstanding == 0 {
                        let idle = state.idleWaiters
                        state.idleWaiters.removeAll()
                        wakes += idle.map { continuation in { continuation.resume() } }
                    }
                }
                return (ready, wakes)
            }
            for wake in wakes { wake() }
            if ready.isEmpty { return }
            for completion in ready { acknowledge(completion) }
            acknowledged = ready.count
        }
    }
}
