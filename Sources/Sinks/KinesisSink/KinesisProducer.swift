public import KinesisAPI
import AWSJSONClient
import DequeModule
import Foundation
public import GatewayCore
import KinesisAggregation
public import Logging
public import CoreMetrics
import Metrics
public import ServiceLifecycle
import Synchronization

/// The KPL pipeline inside the gateway: user records in, `PutRecords` calls out, receipts and releases back.
///
/// Design (see `docs/kinesis.md`):
/// - Each user record is hashed (MD5 of its partition key) onto a shard of its stream's shard map and added to
///   that shard's aggregator; an aggregator is sealed when the next record does not fit or its oldest record has
///   waited `record_max_buffered_time_ms`. A sealed aggregate of one record is sent as a plain record.
/// - Sealed records wait in per-shard queues. A `PutRecords` call is formed when a stream has a full call's worth
///   (500 records or 5 MiB) or its oldest record's buffered time passed; each record needs room in its shard's two
///   token buckets (records/s and bytes/s at `rate_limit` percent), so the producer does not throttle itself.
/// - Results are per record: stored records are accepted (the receipt is shard, sequence number and
///   sub-sequence number) and released; failed ones get an attempt in their history and come back after a
///   backoff with jitter, re-hashed on the current shard map; a record past `record_ttl_ms` is rejected with its
///   history. A record stored on an unexpected shard, or a missing stream, triggers a shard-map refresh.
/// - At most `max_outstanding_records` user records, and `max_outstanding_mb` of them, are held:
///   ``submit(_:reporter:)`` waits beyond either (the log keeps the backlog on disk); ``isSaturated`` (the record
///   count) tells the HTTP edge to answer 503.
/// - One service task runs the pipeline; calls run as child tasks, at most `max_connections` at once.
public final class KinesisProducer: Service, Sendable {
    struct UserEntry {
        var record: SinkRecord
        let stream: String
        let hashKey: UInt128
        let deadline: ContinuousClock.Instant
        let arrival: ContinuousClock.Instant
        var attempts: [DeliveryAttempt] = []
    }

    struct Outgoing {
        var entry: KinesisAPI.PutEntry
        var users: [UserEntry]
        var isAggregated: Bool
        var shardID: String
        var oldest: ContinuousClock.Instant
        var earliestDeadline: ContinuousClock.Instant
    }

    // The pipeline's state is made of classes, touched only under the producer's lock: mutating them in place
    // avoids copy-on-write copies of aggregators, queues and shard tables on every record.

    final class ShardState {
        var aggregator: RecordAggregator
        var aggregated: [UserEntry] = []
        var oldest: ContinuousClock.Instant?
        var ready = Deque<Outgoing>()
        var readyBytes = 0
        var limit: ShardRateLimit
        let metrics: ShardMetrics

        init(aggregator: RecordAggregator, limit: ShardRateLimit, metrics: ShardMetrics) {
            self.aggregator = aggregator
            self.limit = limit
            self.metrics = metrics
        }
    }

    final class StreamState {
        var map: ShardMap?
        var isFetchingMap = false
        var refreshWanted = false
        var nextMapFetch: ContinuousClock.Instant
        var lastMapFetch: ContinuousClock.Instant?
        var mapFailures = 0
        /// `PutRecords` calls of this stream in flight.
        var inFlight = 0
        /// Why the shard map could not be read, while it cannot.
        var mapError: String?
        var unmapped: [UserEntry] = []
        var shards: [String: ShardState] = [:]
        let metrics: StreamMetrics

        init(nextMapFetch: ContinuousClock.Instant, metrics: StreamMetrics) {
            self.nextMapFetch = nextMapFetch
            self.metrics = metrics
        }
    }

    struct State {
        var streams: [String: StreamState] = [:]
        var retries: [(notBefore: ContinuousClock.Instant, entry: UserEntry)] = []
        var outstanding = 0
        /// Envelope bytes of the outstanding records.
        var outstandingBytes = 0
        var inFlight = 0
        var flushRequests = 0
        var reporter: SinkReporter?
        var capacityWaiters: [CheckedContinuation<Void, Never>] = []
        var idleWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Report batches taken from the state and not yet handed to the dispatcher.
        var delivering = 0
        var nextWaiterID: UInt64 = 0
    }

    enum Work {
        case put(stream: String, records: [Outgoing])
        case listShards(stream: String)
    }

    /// What to tell the dispatcher after the lock is released.
    struct Reports {
        var accepted: [(SinkRecord, Receipt, Int)] = []
        var released: [UInt64] = []
        var rejected: [(SinkRecord, DeliveryFailure)] = []
        var isEmpty: Bool { accepted.isEmpty && released.isEmpty && rejected.isEmpty }
    }

    private let configuration: KinesisProducerConfiguration
    private let api: KinesisAPI
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    private let state = Mutex(State())
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation
    private let clock = ContinuousClock()
    private let outstandingGauge: CoreMetrics.Gauge

    /// - Parameters:
    ///   - configuration: the knobs.
    ///   - api: the Kinesis API client.
    ///   - logger: where problems are logged.
    ///   - metricsFactory: where metrics go.
    public init(
        configuration: KinesisProducerConfiguration, api: KinesisAPI, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.api = api
        var logger = logger
        logger[metadataKey: LoggingKeys.sink] = "kinesis"
        self.logger = logger
        self.metricsFactory = metricsFactory
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        outstandingGauge = CoreMetrics.Gauge(label: "sluice_kinesis_outstanding_records", factory: metricsFactory)
    }

    /// User records held (buffered, in flight or waiting for a retry).
    public var outstandingRecords: Int { state.withLock { $0.outstanding } }

    /// Whether the producer holds `max_outstanding_records` or more: new Kinesis events should be refused (503).
    public var isSaturated: Bool { outstandingRecords >= configuration.maxOutstandingRecords }

    // MARK: Input

    /// Whether the producer takes more records: under both `max_outstanding_records` and `max_outstanding_mb`.
    private func hasCapacity(_ state: State) -> Bool {
        state.outstanding < configuration.maxOutstandingRecords && state.outstandingBytes < configuration.maxOutstandingBytes
    }

    /// Adds records; waits while the producer holds `max_outstanding_records` or `max_outstanding_mb`.
    public func submit(_ records: [SinkRecord], reporter: SinkReporter) async {
        while !state.withLock({ hasCapacity($0) }) {
            if Task.isCancelled { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if hasCapacity(state) { return true }
                    state.capacityWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        let now = clock.now
        let deadline = now + configuration.recordTTL
        state.withLock { state in
            if state.reporter == nil { state.reporter = reporter }
            for record in records {
                guard record.event.route.sink == .kinesis else { continue }
                let stream = record.event.route.destination
                let entry = UserEntry(
                    record: record, stream: stream, hashKey: ShardHashing.hashKey(record.event.partitionKey),
                    deadline: deadline, arrival: now
                )
                state.outstanding += 1
                state.outstandingBytes += record.event.envelope.count
                add(entry, to: &state, now: now)
            }
            outstandingGauge.record(state.outstanding)
        }
        ring.yield()
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
                        if state.outstanding == 0, state.delivering == 0 { return true }
                        state.idleWaiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            let waiter = state.withLock { $0.idleWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
        state.withLock { $0.flushRequests -= 1 }
    }

    // MARK: The pipeline task

    public func run() async throws {
        logger.info("kinesis producer started", metadata: ["sluice.endpoint": "\(api.client.endpoint.url)"])
        await withDiscardingTaskGroup { group in
            group.addTask { [clock, configuration, ring] in
                while !Task.isCancelled {
                    try? await clock.sleep(for: configuration.tickInterval)
                    ring.yield()
                }
            }
            for await _ in doorbell.cancelOnGracefulShutdown() {
                let now = clock.now
                let (work, reports, reporter) = state.withLock { state in
                    var reports = Reports()
                    let work = drain(&state, now: now, reports: &reports)
                    // Records the pass expired or rejected free capacity: a `submit` waiting for it goes on.
                    releaseWaiters(&state)
                    state.delivering += 1
                    return (work, reports, state.reporter)
                }
                deliver(reports, to: reporter)
                for item in work {
                    group.addTask { await self.perform(item) }
                }
            }
            group.cancelAll()
        }
        logger.info("kinesis producer stopped", metadata: ["sluice.outstanding_records": "\(outstandingRecords)"])
    }

    private func perform(_ work: Work) async {
        switch work {
        case .listShards(let stream):
            await refreshShardMap(stream: stream)
        case .put(let stream, let records):
            let startedAt = Int64(Date().timeIntervalSince1970 * 1000)
            let start = clock.now
            let result: Result<[KinesisAPI.PutResult], AWSRequestError>
            do throws(AWSRequestError) {
                result = .success(try await api.putRecords(stream: stream, entries: records.map(\.entry)))
            } catch {
                result = .failure(error)
            }
            let elapsed = clock.now - start
            let attempt = Self.attempt(startedAt: startedAt, elapsed: elapsed)
            let now = clock.now
            let (reports, reporter) = state.withLock { state in
                var reports = Reports()
                state.inFlight -= 1
                state.streams[stream]?.inFlight -= 1
                complete(&state, stream: stream, records: records, result: result, attempt: attempt, now: now, reports: &reports)
                state.delivering += 1
                return (reports, state.reporter)
            }
            deliver(reports, to: reporter)
        }
        ring.yield()
    }

    private func refreshShardMap(stream name: String) async {
        let shards: [KinesisAPI.Shard]
        do throws(AWSRequestError) {
            shards = try await api.listShards(stream: name)
        } catch {
            let failures = state.withLock { state -> Int in
                state.streams[name]?.isFetchingMap = false
                state.streams[name]?.mapFailures += 1
                state.streams[name]?.mapError = "\(error)"
                let failures = state.streams[name]?.mapFailures ?? 1
                state.streams[name]?.nextMapFetch = clock.now + backoff(attempt: failures)
                return failures
            }
            logger.error(
                "cannot read the shard map of a Kinesis stream",
                metadata: ["sluice.stream": "\(name)", LoggingKeys.error: "\(error)", "sluice.attempt": "\(failures)"]
            )
            return
        }
        let map = ShardMap(shards: shards)
        let now = clock.now
        state.withLock { state in
            guard let stream = state.streams[name] else { return }
            stream.isFetchingMap = false
            stream.mapFailures = 0
            stream.mapError = nil
            stream.metrics.shardMapRefreshes.increment()
            stream.map = map
            stream.nextMapFetch = now + configuration.shardMapRefreshInterval
            // Records aggregated for shards that closed go back through the new map.
            let open = Set(map.shards.map(\.id))
            for (id, shard) in stream.shards where !open.contains(id) {
                stream.unmapped.append(contentsOf: shard.aggregated)
                for outgoing in shard.ready { stream.unmapped.append(contentsOf: outgoing.users) }
                stream.shards[id] = nil
            }
            state.streams[name] = stream
        }
        logger.debug("shard map read", metadata: ["sluice.stream": "\(name)", "sluice.shards": "\(map.shards.count)"])
    }

    // MARK: State transitions (under the lock)

    private func streamState(_ name: String, in state: inout State, now: ContinuousClock.Instant) -> StreamState {
        if let existing = state.streams[name] { return existing }
        return StreamState(nextMapFetch: now, metrics: StreamMetrics(stream: name, factory: metricsFactory))
    }

    /// Puts a user record into its shard's aggregator (or the stream's unmapped list while no map is known).
    private func add(_ entry: UserEntry, to state: inout State, now: ContinuousClock.Instant) {
        let stream = streamState(entry.stream, in: &state, now: now)
        defer { state.streams[entry.stream] = stream }
        guard let map = stream.map, let shard = map.shard(for: entry.hashKey) else {
            if stream.map != nil { stream.refreshWanted = true }
            stream.unmapped.append(entry)
            return
        }
        var shardState =
            stream.shards[shard.id]
            ?? ShardState(
                aggregator: RecordAggregator(maxBytes: configuration.aggregationMaxSize),
                limit: ShardRateLimit(percent: configuration.rateLimitPercent, now: now),
                metrics: ShardMetrics(stream: entry.stream, shard: shard.id, factory: metricsFactory)
            )
        defer { stream.shards[shard.id] = shardState }
        shardState.metrics.userRecords.increment()
        guard configuration.aggregation else {
            seal(entry, shardID: shard.id, into: &shardState)
            return
        }
        let user = UserRecord(partitionKey: entry.record.event.partitionKey, data: Array(entry.record.event.envelope))
        if !shardState.aggregator.append(user) {
            sealAggregator(&shardState, shardID: shard.id)
            if !shardState.aggregator.append(user) {
                // Too big to aggregate: it travels alone.
                seal(entry, shardID: shard.id, into: &shardState)
                return
            }
        }
        shardState.aggregated.append(entry)
        if shardState.oldest == nil { shardState.oldest = entry.arrival }
    }

    private func sealAggregator(_ shard: inout ShardState, shardID: String) {
        guard !shard.aggregated.isEmpty else { return }
        let users = shard.aggregated
        if users.count == 1 {
            seal(users[0], shardID: shardID, into: &shard)
        } else {
            let entry = KinesisAPI.PutEntry(
                data: shard.aggregator.encode(), partitionKey: users[0].record.event.partitionKey,
                explicitHashKey: shard.aggregator.explicitHashKey
            )
            append(Outgoing(entry: entry, users: users, isAggregated: true, shardID: shardID, oldest: shard.oldest ?? users[0].arrival,
                            earliestDeadline: users.map(\.deadline).min() ?? users[0].deadline), to: &shard)
        }
        shard.aggregator.reset()
        shard.aggregated.removeAll(keepingCapacity: true)
        shard.oldest = nil
    }

    /// Queues one user record as a plain Kinesis record.
    private func seal(_ user: UserEntry, shardID: String, into shard: inout ShardState) {
        let entry = KinesisAPI.PutEntry(data: Array(user.record.event.envelope), partitionKey: user.record.event.partitionKey, explicitHashKey: nil)
        append(Outgoing(entry: entry, users: [user], isAggregated: false, shardID: shardID, oldest: user.arrival, earliestDeadline: user.deadline), to: &shard)
    }

    private func append(_ outgoing: Outgoing, to shard: inout ShardState) {
        shard.readyBytes += outgoing.entry.billedBytes
        shard.ready.append(outgoing)
    }

    /// One pass of the pipeline: due retries, shard maps, timed-out aggregators, expired records, and calls to make.
    private func drain(_ state: inout State, now: ContinuousClock.Instant, reports: inout Reports) -> [Work] {
        var work: [Work] = []
        let flushing = state.flushRequests > 0
        if !state.retries.isEmpty {
            var waiting: [(notBefore: ContinuousClock.Instant, entry: UserEntry)] = []
            let due = state.retries
            state.retries.removeAll(keepingCapacity: true)
            for retry in due {
                if retry.entry.deadline <= now {
                    expire(retry.entry, state: &state, reports: &reports)
                } else if retry.notBefore <= now || flushing {
                    add(retry.entry, to: &state, now: now)
                } else {
                    waiting.append(retry)
                }
            }
            state.retries.append(contentsOf: waiting)
        }
        for name in Array(state.streams.keys) {
            guard var stream = state.streams[name] else { continue }
            // Shard map: first read, periodic refresh, or a refresh asked for by an unexpected shard.
            if stream.refreshWanted {
                stream.refreshWanted = false
                stream.nextMapFetch = min(stream.nextMapFetch, (stream.lastMapFetch ?? now) + .seconds(1))
            }
            if !stream.isFetchingMap, stream.nextMapFetch <= now {
                stream.isFetchingMap = true
                stream.lastMapFetch = now
                work.append(.listShards(stream: name))
            }
            if stream.map != nil, !stream.unmapped.isEmpty {
                let unmapped = stream.unmapped
                stream.unmapped.removeAll()
                state.streams[name] = stream
                for entry in unmapped { add(entry, to: &state, now: now) }
                guard let updated = state.streams[name] else { continue }
                stream = updated
            }
            // Records that cannot be mapped still expire.
            if !stream.unmapped.isEmpty {
                var kept: [UserEntry] = []
                for entry in stream.unmapped {
                    if entry.deadline <= now { expire(entry, state: &state, reports: &reports) } else { kept.append(entry) }
                }
                stream.unmapped = kept
            }
            var readyCount = 0
            var readyBytes = 0
            var oldest: ContinuousClock.Instant?
            // With no call of this stream in flight, waiting would not fill a call any faster: send now (see
            // `flush_when_idle`). While calls are in flight, records gather for the next one.
            let isIdle = configuration.flushWhenIdle && stream.inFlight == 0
            for id in Array(stream.shards.keys) {
                guard var shard = stream.shards[id] else { continue }
                if let first = shard.oldest, flushing || isIdle || now - first >= configuration.maxBufferedTime {
                    sealAggregator(&shard, shardID: id)
                }
                // A record stuck behind its shard's rate limit past its TTL fails; the others of its aggregate
                // go round again.
                while let head = shard.ready.first, head.earliestDeadline <= now {
                    shard.ready.removeFirst()
                    shard.readyBytes -= head.entry.billedBytes
                    for user in head.users {
                        if user.deadline <= now { expire(user, state: &state, reports: &reports) } else { stream.unmapped.append(user) }
                    }
                }
                readyCount += shard.ready.count
                readyBytes += shard.readyBytes
                if let first = shard.ready.first?.oldest { oldest = min(oldest ?? first, first) }
                stream.shards[id] = shard
            }
            // Calls: full ones, or whatever is there once the oldest record's buffered time is up.
            while state.inFlight < configuration.maxConnections, readyCount > 0 {
                let isDue = flushing || (isIdle && stream.inFlight == 0) || readyCount >= configuration.collectionMaxCount
                    || readyBytes >= configuration.collectionMaxSize || oldest.map { now - $0 >= configuration.maxBufferedTime } ?? false
                guard isDue else { break }
                let batch = collect(&stream, now: now)
                guard !batch.records.isEmpty else { break }
                readyCount -= batch.records.count
                readyBytes -= batch.bytes
                state.inFlight += 1
                stream.inFlight += 1
                stream.metrics.record(batch.records)
                work.append(.put(stream: name, records: batch.records))
                if !batch.isFull { break }
            }
            state.streams[name] = stream
        }
        return work
    }

    /// Takes records for one call from the stream's shard queues, round robin, within the call limits and each
    /// shard's rate limit.
    private func collect(_ stream: inout StreamState, now: ContinuousClock.Instant) -> (records: [Outgoing], bytes: Int, isFull: Bool) {
        var records: [Outgoing] = []
        var bytes = 0
        var ids = Array(stream.shards.keys).filter { stream.shards[$0]?.ready.isEmpty == false }
        while !ids.isEmpty {
            var stillReady: [String] = []
            for id in ids {
                guard let shard = stream.shards[id], let head = shard.ready.first else { continue }
                let size = head.entry.billedBytes
                if records.count >= configuration.collectionMaxCount || (bytes + size > configuration.collectionMaxSize && !records.isEmpty) {
                    return (records, bytes, true)
                }
                guard shard.limit.take(bytes: size, at: now) else {
                    shard.metrics.rateLimited.increment()
                    stream.shards[id] = shard
                    continue
                }
                shard.ready.removeFirst()
                shard.readyBytes -= size
                records.append(head)
                bytes += size
                if !shard.ready.isEmpty { stillReady.append(id) }
                stream.shards[id] = shard
            }
            ids = stillReady
        }
        return (records, bytes, false)
    }

    private func complete(
        _ state: inout State, stream name: String, records: [Outgoing], result: Result<[KinesisAPI.PutResult], AWSRequestError>,
        attempt: DeliveryAttempt, now: ContinuousClock.Instant, reports: inout Reports
    ) {
        let metrics = state.streams[name]?.metrics
        metrics?.putLatency.recordNanoseconds(Int64(attempt.durationMillis * 1_000_000))
        switch result {
        case .failure(let error):
            metrics?.retries(code: error.code).increment(by: records.reduce(0) { $0 + $1.users.count })
            if error.code == "ResourceNotFoundException" { state.streams[name]?.refreshWanted = true }
            var failed = attempt
            failed.errorCode = error.code
            failed.errorMessage = error.message
            logger.warning(
                "PutRecords failed; retrying its records",
                metadata: ["sluice.stream": "\(name)", LoggingKeys.error: "\(error)", "sluice.records": "\(records.count)"]
            )
            for outgoing in records {
                let throttled = error.kind == .throttling
                requeueOrExpire(outgoing.users, attempt: failed, retriable: !(throttled && configuration.failIfThrottled), state: &state, now: now, reports: &reports)
            }
        case .success(let results):
            for (outgoing, result) in zip(records, results) {
                switch result {
                case .stored(let shardID, let sequenceNumber):
                    if shardID != outgoing.shardID {
                        state.streams[name]?.refreshWanted = true
                        metrics?.wrongShard.increment()
                    }
                    for (index, user) in outgoing.users.enumerated() {
                        reports.accepted.append(
                            (
                                user.record,
                                .kinesis(stream: name, shardID: shardID, sequenceNumber: sequenceNumber, subSequenceNumber: outgoing.isAggregated ? index : nil),
                                user.attempts.count + 1
                            )
                        )
                        reports.released.append(user.record.sequence)
                    }
                    state.outstanding -= outgoing.users.count
                    for user in outgoing.users { state.outstandingBytes -= user.record.event.envelope.count }
                case .failed(let code, let message):
                    var failed = attempt
                    failed.errorCode = code
                    failed.errorMessage = message
                    metrics?.retries(code: code).increment(by: outgoing.users.count)
                    let throttled = code == "ProvisionedThroughputExceededException"
                    if throttled { state.streams[name]?.shards[outgoing.shardID]?.metrics.throttles.increment() }
                    requeueOrExpire(outgoing.users, attempt: failed, retriable: !(throttled && configuration.failIfThrottled), state: &state, now: now, reports: &reports)
                }
            }
        }
        releaseWaiters(&state)
    }

    /// Gives failed records another try after a backoff, or fails them (past their TTL, or not retriable).
    private func requeueOrExpire(
        _ users: [UserEntry], attempt: DeliveryAttempt, retriable: Bool, state: inout State, now: ContinuousClock.Instant,
        reports: inout Reports
    ) {
        for var user in users {
            user.attempts.append(attempt)
            if !retriable {
                reject(user, code: attempt.errorCode ?? "rejected", message: "fail_if_throttled is set: \(attempt.errorMessage ?? "")", state: &state, reports: &reports)
            } else if user.deadline <= now {
                expire(user, state: &state, reports: &reports)
            } else {
                state.retries.append((now + backoff(attempt: user.attempts.count), user))
            }
        }
        releaseWaiters(&state)
    }

    private func expire(_ user: UserEntry, state: inout State, reports: inout Reports) {
        state.streams[user.stream]?.metrics.expired.increment()
        let mapError = state.streams[user.stream]?.mapError.map { " (the shard map could not be read: \($0))" } ?? ""
        let last = user.attempts.last.map { "; last error \($0.errorCode ?? "none"): \($0.errorMessage ?? "")" } ?? "; it was never sent\(mapError)"
        reject(
            user, code: "ttl_expired",
            message: "record_ttl_ms (\(configuration.recordTTL)) passed after \(user.attempts.count) attempt(s)\(last)",
            state: &state, reports: &reports
        )
    }

    private func reject(_ user: UserEntry, code: String, message: String, state: inout State, reports: inout Reports) {
        reports.rejected.append((user.record, DeliveryFailure(code: code, message: message, attempts: user.attempts)))
        state.outstanding -= 1
        state.outstandingBytes -= user.record.event.envelope.count
    }

    private func releaseWaiters(_ state: inout State) {
        outstandingGauge.record(state.outstanding)
        if hasCapacity(state), !state.capacityWaiters.isEmpty {
            let waiters = state.capacityWaiters
            state.capacityWaiters.removeAll()
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Hands reports to the dispatcher, then wakes flushes waiting for an empty producer: only after the reports, so
    /// a flush returns when every outcome has been reported.
    private func deliver(_ reports: Reports, to reporter: SinkReporter?) {
        if !reports.isEmpty, let reporter {
            for (record, receipt, attempts) in reports.accepted { reporter.accepted(record, receipt: receipt, attempts: attempts) }
            for (record, failure) in reports.rejected { reporter.rejected(record, failure: failure) }
            reporter.released(reports.released)
        }
        let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.delivering -= 1
            guard state.outstanding == 0, state.delivering == 0, !state.idleWaiters.isEmpty else { return [] }
            defer { state.idleWaiters.removeAll() }
            return Array(state.idleWaiters.values)
        }
        for waiter in idle { waiter.resume() }
    }

    /// Exponential backoff with full jitter between `min_backoff_ms` and `max_backoff_ms`.
    func backoff(attempt: Int) -> Duration {
        let base = configuration.minBackoff * (1 << min(max(attempt - 1, 0), 16))
        let capped = min(base, configuration.maxBackoff)
        let millis = Double(capped.components.seconds) * 1000 + Double(capped.components.attoseconds) / 1e15
        return .milliseconds(Int64(Double.random(in: max(millis / 2, 1)...max(millis, 1))))
    }

    static func attempt(startedAt: Int64, elapsed: Duration) -> DeliveryAttempt {
        DeliveryAttempt(
            startedAtMillis: startedAt,
            durationMillis: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        )
    }
}
