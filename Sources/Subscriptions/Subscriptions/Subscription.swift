public import CoreMetrics
import Delivery
public import GatewayCore
public import Logging
public import ServiceLifecycle

/// One subscription: reads its source at its own pace, delivers through its ``BatchProcessor`` and commits the
/// source's position after each read is done (delivered, or dead letters). Intake never waits on it.
///
/// On graceful shutdown the call in flight is abandoned, not checkpointed; the source keeps its last committed
/// position (the log persists it with its other cursors, a consumer group has it committed).
public final class Subscription: Service, Sendable {
    public var name: String { settings.name }
    let settings: SubscriptionSettings
    /// Where the records come from.
    public let source: any SubscriptionSource
    let handler: any SubscriptionHandler
    /// The subscription's dead letters.
    public let deadLetters: DeadLetterStore
    let control = SubscriptionControl()
    let clock: ElapsedClock
    let wallMillis: @Sendable () -> Int64
    let metrics: SubscriptionMetrics
    let logger: Logger
    /// How `GET /v1/subscriptions/{name}` shows the handler (JSON, no secrets).
    public let handlerJSON: String

    /// - Parameters:
    ///   - handlerJSON: the handler as the HTTP API shows it (JSON, without secrets).
    public init(
        settings: SubscriptionSettings, source: any SubscriptionSource, handler: any SubscriptionHandler, handlerJSON: String = "null",
        deadLetters: DeadLetterStore, clock: ElapsedClock, wallMillis: @escaping @Sendable () -> Int64 = Timestamp.nowMillis,
        metricsFactory: any MetricsFactory, logger: Logger
    ) {
        self.settings = settings
        self.source = source
        self.handler = handler
        self.handlerJSON = handlerJSON
        self.deadLetters = deadLetters
        self.clock = clock
        self.wallMillis = wallMillis
        self.metrics = SubscriptionMetrics(subscription: settings.name, factory: metricsFactory)
        self.logger = logger
    }

    var processor: BatchProcessor {
        BatchProcessor(
            settings: settings, handler: handler, deadLetters: deadLetters, control: control, clock: clock, wallMillis: wallMillis,
            metrics: metrics, logger: logger)
    }

    /// Runs until graceful shutdown. It never throws: a subscription's trouble must not stop the gateway (a
    /// service that throws ends the whole service group), so failures are retried and shown in `last_error`.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.deliverForever()
            }
        } catch is CancellationError {
            // Shutting down: the batch in flight is abandoned without a checkpoint.
        } catch {
            logger.error("subscription stopped", metadata: ["subscription": "\(name)", "error": "\(error)"])
            noteSourceFailure(error, what: "stopped")
        }
        await source.stop()
        control.update { $0.state = .stopped }
    }

    // MARK: operations

    /// State and counts.
    public var status: SubscriptionStatus { control.status }

    /// Records after the subscription's position.
    public var lagRecords: UInt64 { source.progress.lagRecords }

    /// Seconds since the oldest record read but not done with arrived; 0 when caught up.
    public var iteratorAgeSeconds: Double {
        guard let oldest = control.status.oldestPendingMillis else { return 0 }
        return Double(max(0, wallMillis() - oldest)) / 1000
    }

    public func pause() { control.pause() }
    public func resume() { control.resume() }
    public var isPaused: Bool { control.isPaused }

    /// Moves the subscription back (or forward) to `target`, after the batch in flight.
    public func replay(to target: ReplayTarget) { control.requestReplay(target) }

    /// Sends a dead letter's records back through the handler once; it leaves the list when the call succeeds.
    /// Returns the failure otherwise.
    public func redrive(_ letter: DeadLetter) async -> HandlerFailure? {
        let records = letter.records
        guard !records.isEmpty else {
            try? await deadLetters.markRedriven(letter.id, at: wallMillis())
            return nil
        }
        switch await handler.deliver(HandlerBatch(subscription: name, records: records)) {
        case .success:
            do {
                try await deadLetters.markRedriven(letter.id, at: wallMillis())
            } catch {
                return HandlerFailure(kind: .invalidResponse, message: "delivered, but the dead letter could not be marked: \(error)")
            }
            metrics.delivered.increment(by: records.count)
            return nil
        case .partialFailure(_, let failure), .failure(let failure):
            return failure
        case .rejected(let rejections):
            return rejections.first?.failure ?? HandlerFailure(kind: .rejected, message: "the handler rejected records")
        }
    }

    /// Records the lag gauges (after each batch and on every `/metrics` scrape).
    public func refreshGauges() {
        metrics.lagRecords.record(Int64(clamping: lagRecords))
        metrics.iteratorAge.record(iteratorAgeSeconds)
    }

    // MARK: the loop

    private func deliverForever() async throws {
        try await startSource()
        let paused = control.isPaused
        control.update { if $0.state == .starting { $0.state = paused ? .paused : .running } }
        logger.info("subscription started", metadata: ["subscription": "\(name)", "source": "\(source.descriptionJSON)"])
        let processor = self.processor
        let lanes = settings.parallelizationFactor
        let wanted = settings.batchSize * lanes
        var failedReads = 0
        while true {
            try Task.checkCancellation()
            if let target = control.takeReplay() {
                do {
                    try await source.replay(to: target)
                    logger.info("subscription replayed", metadata: ["subscription": "\(name)", "target": "\(target)"])
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    noteSourceFailure(error, what: "cannot replay to \(target)")
                }
            }
            try await control.waitWhilePaused()
            var read: SourceRead
            do {
                read = try await self.read(wanted, deadline: nil)
                failedReads = 0
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A damaged log record, a broker error: shown, then read again after the backoff (the log skips a
                // damaged segment on the next read; librdkafka reconnects).
                failedReads += 1
                noteSourceFailure(error, what: "cannot read the source")
                try await clock.sleep(for: settings.backoff.delay(attempt: failedReads))
                continue
            }
            if settings.batchingWindow > .zero, read.checkpoint != nil {
                read = try await gather(after: read, wanted: wanted)
            }
            guard let checkpoint = read.checkpoint else { continue }
            for gap in read.gaps { await recordGap(gap) }
            if let oldest = read.records.first?.receivedAtMillis {
                control.update { $0.oldestPendingMillis = oldest }
                refreshGauges()
            }
            if !read.records.isEmpty {
                if lanes == 1 {
                    try await processor.process(read.records)
                } else {
                    try await processInLanes(read.records, lanes: lanes, processor: processor)
                }
            }
            try await commit(checkpoint)
            control.update { $0.oldestPendingMillis = nil }
            refreshGauges()
        }
    }

    /// More records within the batching window, up to `wanted`. A failing read ends the window early: what was
    /// read is delivered (the source's position already moved past it).
    private func gather(after first: SourceRead, wanted: Int) async throws -> SourceRead {
        var read = first
        let deadline = clock.now.advanced(by: settings.batchingWindow)
        while read.records.count < wanted, clock.now < deadline, !control.isPaused {
            do {
                read = read.followed(by: try await self.read(wanted - read.records.count, deadline: deadline))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                noteSourceFailure(error, what: "cannot read the source")
                break
            }
        }
        return read
    }

    /// Starts the source, retrying (with the backoff, the error in `last_error`) until it starts.
    private func startSource() async throws {
        var attempt = 0
        while true {
            do {
                try await source.start()
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                attempt += 1
                noteSourceFailure(error, what: "cannot start the source")
                try await clock.sleep(for: settings.backoff.delay(attempt: attempt))
            }
        }
    }

    /// Commits, retrying until it sticks: the records are delivered, so a failed commit only means redelivery
    /// after a crash, never loss.
    private func commit(_ checkpoint: SourceCheckpoint) async throws {
        var attempt = 0
        while true {
            do {
                try await source.commit(checkpoint)
                return
            } catch {
                attempt += 1
                noteSourceFailure(error, what: "cannot commit the position")
                if attempt >= 5 { return } // the next commit covers this one
                try await clock.sleep(for: settings.backoff.delay(attempt: attempt))
            }
        }
    }

    private func noteSourceFailure(_ error: any Error, what: String) {
        logger.warning("subscription \(what)", metadata: ["subscription": "\(name)", "error": "\(error)"])
        let info = DeadLetter.ErrorInfo(HandlerFailure(kind: .unreachable, message: "\(what): \(error)"), at: wallMillis())
        control.update { $0.lastError = info }
    }

    /// Per-partition-key lanes, delivered concurrently; the batch is done when every lane is.
    private func processInLanes(_ records: [SubscriptionRecord], lanes: Int, processor: BatchProcessor) async throws {
        var byLane = [[SubscriptionRecord]](repeating: [], count: lanes)
        for record in records {
            byLane[Self.lane(of: record.partitionKey, lanes: lanes)].append(record)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in byLane where !lane.isEmpty {
                group.addTask { try await processor.process(lane) }
            }
            try await group.waitForAll()
        }
    }

    /// FNV-1a of the key: stable across restarts and processes.
    static func lane(of key: String, lanes: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3
        }
        return Int(hash % UInt64(max(1, lanes)))
    }

    /// Waits for records; returns early (possibly empty) when pause, resume or a replay is requested, or at
    /// `deadline`. What the source already took is returned, never dropped.
    private func read(_ maxRecords: Int, deadline: ElapsedClock.Instant?) async throws -> SourceRead {
        let generation = control.generation
        return try await withThrowingTaskGroup(of: SourceRead?.self) { group in
            group.addTask { try await self.source.next(maxRecords: maxRecords) }
            group.addTask {
                if let deadline {
                    try? await self.clock.sleep(until: deadline)
                } else {
                    await self.control.waitForSignal(after: generation)
                }
                return nil
            }
            var read = SourceRead()
            while let result = try await group.next() {
                if let result { read = result }
                group.cancelAll()
            }
            return read
        }
    }

    private func recordGap(_ gap: ClosedRange<UInt64>) async {
        let now = wallMillis()
        let letter = DeadLetter(
            id: await deadLetters.nextID(millis: now), subscription: name, condition: .retentionGap, attempts: 0, firstError: nil,
            lastError: nil, firstSequence: gap.lowerBound, lastSequence: gap.upperBound, deadLetteredAtMillis: now, records: [])
        let count = gap.upperBound - gap.lowerBound + 1
        control.update { $0.retentionGapRecords += count }
        metrics.retentionGapRecords.increment(by: Int(clamping: count))
        logger.error(
            "subscription fell behind the source's retention: records skipped",
            metadata: ["subscription": "\(name)", "first_sequence": "\(gap.lowerBound)", "last_sequence": "\(gap.upperBound)"])
        await processor.store(letter, count: 0)
    }
}
