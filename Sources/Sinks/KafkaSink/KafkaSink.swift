public import AWSCredentials
public import CoreMetrics
public import GatewayCore
public import KafkaClient
public import Logging
internal import MSKIAMAuth
public import ServiceLifecycle
internal import Synchronization

/// The Kafka / Amazon MSK sink: produces each record to its route's topic with librdkafka and reports receipts from
/// the delivery reports. A ``Sink`` for its dispatcher and a `Service` for the service group.
///
/// - ``write(_:reporter:)`` produces every record (key: the partition key, value: the envelope, headers `event_id`,
///   `team`, `app`) without waiting for the broker. When librdkafka's local queue is full it waits (suspended, no
///   thread blocked, no spinning) until delivery reports free room: the sink's backpressure on the dispatcher.
/// - Delivery reports arrive in batches on the producer's executor. Per batch: each acknowledged record is `accepted`
///   with a `.kafka(topic:partition:offset:)` receipt, then all of them are `released` in one call. A record refused
///   for good (``KafkaRetryLogic``: `MSG_SIZE_TOO_LARGE`, `TOPIC_AUTHORIZATION_FAILED`, …) is `rejected` with every
///   attempt. Any other failure is produced again after the configuration's ``KafkaSinkConfiguration/backoff``: a
///   record is never dropped.
/// - A fatal producer error (e.g. the idempotent producer's) replaces the producer and produces every pending record
///   again (at least once: duplicates are possible). So does a stuck producer: one whose messages keep timing out,
///   with no delivery, for another `message.timeout.ms` after the first timeout (an idempotent producer whose broker
///   lost its producer state gets `UNKNOWN_PRODUCER_ID` forever, and librdkafka never raises a fatal error for it).
/// - ``run()`` drives the retries and producer replacements (and the MSK IAM credential refresh); after graceful
///   shutdown (its dispatcher, shut down before it, has flushed it) it closes the producer.
/// - ``flush(reporter:)`` flushes librdkafka on the producer's executor for at most
///   ``KafkaSinkConfiguration/flushTimeout``; what is not delivered by then stays unreleased (the log still holds it).
///
/// The state is a ``KafkaSinkStateMachine`` in a `Mutex`; librdkafka's blocking calls run on the producer's
/// ``KafkaExecutor``.
public final class KafkaSink: Sink, Service {
    private typealias StateMachine = KafkaSinkStateMachine<KafkaProducer, ElapsedClock.Instant>
    private typealias Entry = StateMachine.Entry

    /// This sink's id (`kafka`).
    public let id: SinkID = .kafka
    private let configuration: KafkaSinkConfiguration
    private let properties: [String: String]
    private let tokenProvider: MSKIAMTokenProvider?
    private let logger: Logger
    private let metrics: KafkaSinkMetrics
    private let clock: ElapsedClock
    private let state: Mutex<StateMachine>
    /// What the producers' callbacks reach the sink through (they must not keep it alive).
    private let callbacks: CallbackTarget

    /// Creates the sink and its producer.
    ///
    /// - Parameters:
    ///   - configuration: the brokers, security and producer settings.
    ///   - credentials: AWS credentials for ``KafkaSinkConfiguration/SASLMechanism/awsMSKIAM`` (required then, unused
    ///     otherwise).
    ///   - region: the MSK cluster's AWS region (for MSK IAM tokens).
    ///   - logger: the sink's and librdkafka's log.
    ///   - metricsFactory: where the `sluice_kafka_*` metrics are registered.
    ///   - clock: what retry backoff and the state machine's deadlines are measured on (tests wrap a manual clock).
    /// - Throws: ``KafkaConfigurationError`` naming the librdkafka property refused (`sasl.mechanism` when MSK IAM
    ///   lacks credentials or a valid region; none when librdkafka refuses the combination).
    public init(
        configuration: KafkaSinkConfiguration,
        credentials: (any AWSCredentialProvider)?,
        region: String,
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        clock: ElapsedClock = ElapsedClock()
    ) throws(KafkaConfigurationError) {
        self.clock = clock
        let settings = KafkaProducerSettings(configuration: configuration)
        do throws(MSKIAMAuthError) {
            tokenProvider = try MSKIAMTokenProvider.make(
                for: configuration.connection, credentials: credentials, region: region, logger: logger)
        } catch {
            let message = error.message.hasPrefix("AWS_MSK_IAM") ? error.message : "AWS_MSK_IAM: \(error.message)"
            throw KafkaConfigurationError(property: "sasl.mechanism", message: message)
        }
        logger.info(
            "Kafka sink starting",
            metadata: [
                LoggingKeys.librdkafkaVersion: "\(KafkaProducer.librdkafkaVersion)",
                LoggingKeys.bootstrapServers: "\(settings.properties["bootstrap.servers"] ?? "")",
                LoggingKeys.usesMSKIAM: "\(settings.usesMSKIAM)",
            ])
        self.configuration = configuration
        self.properties = settings.properties
        self.logger = logger
        let metrics = KafkaSinkMetrics(factory: metricsFactory)
        self.metrics = metrics
        let callbacks = CallbackTarget()
        self.callbacks = callbacks
        let producer = try Self.makeProducer(
            properties: settings.properties, generation: 0, callbacks: callbacks, metrics: metrics, tokenProvider: tokenProvider,
            logger: logger)
        let timeoutMs = (properties["message.timeout.ms"] ?? properties["delivery.timeout.ms"]).flatMap { Int64($0) } ?? 300_000
        state = Mutex(StateMachine(producer: producer, stuckAfter: .milliseconds(max(timeoutMs, 1000)), backoff: configuration.backoff))
        callbacks.set(self)
    }

    deinit {
        // The producer closes itself (zero flush timeout) when its last reference goes.
        tokenProvider?.stop()
    }

    private static func makeProducer(
        properties: [String: String], generation: Int, callbacks: CallbackTarget, metrics: KafkaSinkMetrics,
        tokenProvider: MSKIAMTokenProvider?, logger: Logger
    ) throws(KafkaConfigurationError) -> KafkaProducer {
        try KafkaProducer(
            properties: properties,
            logger: logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { reports in callbacks.sink?.handle(reports) },
                statistics: { json in
                    if metrics.statistics(json) == true { callbacks.sink?.state.withLock { $0.brokerIsUp() } }
                },
                error: { error in
                    callbacks.sink?.state.withLock { $0.clientError(error, generation: generation) }?.resume()
                },
                oauthBearerToken: tokenProvider?.oauthBearerHandler
            )
        )
    }

    // MARK: Sink

    /// Produces `records` (in order); returns once librdkafka queued all of them (waiting while its queue is full).
    /// Outcomes arrive later through `reporter`.
    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        state.withLock { $0.setReporter(reporter) }
        for record in records {
            let topic = record.event.route.destination
            guard record.event.route.sink == .kafka, !topic.isEmpty else {
                reporter.rejected(
                    record,
                    failure: DeliveryFailure(
                        code: "not_a_kafka_route", message: "record \(record.sequence) has route \(record.event.route), not a Kafka topic"))
                continue
            }
            await send(Entry(record: record, topic: topic, attemptStart: clock.now, attemptStartMillis: Timestamp.nowMillis()), wasHandedOut: false)
        }
        metrics.inFlight(inFlightCount)
    }

    /// Keeps the in-flight gauge current; retries run in ``run()``.
    public func tick(reporter: SinkReporter) async {
        state.withLock { $0.setReporter(reporter) }
        metrics.inFlight(inFlightCount)
    }

    /// Flushes librdkafka (at most ``KafkaSinkConfiguration/flushTimeout``, on the producer's executor); every
    /// delivery report that arrived by then has been reported when this returns.
    public func flush(reporter: SinkReporter) async {
        let producer = state.withLock { state -> KafkaProducer? in
            state.setReporter(reporter)
            return state.currentProducer
        }
        guard let producer else { return }
        do {
            try await producer.flush(timeout: configuration.flushTimeout)
        } catch {
            logger.warning("Kafka flush did not complete; undelivered records stay in the log", metadata: [LoggingKeys.error: "\(error)"])
        }
        metrics.inFlight(inFlightCount)
    }

    /// Why no broker can be reached (`_ALL_BROKERS_DOWN`, `_RESOLVE`, `_AUTHENTICATION`, `_SSL`), nil once one is.
    public var problem: String? { state.withLock { $0.brokerProblem } }

    /// How many producers the sink created so far (1 + replacements after fatal errors).
    public var producerGenerations: Int { state.withLock { $0.producerGenerations } }

    /// How often `write` found librdkafka's local queue full and waited for delivery reports.
    public var queueFullWaits: Int { state.withLock { $0.queueFullWaits } }

    /// Records produced and not yet reported, plus records waiting for a retry.
    public var inFlightCount: Int { state.withLock { $0.heldCount } }

    /// Testing only: raises a fatal error on the current producer; the sink then replaces it.
    func simulateFatalError() -> Bool {
        guard let producer = state.withLock({ $0.currentProducer }) else { return false }
        return producer.simulateFatalError(reason: "simulated by a test")
    }

    // MARK: Service

    /// Drives retries and producer replacements (and the MSK IAM credential refresh) until graceful shutdown or
    /// ``close()``, then closes the producer.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            if let tokenProvider { group.addTask { await tokenProvider.run() } }
            await withGracefulShutdownHandler {
                await runLoop()
            } onGracefulShutdown: {
                self.state.withLock { $0.requestShutdown() }?.resume()
            }
            group.cancelAll()
        }
        await close()
    }

    /// Stops the sink: no more produce or retries; closes the producer (purging what it still holds: those records
    /// stay unreleased) and stops the MSK IAM credential refresh. Call ``flush(reporter:)`` first for a graceful
    /// shutdown. Idempotent.
    public func close() async {
        tokenProvider?.stop()
        guard let closing = state.withLock({ $0.close() }) else { return }
        for waiter in closing.waiters { waiter.resume() }
        closing.runLoop?.resume()
        if let producer = closing.producer { await producer.close(timeout: .zero) }
    }

    // MARK: Producing

    /// Produces `entry` once (waiting while the queue is full or the producer is being replaced). A synchronous
    /// failure either rejects the record or leaves it to a retry.
    private func send(_ entry: Entry, wasHandedOut: Bool) async {
        var entry = entry
        var handedOut = wasHandedOut
        let key = Array(entry.record.event.partitionKey.utf8)
        let headers: [(String, [UInt8])] = [
            ("event_id", Array(entry.record.event.eventID.utf8)),
            ("team", Array(entry.record.event.team.utf8)),
            ("app", Array(entry.record.event.app.utf8)),
        ]
        while true {
            entry.attemptStart = clock.now
            entry.attemptStartMillis = Timestamp.nowMillis()
            switch state.withLock({ $0.claim(entry, wasHandedOut: handedOut) }) {
            case .drop:
                return // closed: the record stays unreleased in the log
            case .waitForCapacity(let epoch):
                handedOut = true
                await waitForCapacity(since: epoch)
            case .produce(let producer, let generation, let tag, let epoch):
                let failure: KafkaError
                do {
                    try producer.produce(topic: entry.topic, key: key, value: entry.record.event.envelope, headers: headers, tag: tag)
                    return
                } catch {
                    failure = error
                }
                let action = state.withLock {
                    $0.produceFailed(entry, tag: tag, generation: generation, epoch: epoch, error: failure, now: clock.now)
                }
                switch action {
                case .none:
                    return
                case .waitAndClaimAgain(let epoch, let wakeRunLoop):
                    wakeRunLoop?.resume()
                    handedOut = true
                    await waitForCapacity(since: epoch)
                case .reject(let reporter, let rejection, let code):
                    metrics.error(topic: entry.topic, code: code)
                    reporter?.rejected(entry.record, failure: rejection)
                    return
                case .retry(let wakeRunLoop, let code):
                    metrics.error(topic: entry.topic, code: code)
                    wakeRunLoop?.resume()
                    return
                }
            }
        }
    }

    /// Waits until a delivery report batch, a producer replacement or close happened after `epoch`.
    private func waitForCapacity(since epoch: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if case .resumeNow = state.withLock({ $0.waitForCapacity(since: epoch, continuation) }) { continuation.resume() }
        }
    }

    // MARK: Delivery reports

    /// One batch of delivery reports (on the producer's executor).
    private func handle(_ reports: [KafkaDeliveryReport]) {
        let actions = state.withLock { $0.deliveryReports(reports, now: clock.now) }
        for waiter in actions.waiters { waiter.resume() }
        actions.wakeRunLoop?.resume()
        if let reporter = actions.reporter {
            for accepted in actions.accepted { reporter.accepted(accepted.record, receipt: accepted.receipt, attempts: accepted.attempts) }
            if !actions.released.isEmpty { reporter.released(actions.released) }
            for rejected in actions.rejected { reporter.rejected(rejected.record, failure: rejected.failure) }
        }
        for item in actions.delivered { metrics.delivered(topic: item.topic, bytes: item.bytes, latency: item.latency) }
        for item in actions.errors { metrics.error(topic: item.topic, code: item.code) }
        metrics.inFlight(actions.held)
        if let error = actions.lastRetriedError {
            logger.warning(
                "Kafka delivery failed; producing again after a backoff",
                metadata: [LoggingKeys.records: "\(actions.retried)", LoggingKeys.error: "\(error.name): \(error.message)"])
        }
        if let stuck = actions.stuckFor {
            logger.critical(
                "Kafka producer stuck (messages kept timing out without any delivery); replacing it",
                metadata: [LoggingKeys.stuckFor: "\(stuck)"])
        }
    }

    // MARK: Run loop

    private func runLoop() async {
        while !Task.isCancelled {
            switch state.withLock({ $0.nextRunLoopAction(now: clock.now) }) {
            case .exit:
                return
            case .produce(let entries):
                for entry in entries { await send(entry, wasHandedOut: true) }
                metrics.inFlight(inFlightCount)
            case .createProducer(let generation, let reason):
                await replaceProducer(generation: generation, reason: reason)
            case .wait(let deadline):
                await park(until: deadline)
            }
        }
    }

    /// Creates the `generation`-th producer and swaps it in; every pending record is then produced again.
    private func replaceProducer(generation: Int, reason: KafkaError) async {
        logger.critical(
            "Kafka producer failed (fatal error, or stuck); replacing it and producing every pending record again",
            metadata: [LoggingKeys.error: "\(reason)"])
        let producer: KafkaProducer
        do {
            producer = try Self.makeProducer(
                properties: properties, generation: generation, callbacks: callbacks, metrics: metrics, tokenProvider: tokenProvider,
                logger: logger)
        } catch {
            logger.error("Could not create a new Kafka producer: \(error)")
            state.withLock { $0.producerCreationFailed(now: clock.now) }
            return
        }
        switch state.withLock({ $0.producerCreated(producer, now: clock.now) }) {
        case .closeNew(let producer):
            await producer.close(timeout: .zero)
        case .replaced(let failed, let moved, let waiters):
            for waiter in waiters { waiter.resume() }
            logger.notice("Kafka producer replaced", metadata: [LoggingKeys.pendingRecords: "\(moved)"])
            // Its last reports carry tags the sink no longer holds: they are ignored.
            if let failed { await failed.close(timeout: .zero) }
        }
    }

    /// Waits until woken (a retry scheduled, a replacement due, shutdown) or until `deadline`.
    private func park(until deadline: ElapsedClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask { [clock] in
                    do {
                        try await clock.sleep(until: deadline)
                        self.wakeRunLoop()
                    } catch {} // cancelled: the run loop was woken otherwise
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    if case .resumeNow = state.withLock({ $0.parkRunLoop(continuation) }) { continuation.resume() }
                }
            } onCancel: {
                self.wakeRunLoop()
            }
            group.cancelAll()
        }
    }

    private func wakeRunLoop() {
        state.withLock { $0.takeRunLoopWaiter() }?.resume()
    }
}

/// A weak reference to the sink for its producers' callbacks, set once the sink is initialised.
private final class CallbackTarget: Sendable {
    private struct Reference {
        weak var sink: KafkaSink?
    }

    private let reference = Mutex(Reference())

    var sink: KafkaSink? { reference.withLock { $0.sink } }

    func set(_ sink: KafkaSink) {
        reference.withLock { $0.sink = sink }
    }
}
