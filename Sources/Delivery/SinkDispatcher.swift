public import CoreMetrics
public import GatewayCore
public import GatewayLog
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Feeds one sink from the log and keeps its cursor.
///
/// Design:
/// - Reads batches from the sink's reader (memory in the steady state, files after a restart or a backlog) and hands
///   the records routed to this sink to ``Sink/write(_:reporter:)``; records routed elsewhere are passed over.
/// - Tracks releases, which may arrive out of order (the archive publishes partitions independently): the cursor is
///   the *watermark*, the lowest sequence not yet released, and is committed to the log whenever it advances.
/// - When the sink reports it lost its unreleased records (a failed publish), the dispatcher marks itself failing
///   (`/ready` answers 503), waits a capped exponential backoff with jitter, rewinds the reader to the watermark and
///   redelivers only what was not released, so nothing is lost and nothing is delivered twice within one run.
///   While failing, every batch is followed by a flush that probes the destination; the first clean flush heals it.
/// - Records a sink rejects for good are stored in the dead-letter destination (the archive's error prefix), then released.
/// - Confirmed requests get the primary sink's receipt (or rejection) through the ``ConfirmationRegistry``.
/// - On graceful shutdown it drains what the log holds (unless the sink is failing), flushes the sink and returns.
/// - Time comes from the injected clock: the tick timer, the idle wait for records and every backoff sleep, so tests
///   drive them with a `ManualClock`.
public final class SinkDispatcher: Service, Sendable {
    struct State {
        var watermark: UInt64?
        var released = Set<UInt64>()
        var readPosition: UInt64 = 0
        var lost: DeliveryFailure?
        var problem: String?
        var rejected: [(SinkRecord, DeliveryFailure)] = []
        var consecutiveFailures = 0
        var isShuttingDown = false
    }

    /// Batch limits when reading the log.
    public static let batchRecords = 512
    public static let batchBytes = 4 << 20
    /// Records read but not released before the dispatcher stops reading ahead.
    public static let maxUnreleased = 200_000

    private let sink: any Sink
    private let log: any EventLog
    private let registry: ConfirmationRegistry
    private let deadLetters: (any DeadLetterDestination)?
    private let backoff: Backoff
    private let tickInterval: Duration
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let state = Mutex(State())

    private let delivered: Counter
    private let failures: Counter
    private let rejectedCounter: Counter

    /// Creates a dispatcher for `sink` over `log`.
    /// - Parameters:
    ///   - backoff: the waits after a failure before redelivering.
    ///   - tickInterval: how often ``Sink/tick(reporter:)`` runs.
    ///   - clock: where the tick timer and the backoff sleeps run (`ContinuousClock` in production).
    public init(
        sink: any Sink,
        log: any EventLog,
        registry: ConfirmationRegistry,
        deadLetters: (any DeadLetterDestination)?,
        backoff: Backoff = Backoff(),
        tickInterval: Duration = .milliseconds(100),
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.sink = sink
        self.log = log
        self.registry = registry
        self.deadLetters = deadLetters
        self.backoff = backoff
        self.tickInterval = tickInterval
        self.clock = clock
        var logger = logger
        logger[metadataKey: LoggingKeys.sink] = "\(sink.id)"
        self.logger = logger
        let dimensions = [("sink", sink.id.description)]
        delivered = Counter(label: "sluice_sink_released_records_total", dimensions: dimensions, factory: metricsFactory)
        failures = Counter(label: "sluice_sink_failures_total", dimensions: dimensions, factory: metricsFactory)
        rejectedCounter = Counter(label: "sluice_sink_rejected_records_total", dimensions: dimensions, factory: metricsFactory)
    }

    /// Which sink this dispatcher feeds.
    public var sinkID: SinkID { sink.id }

    /// Why the sink is failing, or nil when healthy.
    public var problem: String? { state.withLock { $0.problem } ?? sink.problem }

    public func run() async throws {
        let reader = try log.makeReader(for: sink.id)
        if let start = log.stats.cursors[sink.id] {
            state.withLock { state in
                state.watermark = start
                state.readPosition = start
            }
        }
        let reporter = makeReporter()
        await withGracefulShutdownHandler {
            await loop(reader: reader, reporter: reporter, clock: clock)
        } onGracefulShutdown: {
            self.state.withLock { $0.isShuttingDown = true }
        }
        await sink.flush(reporter: reporter)
        await storeRejected()
        logger.debug("dispatcher stopped")
    }

    private func makeReporter() -> SinkReporter {
        let sinkID = sink.id
        return SinkReporter(
            .init(
                accepted: { [registry] record, receipt, attempts in
                    if record.event.route.sink == sinkID, record.event.waiterToken != 0 {
                        registry.resolve(record.event.waiterToken, with: .accepted(receipt, attempts: attempts))
                    }
                },
                released: { [weak self] sequences in self?.release(sequences) },
                rejected: { [weak self, registry] record, failure in
                    if record.event.route.sink == sinkID, record.event.waiterToken != 0 {
                        registry.resolve(record.event.waiterToken, with: .rejected(failure))
                    }
                    self?.state.withLock { $0.rejected.append((record, failure)) }
                },
                lostUnreleased: { [weak self] failure in
                    self?.state.withLock { $0.lost = failure }
                }
            )
        )
    }

    /// Marks sequences released and commits the cursor when the watermark advances.
    private func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty else { return }
        let newWatermark: UInt64? = state.withLock { state in
            guard var watermark = state.watermark else { return nil }
            for sequence in sequences where sequence >= watermark { state.released.insert(sequence) }
            let before = watermark
            while state.released.remove(watermark) != nil { watermark += 1 }
            state.watermark = watermark
            return watermark == before ? nil : watermark
        }
        delivered.increment(by: sequences.count)
        if let newWatermark { log.commit(sink.id, next: newWatermark) }
    }

    private enum ReadResult {
        case records([SinkRecord])
        case failed(EventLogError)
    }

    private func loop<C: Clock>(reader: any EventLogReader, reporter: SinkReporter, clock: C) async where C.Duration == Duration {
        var nextTick = clock.now.advanced(by: tickInterval)
        var isProbing = false
        var generator = SystemRandomNumberGenerator()

        while !Task.isCancelled {
            if let failure = state.withLock({ state -> DeliveryFailure? in
                defer { state.lost = nil }
                return state.lost
            }) {
                let (attempt, watermark, stopping) = state.withLock { state in
                    state.consecutiveFailures += 1
                    state.problem = "\(failure.message) (failing for \(state.consecutiveFailures) attempt(s))"
                    return (state.consecutiveFailures, state.watermark, state.isShuttingDown)
                }
                failures.increment()
                logger.warning(
                    "sink lost its unreleased records; redelivering from the log",
                    metadata: [LoggingKeys.error: "\(failure)", LoggingKeys.attempt: "\(attempt)"]
                )
                if stopping { return }
                try? await clock.sleep(for: backoff.delay(attempt: attempt, using: &generator))
                if let watermark {
                    do {
                        try reader.seek(to: watermark)
                        state.withLock { $0.readPosition = watermark }
                    } catch {
                        logger.error("cannot rewind the log reader", metadata: [LoggingKeys.error: "\(error)"])
                    }
                }
                isProbing = true
                continue
            }
            await storeRejected()

            let (stopping, unreleased, position) = state.withLock { state in
                (state.isShuttingDown, Int(state.readPosition - (state.watermark ?? state.readPosition)), state.readPosition)
            }
            let isBehind = position < log.nextSequence
            if stopping, isProbing || !isBehind { return }

            if unreleased < Self.maxUnreleased {
                // Records already waiting are read directly; only an idle reader needs the timed wait (a task group).
                let result =
                    isBehind && !stopping
                    ? await next(from: reader)
                    : await next(from: reader, until: stopping ? clock.now.advanced(by: .milliseconds(50)) : nextTick, clock: clock)
                switch result {
                case .records(let records) where !records.isEmpty:
                    await deliver(records, reporter: reporter)
                    if isProbing {
                        await sink.flush(reporter: reporter)
                        let healed = state.withLock { state -> Bool in
                            guard state.lost == nil else { return false }
                            state.problem = nil
                            state.consecutiveFailures = 0
                            return true
                        }
                        if healed {
                            isProbing = false
                            logger.info("sink recovered")
                        }
                    }
                case .records:
                    // Nothing arrived while stopping: the HTTP server is already closed, so the log is drained.
                    if stopping { return }
                case .failed(let error):
                    state.withLock { $0.problem = "reading the log failed: \(error)" }
                    logger.error("reading the log failed", metadata: [LoggingKeys.error: "\(error)"])
                    try? await clock.sleep(for: backoff.delay(attempt: 1, using: &generator))
                }
            } else {
                try? await clock.sleep(until: nextTick, tolerance: nil)
            }
            if clock.now >= nextTick {
                await sink.tick(reporter: reporter)
                nextTick = clock.now.advanced(by: tickInterval)
            }
        }
    }

    /// Reads records that are known to be there.
    private func next(from reader: any EventLogReader) async -> ReadResult {
        do throws(EventLogError) {
            return .records(try await reader.next(maxRecords: Self.batchRecords, maxBytes: Self.batchBytes))
        } catch {
            return .failed(error)
        }
    }

    /// Waits for records until `deadline`; returns what the reader produced even if it raced the deadline.
    private func next<C: Clock>(from reader: any EventLogReader, until deadline: C.Instant, clock: C) async -> ReadResult {
        await withTaskGroup(of: ReadResult?.self) { group in
            group.addTask {
                do throws(EventLogError) {
                    return .records(try await reader.next(maxRecords: Self.batchRecords, maxBytes: Self.batchBytes))
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                try? await clock.sleep(until: deadline, tolerance: nil)
                return nil
            }
            var result = ReadResult.records([])
            var isFirst = true
            while let finished = await group.next() {
                if isFirst {
                    group.cancelAll()
                    isFirst = false
                }
                if let finished { result = finished }
            }
            return result
        }
    }

    private func deliver(_ records: [SinkRecord], reporter: SinkReporter) async {
        let (mine, passedOver): ([SinkRecord], [UInt64]) = state.withLock { state in
            if state.watermark == nil { state.watermark = records.first?.sequence }
            let watermark = state.watermark ?? 0
            var mine: [SinkRecord] = []
            var passedOver: [UInt64] = []
            // A gap in sequences means the log skipped records it could not decode: release them.
            var expected = max(state.readPosition, watermark)
            for record in records {
                if record.sequence > expected { passedOver.append(contentsOf: expected..<record.sequence) }
                expected = record.sequence + 1
                if record.sequence < watermark || state.released.contains(record.sequence) { continue }
                if !record.event.sinks.contains(sink.id) {
                    passedOver.append(record.sequence)
                } else {
                    mine.append(record)
                }
            }
            if let last = records.last { state.readPosition = last.sequence + 1 }
            return (mine, passedOver)
        }
        release(passedOver)
        if !mine.isEmpty { await sink.write(mine, reporter: reporter) }
    }

    /// Moves rejected records to the dead-letter destination, releasing each once stored.
    private func storeRejected() async {
        let pending = state.withLock { state in
            defer { state.rejected.removeAll() }
            return state.rejected
        }
        var stored: [UInt64] = []
        for (index, (record, failure)) in pending.enumerated() {
            rejectedCounter.increment()
            do {
                try await deadLetters?.storeRejected(record, failure: failure, sink: sink.id)
                if deadLetters == nil {
                    logger.error(
                        "record rejected and no error destination is configured",
                        metadata: [LoggingKeys.eventID: "\(record.event.eventID)", LoggingKeys.error: "\(failure)"]
                    )
                }
                stored.append(record.sequence)
            } catch {
                logger.error("cannot store a rejected record; will retry", metadata: [LoggingKeys.error: "\(error)"])
                let rest = pending[index...]
                state.withLock { $0.rejected.insert(contentsOf: rest, at: 0) }
                break
            }
        }
        release(stored)
    }
}
