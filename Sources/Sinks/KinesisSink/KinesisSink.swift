import AWSJSONClient
public import CoreMetrics
import Foundation
public import GatewayCore
public import KinesisAPI
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// The Kinesis Data Streams sink (KPL-grade): the dispatcher's records in, `PutRecords` calls out, receipts and
/// releases back through the dispatcher's reporter. It is a ``Sink`` and, for its loop, a `Service`.
///
/// The jobs are split along the pipeline (see `docs/kinesis.md`):
/// - ``ShardMap``: each record is hashed (MD5 of its partition key) onto a shard of its stream's map, read with
///   `ListShards` and read again periodically, or when a record lands on an unexpected shard or the stream is missing.
/// - `ShardAggregator`: records of a shard are packed into KPL aggregated records; an aggregate is sealed when the
///   next record does not fit or its oldest record has waited `record_max_buffered_time_ms`.
/// - ``ShardRateLimiter``: each record needs room in its shard's two token buckets (records/s and bytes/s at
///   `rate_limit` percent), so the sink does not throttle itself.
/// - `KinesisRequestBuilder`: a call is formed when a stream has a full call's worth (500 records or 5 MiB) or its
///   oldest record's buffered time passed; ``KinesisAPI`` encodes it straight from the records' bytes.
/// - ``KinesisRetryLogic`` and the shared `Backoff`: results are per record; stored records are accepted (the
///   receipt is shard, sequence number and sub-sequence number) and released; failed ones get an attempt in their
///   history and come back after the backoff, re-hashed on the current map; a record past `record_ttl_ms` is
///   rejected with its history.
/// - Backpressure: at most `max_outstanding_records` user records, and `max_outstanding_mb` of them, are held:
///   ``write(_:reporter:)`` waits beyond either (the log keeps the backlog on disk); ``isSaturated`` (the record
///   count) tells the HTTP edge to answer 503.
///
/// One service task runs the pipeline; calls run as its child tasks, at most `max_connections` at once.
public final class KinesisSink: Sink, Service, Sendable {
    private let configuration: Configuration
    private let api: KinesisAPI
    private let logger: Logger
    private let state: Mutex<StateMachine>
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation
    /// Wakes the ticker when records arrive at an empty sink (it does not tick while nothing is held).
    private let arrivals: AsyncStream<Void>
    private let arrived: AsyncStream<Void>.Continuation
    private let clock: ElapsedClock
    private let outstandingGauge: CoreMetrics.Gauge

    /// - Parameters:
    ///   - configuration: the knobs.
    ///   - api: the Kinesis API client.
    ///   - logger: where problems are logged.
    ///   - metricsFactory: where metrics go.
    ///   - clock: what the linger, rate limits, retries, TTL and flush timeout are measured on (tests wrap a manual
    ///     clock).
    public init(
        configuration: Configuration, api: KinesisAPI, logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory,
        clock: ElapsedClock = ElapsedClock()
    ) {
        self.clock = clock
        self.configuration = configuration
        self.api = api
        var logger = logger
        logger[metadataKey: LoggingKeys.sink] = "kinesis"
        self.logger = logger
        state = Mutex(StateMachine(configuration: configuration, metricsFactory: metricsFactory))
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (arrivals, arrived) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        outstandingGauge = KinesisMetrics.outstanding(factory: metricsFactory)
    }

    public var id: SinkID { .kinesis }

    /// User records held (buffered, in flight or waiting for a retry).
    public var outstandingRecords: Int { state.withLock { $0.outstanding } }

    /// Whether the sink holds `max_outstanding_records` or more: new Kinesis events should be refused (503).
    public var isSaturated: Bool { outstandingRecords >= configuration.maxOutstandingRecords }

    // MARK: Sink

    /// Takes records; waits while the sink holds `max_outstanding_records` or `max_outstanding_mb` (the
    /// dispatcher stops reading the log meanwhile).
    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        while !state.withLock({ $0.hasCapacity }) {
            if Task.isCancelled { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.hasCapacity { return true }
                    state.capacityWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        let now = clock.now
        let outstanding = state.withLock { state in
            state.take(records, reporter: reporter, now: now)
            return state.outstanding
        }
        outstandingGauge.record(outstanding)
        ring.yield()
        arrived.yield()
    }

    /// The sink's own loop flushes timed-out buffers; nothing to do on the dispatcher's tick.
    public func tick(reporter: SinkReporter) async {}

    /// Sends everything buffered and waits for it, up to ``Configuration/flushTimeout``.
    public func flush(reporter: SinkReporter) async {
        await flush(timeout: configuration.flushTimeout)
    }

    /// Sends everything buffered now and waits until nothing is outstanding, or `timeout` passes. What is still
    /// outstanding then stays unreleased in the log and is delivered again after a restart.
    public func flush(timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.flushRequests += 1
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        ring.yield()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.isIdle { return true }
                        state.idleWaiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { [clock] in try? await clock.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            let waiter = state.withLock { $0.idleWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
        state.withLock { $0.flushRequests -= 1 }
    }

    // MARK: The pipeline task

    public func run() async throws {
        logger.info("kinesis sink started", metadata: [LoggingKeys.endpoint: "\(api.client.endpoint.url)"])
        await withDiscardingTaskGroup { group in
            group.addTask { [clock, configuration, ring, arrivals] in
                // The ticker flushes timed-out aggregates, refills rate limits, brings back due retries and starts
                // shard-map reads asked for. While nothing can come due it waits for records instead of waking every
                // tick (an arrival rings `arrivals`, which buffers the latest ring, so one sent between the check and
                // the wait is not lost).
                var wake = arrivals.makeAsyncIterator()
                while !Task.isCancelled {
                    if self.state.withLock({ $0.isQuiescent(now: clock.now) }) {
                        await wake.next()
                    }
                    try? await clock.sleep(for: configuration.tickInterval)
                    ring.yield()
                }
            }
            for await _ in doorbell.cancelOnGracefulShutdown() {
                let now = clock.now
                let (work, reports, reporter, waiters) = state.withLock { state in
                    var reports = Reports()
                    let work = state.drain(now: now, reports: &reports)
                    state.delivering += 1
                    // Records the pass expired or rejected free capacity: a `write` waiting for it goes on.
                    return (work, reports, state.reporter, state.takeCapacityWaiters())
                }
                resume(waiters)
                deliver(reports, to: reporter)
                for item in work {
                    group.addTask { await self.perform(item) }
                }
            }
            group.cancelAll()
        }
        logger.info("kinesis sink stopped", metadata: [LoggingKeys.outstandingRecords: "\(outstandingRecords)"])
    }

    private func perform(_ work: Work) async {
        switch work {
        case .listShards(let stream):
            await refreshShardMap(stream: stream)
        case .put(let stream, let records):
            let startedAt = Int64(Date().timeIntervalSince1970 * 1000)
            let start = clock.now
            let result: Result<[KinesisAPI.PutResult], KinesisError>
            do throws(KinesisError) {
                result = .success(try await api.putRecords(stream: stream, entries: records.map(\.entry)))
            } catch {
                result = .failure(error)
                logger.warning(
                    "PutRecords failed; retrying its records",
                    metadata: [LoggingKeys.stream: "\(stream)", LoggingKeys.error: "\(error)", LoggingKeys.records: "\(records.count)"]
                )
            }
            let now = clock.now
            let attempt = DeliveryAttempt(startedAtMillis: startedAt, durationMillis: Double((now - start).nanoseconds) / 1_000_000)
            let (reports, reporter, waiters) = state.withLock { state in
                var reports = Reports()
                state.complete(stream: stream, records: records, result: result, attempt: attempt, now: now, reports: &reports)
                state.delivering += 1
                return (reports, state.reporter, state.takeCapacityWaiters())
            }
            resume(waiters)
            deliver(reports, to: reporter)
        }
        ring.yield()
    }

    private func refreshShardMap(stream name: String) async {
        let shards: [KinesisAPI.Shard]
        do throws(AWSRequestError) {
            shards = try await api.listShards(stream: name)
        } catch {
            let now = clock.now
            let failures = state.withLock { $0.mapFetchFailed(stream: name, error: "\(error)", now: now) }
            logger.error(
                "cannot read the shard map of a Kinesis stream",
                metadata: [LoggingKeys.stream: "\(name)", LoggingKeys.error: "\(error)", LoggingKeys.attempt: "\(failures)"]
            )
            return
        }
        let map = ShardMap(shards: shards)
        let now = clock.now
        state.withLock { $0.mapFetched(stream: name, map: map, now: now) }
        logger.debug("shard map read", metadata: [LoggingKeys.stream: "\(name)", LoggingKeys.shards: "\(map.shards.count)"])
    }

    private func resume(_ waiters: [CheckedContinuation<Void, Never>]) {
        for waiter in waiters { waiter.resume() }
    }

    /// Hands reports to the dispatcher, then wakes flushes waiting for an empty sink: only after the reports, so a
    /// flush returns when every outcome has been reported.
    private func deliver(_ reports: Reports, to reporter: SinkReporter?) {
        if !reports.isEmpty, let reporter {
            for (record, receipt, attempts) in reports.accepted { reporter.accepted(record, receipt: receipt, attempts: attempts) }
            for (record, failure) in reports.rejected { reporter.rejected(record, failure: failure) }
            reporter.released(reports.released)
        }
        let (idle, outstanding) = state.withLock { state in
            state.delivering -= 1
            return (state.takeIdleWaiters(), state.outstanding)
        }
        outstandingGauge.record(outstanding)
        resume(idle)
    }
}
