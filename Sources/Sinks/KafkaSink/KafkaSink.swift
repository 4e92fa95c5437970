public import AWSCredentials
public import CoreMetrics
internal import Dispatch
public import GatewayConfig
public import GatewayCore
internal import KafkaClient
public import Logging
internal import MSKIAMAuth
internal import Synchronization

/// The Kafka / Amazon MSK sink: produces each record to its route's topic with librdkafka and
/// reports receipts from the delivery reports.
///
/// - ``write(_:reporter:)`` produces every record (key: the partition key, value: the envelope,
///   headers `event_id`, `team`, `app`) without waiting for the broker. When librdkafka's local
///   queue is full it waits (no spinning) until delivery reports free room, which is the sink's
///   backpressure on the dispatcher.
/// - Delivery reports arrive in batches on the producer's poll thread. Per batch: each
///   acknowledged record is `accepted` with a `.kafka(topic:partition:offset:)` receipt, then all
///   of them are `released` in one call. A record refused for good (`MSG_SIZE_TOO_LARGE`,
///   `TOPIC_AUTHORIZATION_FAILED`, …) is `rejected` with every attempt. Any other failure (timed
///   out, transport, unknown topic or partition, purged) is produced again after a backoff with
///   jitter (100 ms doubling up to 5 s): a record is never dropped.
/// - A fatal producer error (e.g. the idempotent producer's) closes the producer, creates a new
///   one and produces every pending record again (at least once: duplicates are possible). So
///   does a stuck producer: one whose messages keep timing out, with no delivery, for another
///   `message.timeout.ms` after the first timeout (an idempotent producer whose broker lost its producer state gets
///   `UNKNOWN_PRODUCER_ID` forever, and librdkafka never raises a fatal error for it).
/// - ``flush(reporter:)`` flushes librdkafka off the cooperative pool for at most 10 s; what is
///   not delivered by then stays unreleased (the log still holds it).
public final class KafkaSink: Sink {
    /// This sink's id (`kafka`).
    public let id: SinkID = .kafka
    private let core: KafkaSinkCore

    /// Creates the sink and its producer.
    ///
    /// - Parameters:
    ///   - configuration: the `kafka:` section.
    ///   - credentials: AWS credentials for `sasl_mechanism: AWS_MSK_IAM` (required then, unused
    ///     otherwise).
    ///   - region: the MSK cluster's AWS region (for MSK IAM tokens).
    ///   - logger: the sink's and librdkafka's log.
    ///   - metricsFactory: where the `sluice_kafka_*` metrics are registered.
    /// - Throws: ``KafkaSettingsError`` when the configuration cannot be mapped, librdkafka
    ///   refuses a property or the combination, or MSK IAM lacks credentials or a valid region.
    public init(
        configuration: KafkaConfiguration,
        credentials: (any AWSCredentialProvider)?,
        region: String,
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(KafkaSettingsError) {
        let settings = try KafkaProducerSettings(configuration: configuration)
        let tokenProvider = try MSKIAMTokenProvider.forKafka(configuration, credentials: credentials, region: region, logger: logger)
        logger.info(
            "Kafka sink starting",
            metadata: [
                "librdkafka": "\(KafkaProducer.librdkafkaVersion)",
                "bootstrap_servers": "\(settings.properties["bootstrap.servers"] ?? "")",
                "msk_iam": "\(settings.usesMSKIAM)",
            ])
        tokenProvider?.start()
        let core = KafkaSinkCore(
            properties: settings.properties, tokenProvider: tokenProvider, logger: logger,
            metrics: KafkaSinkMetrics(factory: metricsFactory))
        do throws(KafkaConfigurationError) {
            try core.start()
        } catch {
            tokenProvider?.stop()
            throw KafkaSettingsError(
                path: KafkaProducerSettings.path(of: error.property, in: configuration), message: "librdkafka says \(error.message)")
        }
        self.core = core
    }

    deinit {
        core.beginClose()
    }

    /// Produces `records` (in order); returns once librdkafka queued all of them (waiting while
    /// its queue is full). Outcomes arrive later through `reporter`.
    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        await core.write(records, reporter: reporter)
    }

    /// Keeps the in-flight gauge current; retries run on their own timers.
    public func tick(reporter: SinkReporter) async {
        core.tick(reporter: reporter)
    }

    /// Flushes librdkafka (at most 10 s, off the cooperative pool); every delivery report that
    /// arrived by then has been reported when this returns.
    public func flush(reporter: SinkReporter) async {
        await core.flush(reporter: reporter)
    }

    /// Why no broker can be reached (`_ALL_BROKERS_DOWN`, `_RESOLVE`, `_AUTHENTICATION`, `_SSL`), nil once one is.
    public var problem: String? { core.brokerProblem.withLock { $0 } }

    /// Testing only: raises a fatal error on the current producer; the sink then replaces it.
    func simulateFatalError() -> Bool { core.simulateFatalError() }

    /// How many producers the sink created so far (1 + replacements after fatal errors).
    public var producerGenerations: Int { core.producerGenerations }

    /// How often `write` found librdkafka's local queue full and waited for delivery reports.
    public var queueFullWaits: Int { core.queueFullWaits }

    /// Records produced and not yet reported, plus records waiting for a retry.
    public var inFlightCount: Int { core.inFlightCount }

    /// Stops the sink: no more produce or retries; closes the producer (purging what it still
    /// holds: those records stay unreleased) and stops the MSK IAM credential refresh. Call
    /// ``flush(reporter:)`` first for a graceful shutdown. Idempotent.
    public func close() async {
        await core.close()
    }
}

/// The sink's state and logic, shared with the producer's callbacks (which hold it weakly).
final class KafkaSinkCore: Sendable {
    /// A record the sink holds: produced and awaiting its report, or waiting for a retry.
    struct Pending: Sendable {
        var record: SinkRecord
        var topic: String
        var attempts: [DeliveryAttempt] = []
        var attemptStart: ContinuousClock.Instant = .now
        var attemptStartMillis: Int64 = 0
    }

    struct State {
        var producer: KafkaProducer?
        var generation = 0
        /// Produced records by tag (a new tag for every produce call).
        var inFlight: [UInt64: Pending] = [:]
        /// Records whose retry timer is running.
        var retrying = 0
        var nextTag: UInt64 = 1
        var reporter: SinkReporter?
        /// Bumped on every delivery report batch, producer replacement and close.
        var capacityEpoch: UInt64 = 0
        var capacityWaiters: [CheckedContinuation<Void, Never>] = []
        var recovering = false
        var closed = false
        /// The first message timeout since the last delivery (or producer creation): a producer
        /// whose messages keep timing out for `stuckAfter` after that is replaced.
        var timingOutSince: ContinuousClock.Instant?
        /// How often `write` waited for room in librdkafka's queue (diagnostics and tests).
        var queueFullWaits = 0
    }

    /// Errors after which producing the same record again cannot succeed.
    static let permanentErrors: Set<String> = [
        "MSG_SIZE_TOO_LARGE", "INVALID_MSG", "INVALID_MSG_SIZE", "RECORD_LIST_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED",
        "INVALID_RECORD", "TOPIC_EXCEPTION", "INVALID_TIMESTAMP", "UNSUPPORTED_FOR_MESSAGE_FORMAT", "_INVALID_ARG",
    ]
    static let flushTimeout: Duration = .seconds(10)
    static let minimumBackoff: Duration = .milliseconds(100)
    static let maximumBackoff: Duration = .seconds(5)

    let properties: [String: String]
    /// `message.timeout.ms`: how long after a first message timeout messages may keep timing
    /// out, with no delivery, before the producer is considered stuck and replaced.
    let stuckAfter: Duration
    let tokenProvider: MSKIAMTokenProvider?
    let logger: Logger
    let metrics: KafkaSinkMetrics
    private let state = Mutex(State())

    init(properties: [String: String], tokenProvider: MSKIAMTokenProvider?, logger: Logger, metrics: KafkaSinkMetrics) {
        self.properties = properties
        let timeoutMs = (properties["message.timeout.ms"] ?? properties["delivery.timeout.ms"]).flatMap { Int64($0) } ?? 300_000
        self.stuckAfter = .milliseconds(max(timeoutMs, 1000))
        self.tokenProvider = tokenProvider
        self.logger = logger
        self.metrics = metrics
    }

    /// Creates the first producer.
    func start() throws(KafkaConfigurationError) {
        let producer = try makeProducer(generation: 0)
        state.withLock { $0.producer = producer }
    }

    private func makeProducer(generation: Int) throws(KafkaConfigurationError) -> KafkaProducer {
        let metrics = self.metrics
        return try KafkaProducer(
            properties: properties,
            logger: logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { [weak self] reports in self?.handle(reports) },
                statistics: { [weak self] json in
                    if metrics.statistics(json) == true { self?.brokerProblem.withLock { $0 = nil } }
                },
                error: { [weak self] error in
                    if Self.brokerErrors.contains(error.name) {
                        self?.brokerProblem.withLock { $0 = "\(error.name): \(error.message)" }
                    }
                    if error.isFatal { self?.recover(fromGeneration: generation, error: error) }
                },
                oauthBearerToken: tokenProvider?.oauthBearerHandler
            )
        )
    }

    var inFlightCount: Int { state.withLock { $0.inFlight.count + $0.retrying } }

    /// Client-level errors that mean no broker can be reached.
    static let brokerErrors: Set<String> = ["_ALL_BROKERS_DOWN", "_RESOLVE", "_AUTHENTICATION", "_SSL"]
    /// The last such error, until a delivery succeeds or the statistics show a broker up again.
    let brokerProblem = Mutex<String?>(nil)

    // MARK: Writing

    func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        state.withLock { $0.reporter = reporter }
        for record in records {
            let topic = record.event.route.destination
            guard record.event.route.sink == .kafka, !topic.isEmpty else {
                reporter.rejected(
                    record,
                    failure: DeliveryFailure(
                        code: "not_a_kafka_route", message: "record \(record.sequence) has route \(record.event.route), not a Kafka topic"))
                continue
            }
            await send(Pending(record: record, topic: topic), countedAsRetrying: false)
        }
        metrics.inFlight(inFlightCount)
    }

    func tick(reporter: SinkReporter) {
        state.withLock { $0.reporter = reporter }
        metrics.inFlight(inFlightCount)
    }

    /// Produces `entry` once (waiting while the queue is full or the producer is being replaced).
    /// A synchronous failure either rejects the record or hands it to a retry timer.
    private func send(_ entry: Pending, countedAsRetrying: Bool) async {
        var entry = entry
        var counted = countedAsRetrying
        let key = Array(entry.record.event.partitionKey.utf8)
        let headers: [(String, [UInt8])] = [
            ("event_id", Array(entry.record.event.eventID.utf8)),
            ("team", Array(entry.record.event.team.utf8)),
            ("app", Array(entry.record.event.app.utf8)),
        ]
        while true {
            entry.attemptStart = .now
            entry.attemptStartMillis = Timestamp.nowMillis()
            let claimed = state.withLock { state -> (producer: KafkaProducer, generation: Int, tag: UInt64, epoch: UInt64)? in
                if counted {
                    state.retrying -= 1
                    counted = false
                }
                guard !state.closed, let producer = state.producer else { return nil }
                let tag = state.nextTag
                state.nextTag += 1
                state.inFlight[tag] = entry
                return (producer, state.generation, tag, state.capacityEpoch)
            }
            guard let claimed else { return }  // closed: the record stays unreleased in the log
            let failure: KafkaError
            do {
                try claimed.producer.produce(
                    topic: entry.topic, key: key, value: entry.record.event.envelope, headers: headers, tag: claimed.tag)
                return
            } catch {
                failure = error
            }
            // No delivery report follows a throw; unless a producer replacement took the record over.
            guard state.withLock({ $0.inFlight.removeValue(forKey: claimed.tag) != nil }) else { return }
            if failure.isQueueFull {
                state.withLock { $0.queueFullWaits += 1 }
                await waitForCapacity(since: claimed.epoch)
                continue
            }
            if failure.isFatal || failure.code == KafkaError.Code.fatal {
                recover(fromGeneration: claimed.generation, error: failure)
                await waitForCapacity(since: claimed.epoch)
                continue
            }
            if failure.code == KafkaError.Code.state {  // this producer was closed (replaced, or the sink closed)
                await waitForCapacity(since: claimed.epoch)
                continue
            }
            metrics.error(topic: entry.topic, code: failure.name)
            entry.attempts.append(Self.attempt(entry, failure))
            if Self.isPermanent(failure) {
                let reporter = state.withLock { $0.reporter }
                reporter?.rejected(entry.record, failure: Self.failure(entry, failure))
            } else {
                state.withLock { $0.retrying += 1 }
                scheduleRetries([entry])
            }
            return
        }
    }

    /// Waits until a delivery report batch, a producer replacement or close happened after `epoch`.
    private func waitForCapacity(since epoch: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.capacityEpoch != epoch || state.closed { return true }
                state.capacityWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    // MARK: Delivery reports

    /// One batch of delivery reports (poll thread, or the thread flushing or closing a producer).
    func handle(_ reports: [KafkaDeliveryReport]) {
        var accepted: [(SinkRecord, Receipt, Int)] = []
        var released: [UInt64] = []
        var rejected: [(SinkRecord, DeliveryFailure)] = []
        var retries: [Pending] = []
        var delivered: [(topic: String, bytes: Int, latency: Duration)] = []
        var errors: [(topic: String, code: String)] = []
        let now = ContinuousClock.now
        var stuck: (generation: Int, since: Duration)?
        if reports.contains(where: { $0.error == nil }) { brokerProblem.withLock { $0 = nil } }
        let (reporter, waiters, closed, held) = state.withLock {
            state -> (SinkReporter?, [CheckedContinuation<Void, Never>], Bool, Int) in
            for report in reports {
                guard var entry = state.inFlight.removeValue(forKey: report.tag) else { continue }  // superseded
                if let error = report.error {
                    entry.attempts.append(Self.attempt(entry, error, elapsed: now - entry.attemptStart))
                    errors.append((entry.topic, error.name))
                    if Self.isPermanent(error) {
                        rejected.append((entry.record, Self.failure(entry, error)))
                    } else if !state.closed {
                        retries.append(entry)
                    }
                } else {
                    let topic = report.topic.isEmpty ? entry.topic : report.topic
                    accepted.append(
                        (entry.record, .kafka(topic: topic, partition: report.partition, offset: report.offset), entry.attempts.count + 1))
                    released.append(entry.record.sequence)
                    delivered.append((topic, entry.record.event.envelope.count, report.latency ?? (now - entry.attemptStart)))
                }
            }
            state.retrying += retries.count
            if !accepted.isEmpty {
                state.timingOutSince = nil
            } else if errors.contains(where: { $0.code == "_MSG_TIMED_OUT" }) {
                if let since = state.timingOutSince {
                    if now - since >= stuckAfter, !state.recovering, !state.closed { stuck = (state.generation, now - since) }
                } else {
                    state.timingOutSince = now
                }
            }
            state.capacityEpoch &+= 1
            let waiters = state.capacityWaiters
            state.capacityWaiters.removeAll()
            return (state.reporter, waiters, state.closed, state.inFlight.count + state.retrying)
        }
        for waiter in waiters { waiter.resume() }
        if let reporter {
            for (record, receipt, attempts) in accepted { reporter.accepted(record, receipt: receipt, attempts: attempts) }
            if !released.isEmpty { reporter.released(released) }
            for (record, failure) in rejected { reporter.rejected(record, failure: failure) }
        }
        for item in delivered { metrics.delivered(topic: item.topic, bytes: item.bytes, latency: item.latency) }
        for item in errors { metrics.error(topic: item.topic, code: item.code) }
        metrics.inFlight(held)
        if !retries.isEmpty && !closed {
            if let last = retries.last?.attempts.last {
                logger.warning(
                    "Kafka delivery failed; producing again after a backoff",
                    metadata: ["records": "\(retries.count)", "error": "\(last.errorCode ?? ""): \(last.errorMessage ?? "")"])
            }
            scheduleRetries(retries)
        }
        if let stuck {
            // E.g. an idempotent producer whose broker lost its producer state answers
            // UNKNOWN_PRODUCER_ID forever: librdkafka retries until the messages time out.
            recover(
                fromGeneration: stuck.generation,
                error: KafkaError(
                    code: KafkaError.Code.messageTimedOut, name: "_MSG_TIMED_OUT",
                    message: "messages kept timing out for \(stuck.since) without any delivery", isRetriable: true, isFatal: false))
        }
    }

    /// Produces `entries` again after their backoff (already counted in `retrying`).
    private func scheduleRetries(_ entries: [Pending]) {
        let groups = Dictionary(grouping: entries) { $0.attempts.count }
        for (failures, group) in groups.sorted(by: { $0.key < $1.key }) {
            let delay = Self.backoff(failures: failures)
            Task {
                try? await Task.sleep(for: delay)
                for entry in group { await self.send(entry, countedAsRetrying: true) }
            }
        }
    }

    /// 100 ms doubling per failure up to 5 s, with jitter (between half and all of it).
    static func backoff(failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 16)
        let base = min(minimumBackoff * (1 << exponent), maximumBackoff)
        let millis = Double(base.components.seconds) * 1000 + Double(base.components.attoseconds) / 1e15
        return .milliseconds(Int64(Double.random(in: (millis / 2)...millis)))
    }

    static func isPermanent(_ error: KafkaError) -> Bool { permanentErrors.contains(error.name) }

    static func attempt(_ entry: Pending, _ error: KafkaError, elapsed: Duration? = nil) -> DeliveryAttempt {
        let duration = elapsed ?? (ContinuousClock.now - entry.attemptStart)
        let millis = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return DeliveryAttempt(
            startedAtMillis: entry.attemptStartMillis, durationMillis: millis, errorCode: error.name, errorMessage: error.message)
    }

    static func failure(_ entry: Pending, _ error: KafkaError) -> DeliveryFailure {
        DeliveryFailure(
            code: error.name,
            message: "Kafka refused the record for topic '\(entry.topic)' for good: \(error.message)",
            attempts: entry.attempts)
    }

    // MARK: Fatal errors

    /// Replaces the producer of `generation` (once), then produces every pending record again.
    func recover(fromGeneration generation: Int, error: KafkaError) {
        let begin = state.withLock { state -> Bool in
            guard !state.closed, state.generation == generation, !state.recovering else { return false }
            state.recovering = true
            return true
        }
        guard begin else { return }
        logger.critical(
            "Kafka producer failed (fatal error, or stuck); replacing it and producing every pending record again",
            metadata: ["error": "\(error)"])
        Task { await self.replaceProducer(after: error) }
    }

    private func replaceProducer(after error: KafkaError) async {
        var delay = Self.minimumBackoff
        while true {
            let generation = state.withLock { $0.generation + 1 }
            let producer: KafkaProducer
            do {
                producer = try makeProducer(generation: generation)
            } catch {
                logger.error("Could not create a new Kafka producer: \(error)")
                if state.withLock({ $0.closed }) {
                    state.withLock { $0.recovering = false }
                    return
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, Self.maximumBackoff)
                continue
            }
            let swapped = state.withLock {
                state -> (old: KafkaProducer?, moved: [Pending], waiters: [CheckedContinuation<Void, Never>])? in
                state.recovering = false
                if state.closed { return nil }
                let old = state.producer
                state.producer = producer
                state.generation = generation
                state.timingOutSince = nil
                let moved = state.inFlight.sorted { $0.key < $1.key }.map(\.value)
                state.inFlight.removeAll()
                state.retrying += moved.count
                state.capacityEpoch &+= 1
                let waiters = state.capacityWaiters
                state.capacityWaiters.removeAll()
                return (old, moved, waiters)
            }
            guard let swapped else {
                Self.closeInBackground(producer)
                return
            }
            for waiter in swapped.waiters { waiter.resume() }
            if let old = swapped.old { Self.closeInBackground(old) }  // its reports carry superseded tags
            logger.notice("Kafka producer replaced", metadata: ["pending": "\(swapped.moved.count)"])
            for var entry in swapped.moved {
                entry.attempts.append(Self.attempt(entry, error))
                await send(entry, countedAsRetrying: true)
            }
            return
        }
    }

    /// Testing only: raises a fatal error on the current producer (see `KafkaProducer.simulateFatalError`).
    func simulateFatalError() -> Bool {
        guard let producer = state.withLock({ $0.producer }) else { return false }
        return producer.simulateFatalError(reason: "simulated by a test")
    }

    /// How many producers the sink created so far (1 + replacements).
    var producerGenerations: Int { state.withLock { $0.generation + 1 } }

    /// How often a produce call found librdkafka's queue full and waited.
    var queueFullWaits: Int { state.withLock { $0.queueFullWaits } }

    private static func closeInBackground(_ producer: KafkaProducer) {
        DispatchQueue.global().async { producer.close(timeout: .zero) }
    }

    // MARK: Flush and close

    func flush(reporter: SinkReporter) async {
        let producer = state.withLock { state -> KafkaProducer? in
            state.reporter = reporter
            return state.closed ? nil : state.producer
        }
        guard let producer else { return }
        let logger = self.logger
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                do {
                    try producer.flush(timeout: Self.flushTimeout)
                } catch {
                    logger.warning("Kafka flush did not complete; undelivered records stay in the log", metadata: ["error": "\(error)"])
                }
                continuation.resume()
            }
        }
        metrics.inFlight(inFlightCount)
    }

    /// Marks the sink closed and returns what must be shut down (nil when already closed).
    private func markClosed() -> (producer: KafkaProducer?, waiters: [CheckedContinuation<Void, Never>])? {
        state.withLock { state in
            if state.closed { return nil }
            state.closed = true
            let producer = state.producer
            state.producer = nil
            state.capacityEpoch &+= 1
            let waiters = state.capacityWaiters
            state.capacityWaiters.removeAll()
            return (producer, waiters)
        }
    }

    func close() async {
        tokenProvider?.stop()
        guard let closing = markClosed() else { return }
        for waiter in closing.waiters { waiter.resume() }
        guard let producer = closing.producer else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                producer.close(timeout: .zero)
                continuation.resume()
            }
        }
    }

    /// Closes without waiting (the sink's deinit).
    func beginClose() {
        tokenProvider?.stop()
        guard let closing = markClosed() else { return }
        for waiter in closing.waiters { waiter.resume() }
        if let producer = closing.producer { Self.closeInBackground(producer) }
    }
}
