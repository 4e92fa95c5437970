internal import Delivery
internal import GatewayCore
internal import KafkaClient

/// The Kafka sink's state: records produced and awaiting their delivery report, records waiting for a retry, the
/// producer (and its replacement after a fatal error or when it is stuck), the broker problem, and who waits for what.
///
/// Kept in a `Mutex` by ``KafkaSink``; every method is a transition that returns what the sink must do (produce,
/// report, resume waiters, close a producer, create one), and the sink does that I/O outside the lock. Time comes in
/// as `now`, so the transitions are tested without a clock or a broker. `Producer` is the producer's type (a test uses
/// any value), `Instant` the clock's.
struct KafkaSinkStateMachine<Producer: Sendable, Instant: InstantProtocol & Sendable> where Instant.Duration == Duration {
    /// A record the sink holds.
    struct Entry: Sendable {
        var record: SinkRecord
        var topic: String
        /// The failed attempts so far.
        var attempts: [DeliveryAttempt] = []
        var attemptStart: Instant
        var attemptStartMillis: Int64
    }

    enum Lifecycle {
        /// Producing with `producer`, the `generation`-th one.
        case running(producer: Producer, generation: Int)
        /// `failed` (the generation-th producer, nil once closed) must be replaced because of `reason`; the next
        /// creation is tried at `notBefore` (nil: at once) after `failures` failed creations.
        case replacing(failed: Producer?, generation: Int, reason: KafkaError, notBefore: Instant?, failures: Int)
        case closed
    }

    private(set) var lifecycle: Lifecycle
    /// Produced records by tag (a new tag for every produce call).
    private var inFlight: [UInt64: Entry] = [:]
    /// Records waiting for their retry time.
    private var retries: [(due: Instant, entry: Entry)] = []
    /// Records handed to a sender (a retry being produced, a produce waiting for room) and not claimed again yet.
    private var handedOut = 0
    private var nextTag: UInt64 = 1
    private(set) var reporter: SinkReporter?
    /// Bumped on every delivery report batch, producer replacement and close: what capacity waiters wait for.
    private var capacityEpoch: UInt64 = 0
    private var capacityWaiters: [CheckedContinuation<Void, Never>] = []
    private var runLoopWaiter: CheckedContinuation<Void, Never>?
    private var runLoopWakeUpPending = false
    /// Graceful shutdown began: the run loop returns (and the sink closes its producer).
    private var isShutdownRequested = false
    /// The first message timeout since the last delivery (or producer creation).
    private var timingOutSince: Instant?
    /// How often a produce found librdkafka's queue full and waited.
    private(set) var queueFullWaits = 0
    /// Why no broker can be reached, until a delivery succeeds or the statistics show a broker up.
    private(set) var brokerProblem: String?

    /// A producer whose messages keep timing out, with no delivery, for this long after the first timeout is replaced.
    let stuckAfter: Duration
    let backoff: Backoff
    let retryLogic = KafkaRetryLogic()

    init(producer: Producer, stuckAfter: Duration, backoff: Backoff) {
        lifecycle = .running(producer: producer, generation: 0)
        self.stuckAfter = stuckAfter
        self.backoff = backoff
    }

    /// Records produced and not yet reported, plus records waiting for (or in) a retry.
    var heldCount: Int { inFlight.count + retries.count + handedOut }

    /// How many producers the sink created so far (1 + replacements).
    var producerGenerations: Int {
        switch lifecycle {
        case .running(_, let generation): generation + 1
        case .replacing(_, let generation, _, _, _): generation + 1
        case .closed: 0
        }
    }

    var isClosed: Bool {
        if case .closed = lifecycle { return true }
        return false
    }

    mutating func setReporter(_ reporter: SinkReporter) {
        self.reporter = reporter
    }

    // MARK: Producing

    enum ClaimAction {
        /// Produce the entry with `producer` under `tag`.
        case produce(producer: Producer, generation: Int, tag: UInt64, epoch: UInt64)
        /// The producer is being replaced: wait for the next capacity change, then claim again.
        case waitForCapacity(epoch: UInt64)
        /// The sink is closed: the record stays unreleased in the log.
        case drop
    }

    /// Takes `entry` in flight under a new tag. `wasHandedOut`: the entry came from ``nextRunLoopAction(now:)`` or
    /// from a ``ProduceFailureAction/waitAndClaimAgain(epoch:wakeRunLoop:)``.
    mutating func claim(_ entry: Entry, wasHandedOut: Bool) -> ClaimAction {
        switch lifecycle {
        case .closed:
            if wasHandedOut { handedOut -= 1 }
            return .drop
        case .replacing:
            if !wasHandedOut { handedOut += 1 }
            return .waitForCapacity(epoch: capacityEpoch)
        case .running(let producer, let generation):
            if wasHandedOut { handedOut -= 1 }
            let tag = nextTag
            nextTag += 1
            inFlight[tag] = entry
            return .produce(producer: producer, generation: generation, tag: tag, epoch: capacityEpoch)
        }
    }

    enum ProduceFailureAction {
        /// A producer replacement took the record over: nothing to do.
        case none
        /// Wait until the capacity epoch moves past `epoch` (delivery reports freed room, or a new producer), then
        /// claim the entry again; wake the run loop first when `wakeRunLoop` is set (a replacement is due).
        case waitAndClaimAgain(epoch: UInt64, wakeRunLoop: CheckedContinuation<Void, Never>?)
        /// Refused for good: report `failure` through `reporter`.
        case reject(reporter: SinkReporter?, failure: DeliveryFailure, code: String)
        /// Waiting for a retry; wake the run loop so it sees the new deadline.
        case retry(wakeRunLoop: CheckedContinuation<Void, Never>?, code: String)
    }

    /// A synchronous produce failure of `entry` under `tag` (no delivery report follows it).
    mutating func produceFailed(
        _ entry: Entry, tag: UInt64, generation: Int, epoch: UInt64, error: KafkaError, now: Instant
    ) -> ProduceFailureAction {
        guard inFlight.removeValue(forKey: tag) != nil else { return .none }
        if error.isQueueFull {
            queueFullWaits += 1
            handedOut += 1
            return .waitAndClaimAgain(epoch: epoch, wakeRunLoop: nil)
        }
        if error.isFatal || error.code == KafkaError.Code.fatal {
            handedOut += 1
            let wake = beginReplacement(ofGeneration: generation, reason: error) ? takeRunLoopWaiter() : nil
            return .waitAndClaimAgain(epoch: epoch, wakeRunLoop: wake)
        }
        if error.code == KafkaError.Code.state { // that producer was closed (replaced, or the sink closed)
            handedOut += 1
            return .waitAndClaimAgain(epoch: epoch, wakeRunLoop: nil)
        }
        var entry = entry
        entry.attempts.append(Self.attempt(entry, error, now: now))
        if !retryLogic.decide(error).isRetryable {
            return .reject(reporter: reporter, failure: Self.failure(entry, error), code: error.name)
        }
        scheduleRetry(entry, now: now)
        return .retry(wakeRunLoop: takeRunLoopWaiter(), code: error.name)
    }

    enum CapacityAction {
        case resumeNow
        case wait
    }

    /// Parks `continuation` until the capacity epoch moves past `epoch`.
    mutating func waitForCapacity(since epoch: UInt64, _ continuation: CheckedContinuation<Void, Never>) -> CapacityAction {
        if capacityEpoch != epoch || isClosed { return .resumeNow }
        capacityWaiters.append(continuation)
        return .wait
    }

    // MARK: Delivery reports

    /// What to do after one batch of delivery reports.
    struct ReportActions {
        var reporter: SinkReporter?
        var accepted: [(record: SinkRecord, receipt: Receipt, attempts: Int)] = []
        var released: [UInt64] = []
        var rejected: [(record: SinkRecord, failure: DeliveryFailure)] = []
        var delivered: [(topic: String, bytes: Int, latency: Duration)] = []
        var errors: [(topic: String, code: String)] = []
        /// Capacity waiters to resume.
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// The run loop, to resume (retries were scheduled, or the producer must be replaced).
        var wakeRunLoop: CheckedContinuation<Void, Never>?
        /// How many records were scheduled for a retry, and the last failure among them.
        var retried = 0
        var lastRetriedError: KafkaError?
        /// The producer is stuck (messages kept timing out for this long) and is being replaced.
        var stuckFor: Duration?
        var held = 0
    }

    /// One batch of delivery reports. Reports with a tag the sink no longer holds (a replaced producer's) are ignored.
    mutating func deliveryReports(_ reports: [KafkaDeliveryReport], now: Instant) -> ReportActions {
        var actions = ReportActions()
        var timedOut = false
        for report in reports {
            guard var entry = inFlight.removeValue(forKey: report.tag) else { continue } // superseded
            if let error = report.error {
                entry.attempts.append(Self.attempt(entry, error, now: now))
                actions.errors.append((entry.topic, error.name))
                if error.code == KafkaError.Code.messageTimedOut { timedOut = true }
                if !retryLogic.decide(error).isRetryable {
                    actions.rejected.append((entry.record, Self.failure(entry, error)))
                } else if !isClosed {
                    scheduleRetry(entry, now: now)
                    actions.retried += 1
                    actions.lastRetriedError = error
                }
            } else {
                let topic = report.topic.isEmpty ? entry.topic : report.topic
                actions.accepted.append(
                    (entry.record, .kafka(topic: topic, partition: report.partition, offset: report.offset), entry.attempts.count + 1))
                actions.released.append(entry.record.sequence)
                actions.delivered.append((topic, entry.record.event.envelope.count, report.latency ?? (entry.attemptStart.duration(to: now))))
            }
        }
        if !actions.accepted.isEmpty {
            timingOutSince = nil
            brokerProblem = nil
        } else if timedOut {
            if let since = timingOutSince {
                let elapsed = since.duration(to: now)
                if elapsed >= stuckAfter, case .running(_, let generation) = lifecycle {
                    let reason = KafkaError(
                        code: KafkaError.Code.messageTimedOut, name: "_MSG_TIMED_OUT",
                        message: "messages kept timing out for \(elapsed) without any delivery", isRetriable: true, isFatal: false)
                    if beginReplacement(ofGeneration: generation, reason: reason) { actions.stuckFor = elapsed }
                }
            } else {
                timingOutSince = now
            }
        }
        if actions.retried > 0 || actions.stuckFor != nil { actions.wakeRunLoop = takeRunLoopWaiter() }
        actions.waiters = bumpCapacityEpoch()
        actions.reporter = reporter
        actions.held = heldCount
        return actions
    }

    // MARK: Client events

    /// A client-level error of the `generation`-th producer. Returns the run loop to resume when the producer must now
    /// be replaced.
    mutating func clientError(_ error: KafkaError, generation: Int) -> CheckedContinuation<Void, Never>? {
        if error.isBrokerUnreachable { brokerProblem = "\(error.name): \(error.message)" }
        guard error.isFatal, beginReplacement(ofGeneration: generation, reason: error) else { return nil }
        return takeRunLoopWaiter()
    }

    /// The statistics show a broker connection up again.
    mutating func brokerIsUp() {
        brokerProblem = nil
    }

    /// Starts replacing the `generation`-th producer (once); false when it is not the current one or is already
    /// being replaced, or the sink is closed.
    private mutating func beginReplacement(ofGeneration generation: Int, reason: KafkaError) -> Bool {
        guard case .running(let producer, let current) = lifecycle, current == generation else { return false }
        lifecycle = .replacing(failed: producer, generation: generation, reason: reason, notBefore: nil, failures: 0)
        return true
    }

    // MARK: Run loop

    enum RunLoopAction {
        /// Produce these records again (their retry time has come).
        case produce([Entry])
        /// Create the replacement producer (it will be the `generation`-th); `reason` is why.
        case createProducer(generation: Int, reason: KafkaError)
        /// Nothing is due: wait until `deadline` (nil: until woken).
        case wait(deadline: Instant?)
        /// The sink is closed: return.
        case exit
    }

    /// What the run loop does next.
    mutating func nextRunLoopAction(now: Instant) -> RunLoopAction {
        var deadline: Instant?
        if isShutdownRequested { return .exit }
        switch lifecycle {
        case .closed:
            return .exit
        case .replacing(_, let generation, let reason, let notBefore, _):
            guard let notBefore, notBefore > now else { return .createProducer(generation: generation + 1, reason: reason) }
            deadline = notBefore
        case .running:
            let due = retries.filter { $0.due <= now }
            if !due.isEmpty {
                retries.removeAll { $0.due <= now }
                handedOut += due.count
                return .produce(due.sorted { $0.entry.record.sequence < $1.entry.record.sequence }.map(\.entry))
            }
        }
        if let earliest = retries.map(\.due).min(), case .running = lifecycle {
            deadline = deadline.map { min($0, earliest) } ?? earliest
        }
        return .wait(deadline: deadline)
    }

    /// Graceful shutdown: the run loop returns at its next look. Returns the run loop to resume.
    mutating func requestShutdown() -> CheckedContinuation<Void, Never>? {
        isShutdownRequested = true
        return takeRunLoopWaiter()
    }

    /// Parks the run loop; `.resumeNow` when it was woken since it last looked (or the sink is closed).
    mutating func parkRunLoop(_ continuation: CheckedContinuation<Void, Never>) -> CapacityAction {
        if runLoopWakeUpPending || isClosed || isShutdownRequested {
            runLoopWakeUpPending = false
            return .resumeNow
        }
        runLoopWaiter = continuation
        return .wait
    }

    /// Wakes the run loop: returns its continuation to resume, or remembers the wake-up for its next park.
    mutating func takeRunLoopWaiter() -> CheckedContinuation<Void, Never>? {
        guard let waiter = runLoopWaiter else {
            runLoopWakeUpPending = true
            return nil
        }
        runLoopWaiter = nil
        return waiter
    }

    enum ReplacementAction {
        /// Close `failed` (its reports carry superseded tags); resume `waiters`; `moved` records are produced again.
        case replaced(failed: Producer?, moved: Int, waiters: [CheckedContinuation<Void, Never>])
        /// The sink closed meanwhile: close the new producer.
        case closeNew(Producer)
    }

    /// The replacement producer was created: every record in flight on the failed one is produced again at once (at
    /// least once: duplicates are possible).
    mutating func producerCreated(_ producer: Producer, now: Instant) -> ReplacementAction {
        guard case .replacing(let failed, let generation, let reason, _, _) = lifecycle else { return .closeNew(producer) }
        lifecycle = .running(producer: producer, generation: generation + 1)
        timingOutSince = nil
        let moved = inFlight.sorted { $0.key < $1.key }.map(\.value)
        inFlight.removeAll()
        for var entry in moved {
            entry.attempts.append(Self.attempt(entry, reason, now: now))
            retries.append((now, entry))
        }
        return .replaced(failed: failed, moved: moved.count, waiters: bumpCapacityEpoch())
    }

    /// Creating the replacement failed: try again after the backoff.
    mutating func producerCreationFailed(now: Instant) {
        guard case .replacing(let failed, let generation, let reason, _, let failures) = lifecycle else { return }
        let delay = backoff.delay(attempt: failures + 1)
        lifecycle = .replacing(failed: failed, generation: generation, reason: reason, notBefore: now.advanced(by: delay), failures: failures + 1)
    }

    // MARK: Closing

    struct CloseAction {
        /// The producers to close (the current one, or the failed one being replaced).
        var producer: Producer?
        var waiters: [CheckedContinuation<Void, Never>]
        var runLoop: CheckedContinuation<Void, Never>?
    }

    /// Closes the sink: no more produce or retries (records waiting for one stay unreleased in the log). Nil when
    /// already closed.
    mutating func close() -> CloseAction? {
        let producer: Producer?
        switch lifecycle {
        case .closed: return nil
        case .running(let current, _): producer = current
        case .replacing(let failed, _, _, _, _): producer = failed
        }
        lifecycle = .closed
        retries.removeAll()
        handedOut = 0
        let runLoop = runLoopWaiter
        runLoopWaiter = nil
        return CloseAction(producer: producer, waiters: bumpCapacityEpoch(), runLoop: runLoop)
    }

    /// The producer, for a flush (nil when closed or being replaced).
    var currentProducer: Producer? {
        if case .running(let producer, _) = lifecycle { return producer }
        return nil
    }

    // MARK: Helpers

    /// Waits the shared ``Backoff`` for the entry's number of failed attempts.
    private mutating func scheduleRetry(_ entry: Entry, now: Instant) {
        retries.append((now.advanced(by: backoff.delay(attempt: entry.attempts.count)), entry))
    }

    private mutating func bumpCapacityEpoch() -> [CheckedContinuation<Void, Never>] {
        capacityEpoch &+= 1
        defer { capacityWaiters.removeAll() }
        return capacityWaiters
    }

    static func attempt(_ entry: Entry, _ error: KafkaError, now: Instant) -> DeliveryAttempt {
        DeliveryAttempt(
            startedAtMillis: entry.attemptStartMillis, durationMillis: entry.attemptStart.duration(to: now).milliseconds,
            errorCode: error.name, errorMessage: error.message)
    }

    static func failure(_ entry: Entry, _ error: KafkaError) -> DeliveryFailure {
        DeliveryFailure(
            code: error.name, message: "Kafka refused the record for topic '\(entry.topic)' for good: \(error.message)",
            attempts: entry.attempts)
    }
}
