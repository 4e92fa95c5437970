public import CoreMetrics
public import GatewayCore
public import GatewayLog
public import Logging
public import ServiceLifecycle

/// A subscription to the gateway's own log: reads the records of its streams from its own durable position,
/// delivers them through its ``BatchProcessor`` and commits the position after each batch is done (delivered or
/// dead letters). Intake never waits on it: the log keeps what it has not read up to the retention and the quota,
/// and records dropped before it read them become a `RetentionGap` dead letter.
///
/// On graceful shutdown the call in flight is abandoned, not checkpointed, and the position is persisted with the
/// log's other cursors.
public final class LogSubscription: Service, Sendable {
    public var name: String { settings.name }
    let settings: SubscriptionSettings
    let log: any EventLog
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
        settings: SubscriptionSettings, log: any EventLog, handler: any SubscriptionHandler, handlerJSON: String = "null",
        deadLetters: DeadLetterStore, clock: ElapsedClock, wallMillis: @escaping @Sendable () -> Int64 = Timestamp.nowMillis,
        metricsFactory: any MetricsFactory, logger: Logger
    ) {
        self.handlerJSON = handlerJSON
        self.settings = settings
        self.log = log
        self.handler = handler
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

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await self.deliverForever()
            } catch is CancellationError {
                // Shutting down: the batch in flight is abandoned without a checkpoint.
            }
        }
        control.update { $0.state = .stopped }
    }

    // MARK: operations

    /// State, position and counts.
    public var status: SubscriptionStatus { control.status }

    /// Records after the subscription's position (of every stream: the log is one sequence).
    public var lagRecords: UInt64 {
        let next = log.nextSequence
        let position = control.status.position
        return next > position ? next - position : 0
    }

    /// Seconds since the oldest record read but not done with arrived; 0 when caught up.
    public var iteratorAgeSeconds: Double {
        guard let oldest = control.status.oldestPendingMillis else { return 0 }
        return Double(max(0, wallMillis() - oldest)) / 1000
    }

    /// The stream patterns read.
    public var streams: [String] { settings.streams.map(\.description) }

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
        }
    }

    // MARK: the loop

    private func startPosition() -> (UInt64, skipBefore: Int64?) {
        if let stored = log.subscriptionPosition(name) { return (stored, nil) }
        let start: UInt64
        var skipBefore: Int64?
        switch settings.startingPosition {
        case .trimHorizon: start = log.firstSequence
        case .latest: start = log.nextSequence
        case .atTimestamp(let millis):
            start = log.firstSequence
            skipBefore = millis
        }
        log.commitSubscription(name, next: start)
        return (start, skipBefore)
    }

    private func deliverForever() async throws {
        var (position, skipBefore) = startPosition()
        let reader = try log.makeSubscriptionReader(name, start: position)
        let paused = control.isPaused
        control.update {
            $0.position = position
            if $0.state == .starting { $0.state = paused ? .paused : .running }
        }
        logger.info("subscription started", metadata: ["subscription": "\(name)", "position": "\(position)"])
        let processor = self.processor
        let lanes = settings.parallelizationFactor
        while true {
            try Task.checkCancellation()
            if let target = control.takeReplay() {
                (position, skipBefore) = replayPosition(target)
                try reader.seek(to: position)
                log.rewindSubscription(name, to: position)
                control.update { $0.position = position }
                logger.info("subscription replayed", metadata: ["subscription": "\(name)", "position": "\(position)"])
            }
            try await control.waitWhilePaused()
            var records = try await read(reader)
            if records.isEmpty { continue }
            if let first = records.first?.sequence, first > position {
                await recordGap(from: position, to: first - 1)
            }
            if settings.batchingWindow > .zero {
                records += try await gather(reader, after: records)
            }
            guard let last = records.last?.sequence else { continue }
            var matching: [SubscriptionRecord] = []
            for record in records where settings.streams.contains(where: { $0.matches(team: record.event.team, app: record.event.app) }) {
                if let cutoff = skipBefore {
                    if record.event.receivedAtMillis < cutoff { continue }
                    skipBefore = nil
                }
                matching.append(SubscriptionRecord(record))
            }
            if let oldest = matching.first?.receivedAtMillis {
                control.update { $0.oldestPendingMillis = oldest }
                refreshGauges()
            }
            if !matching.isEmpty {
                if lanes == 1 {
                    try await processor.process(matching)
                } else {
                    try await processInLanes(matching, lanes: lanes, processor: processor)
                }
            }
            position = last + 1
            log.commitSubscription(name, next: position)
            control.update {
                $0.position = position
                $0.oldestPendingMillis = nil
            }
            refreshGauges()
        }
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

    private func replayPosition(_ target: ReplayTarget) -> (UInt64, skipBefore: Int64?) {
        let first = log.firstSequence
        let next = log.nextSequence
        switch target {
        case .timestamp(let millis): return (first, millis)
        case .sequence(let sequence): return (min(max(sequence, first), next), nil)
        }
    }

    /// Waits for records, or returns [] early when pause, resume or a replay is requested.
    private func read(_ reader: any EventLogReader) async throws -> [SinkRecord] {
        let generation = control.generation
        let maxRecords = settings.batchSize * settings.parallelizationFactor
        return try await withThrowingTaskGroup(of: [SinkRecord]?.self) { group in
            group.addTask { try await reader.next(maxRecords: maxRecords, maxBytes: 16 << 20) }
            group.addTask {
                await self.control.waitForSignal(after: generation)
                return nil
            }
            var records: [SinkRecord] = []
            while let result = try await group.next() {
                if let result {
                    records = result
                }
                group.cancelAll()
            }
            return records
        }
    }

    /// More records within the batching window, up to the batch size.
    private func gather(_ reader: any EventLogReader, after first: [SinkRecord]) async throws -> [SinkRecord] {
        let deadline = clock.now.advanced(by: settings.batchingWindow)
        let wanted = settings.batchSize * settings.parallelizationFactor
        var more: [SinkRecord] = []
        var expected = (first.last?.sequence ?? 0) + 1
        while first.count + more.count < wanted, clock.now < deadline, !control.isPaused {
            if log.nextSequence > expected {
                let records = try await reader.next(maxRecords: wanted - first.count - more.count, maxBytes: 16 << 20)
                more += records
                expected = (records.last?.sequence).map { $0 + 1 } ?? expected
            } else {
                try await clock.sleep(for: min(.milliseconds(5), deadline - clock.now))
            }
        }
        return more
    }

    private func recordGap(from first: UInt64, to last: UInt64) async {
        let now = wallMillis()
        let letter = DeadLetter(
            id: await deadLetters.nextID(millis: now), subscription: name, condition: .retentionGap, attempts: 0, firstError: nil,
            lastError: nil, firstSequence: first, lastSequence: last, deadLetteredAtMillis: now, records: [])
        let count = last - first + 1
        control.update { $0.retentionGapRecords += count }
        Counter(label: "sluice_subscription_retention_gap_records_total", dimensions: [("subscription", name)], factory: metrics.factory)
            .increment(by: Int(clamping: count))
        logger.error(
            "subscription fell behind the log's retention: records skipped",
            metadata: ["subscription": "\(name)", "first_sequence": "\(first)", "last_sequence": "\(last)"])
        await processor.store(letter, count: 0)
    }

    /// Records the lag gauges (after each batch and on every `/metrics` scrape).
    public func refreshGauges() {
        metrics.lagRecords.record(Int64(clamping: lagRecords))
        metrics.iteratorAge.record(iteratorAgeSeconds)
    }
}
