import CoreMetrics
import Delivery
import GatewayCore
import KinesisAPI
import KinesisAggregation

extension KinesisSink {
    /// Something the sink's task does outside the lock.
    enum Work {
        /// A `PutRecords` call.
        case put(stream: String, records: [OutgoingRecord])
        /// A `ListShards` read.
        case listShards(stream: String)
    }

    /// What to tell the dispatcher after the lock is released.
    struct Reports {
        var accepted: [(SinkRecord, Receipt, Int)] = []
        var released: [UInt64] = []
        var rejected: [(SinkRecord, DeliveryFailure)] = []
        var isEmpty: Bool { accepted.isEmpty && released.isEmpty && rejected.isEmpty }
    }

    /// The sink's state, kept in its `Mutex`: what it holds per stream and shard, retries waiting out their backoff,
    /// the outstanding counts, and the tasks waiting for capacity or an empty sink. Its methods are the transitions
    /// and return what to do (calls to make, reports to deliver, waiters to resume); the caller does that outside the
    /// lock.
    struct StateMachine {
        let configuration: Configuration
        let retryLogic: KinesisRetryLogic
        let requestBuilder: KinesisRequestBuilder
        let metricsFactory: any MetricsFactory

        var streams: [String: StreamState] = [:]
        var retries: [(notBefore: ElapsedClock.Instant, entry: PendingRecord)] = []
        /// User records held (buffered, in flight or waiting for a retry).
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

        init(configuration: Configuration, metricsFactory: any MetricsFactory) {
            self.configuration = configuration
            self.metricsFactory = metricsFactory
            retryLogic = KinesisRetryLogic(isThrottlingFatal: configuration.failIfThrottled)
            requestBuilder = KinesisRequestBuilder(maxCount: configuration.collectionMaxCount, maxBytes: configuration.collectionMaxSize)
        }

        /// Whether the sink takes more records: under both `max_outstanding_records` and `max_outstanding_mb`.
        var hasCapacity: Bool {
            outstanding < configuration.maxOutstandingRecords && outstandingBytes < configuration.maxOutstandingBytes
        }

        /// Whether nothing can come due by itself: no record held, no flush waiting, and no shard-map read asked for
        /// within the next second (a record stored on an unexpected shard asks for one). The ticker then waits for
        /// records instead of waking every tick.
        func isQuiescent(now: ElapsedClock.Instant) -> Bool {
            guard outstanding == 0, flushRequests == 0 else { return false }
            let soon = now + .seconds(1)
            return !streams.values.contains { $0.refreshWanted || $0.isFetchingMap || $0.nextMapFetch <= soon }
        }

        /// Whether nothing is held and every report has been handed over (a flush may return).
        var isIdle: Bool { outstanding == 0 && delivering == 0 }

        // MARK: Input

        /// Takes the Kinesis records of a batch from the log.
        mutating func take(_ records: [SinkRecord], reporter: SinkReporter, now: ElapsedClock.Instant) {
            if self.reporter == nil { self.reporter = reporter }
            let deadline = now + configuration.recordTTL
            for record in records {
                guard record.event.route.sink == .kinesis else { continue }
                let entry = PendingRecord(
                    record: record, stream: record.event.route.destination, hashKey: ShardHashing.hashKey(record.event.partitionKey),
                    deadline: deadline, arrival: now
                )
                outstanding += 1
                outstandingBytes += entry.envelopeBytes
                add(entry, now: now)
            }
        }

        private mutating func streamState(_ name: String, now: ElapsedClock.Instant) -> StreamState {
            if let existing = streams[name] { return existing }
            let stream = StreamState(nextMapFetch: now, metrics: KinesisMetrics.Stream(stream: name, factory: metricsFactory))
            streams[name] = stream
            return stream
        }

        /// Puts a user record into its shard's aggregator (or the stream's unmapped list while no map covers it).
        private mutating func add(_ entry: PendingRecord, now: ElapsedClock.Instant) {
            let stream = streamState(entry.stream, now: now)
            guard let map = stream.map, let shard = map.shard(for: entry.hashKey) else {
                if stream.map != nil { stream.refreshWanted = true }
                stream.unmapped.append(entry)
                return
            }
            let buffer: ShardBuffer
            if let existing = stream.shards[shard.id] {
                buffer = existing
            } else {
                buffer = ShardBuffer(
                    aggregator: ShardAggregator(isEnabled: configuration.aggregation, maxSize: configuration.aggregationMaxSize),
                    limiter: ShardRateLimiter(percent: configuration.rateLimitPercent, now: now),
                    metrics: KinesisMetrics.Shard(stream: entry.stream, shard: shard.id, factory: metricsFactory)
                )
                stream.shards[shard.id] = buffer
            }
            buffer.metrics.userRecords.increment()
            buffer.enqueue(buffer.aggregator.add(entry, shardID: shard.id))
        }

        // MARK: Shard maps

        /// A `ListShards` read failed; returns the failures in a row.
        mutating func mapFetchFailed(stream name: String, error: String, now: ElapsedClock.Instant) -> Int {
            guard let stream = streams[name] else { return 1 }
            stream.isFetchingMap = false
            stream.mapFailures += 1
            stream.mapError = error
            stream.nextMapFetch = now + configuration.backoff.delay(attempt: stream.mapFailures)
            return stream.mapFailures
        }

        /// A `ListShards` read succeeded.
        mutating func mapFetched(stream name: String, map: ShardMap, now: ElapsedClock.Instant) {
            streams[name]?.install(map, nextFetch: now + configuration.shardMapRefreshInterval)
        }

        // MARK: One pass

        /// One pass of the pipeline: due retries, shard maps, timed-out aggregators, expired records, and calls to make.
        mutating func drain(now: ElapsedClock.Instant, reports: inout Reports) -> [Work] {
            var work: [Work] = []
            let flushing = flushRequests > 0
            if !retries.isEmpty {
                var waiting: [(notBefore: ElapsedClock.Instant, entry: PendingRecord)] = []
                let due = retries
                retries.removeAll(keepingCapacity: true)
                for retry in due {
                    if retry.entry.deadline <= now {
                        expire(retry.entry, reports: &reports)
                    } else if retry.notBefore <= now || flushing {
                        add(retry.entry, now: now)
                    } else {
                        waiting.append(retry)
                    }
                }
                retries.append(contentsOf: waiting)
            }
            for (name, stream) in streams {
                if stream.startMapFetchIfDue(now: now) { work.append(.listShards(stream: name)) }
                if stream.map != nil, !stream.unmapped.isEmpty {
                    let unmapped = stream.unmapped
                    stream.unmapped.removeAll()
                    for entry in unmapped { add(entry, now: now) }
                }
                // Records that cannot be mapped still expire.
                if !stream.unmapped.isEmpty {
                    var kept: [PendingRecord] = []
                    for entry in stream.unmapped {
                        if entry.deadline <= now { expire(entry, reports: &reports) } else { kept.append(entry) }
                    }
                    stream.unmapped = kept
                }
                var readyCount = 0
                var readyBytes = 0
                var oldest: ElapsedClock.Instant?
                // With no call of this stream in flight, waiting would not fill a call any faster: send now (see
                // `flush_when_idle`). While calls are in flight, records gather for the next one.
                let isIdle = configuration.flushWhenIdle && stream.inFlight == 0
                for (id, shard) in stream.shards {
                    if let first = shard.aggregator.oldest, flushing || isIdle || now - first >= configuration.maxBufferedTime {
                        shard.sealAggregate(shardID: id)
                    }
                    // A record stuck behind its shard's rate limit past its TTL fails; the others of its aggregate
                    // go round again.
                    while let head = shard.ready.first, head.earliestDeadline <= now {
                        _ = shard.dequeue()
                        for user in head.users {
                            if user.deadline <= now { expire(user, reports: &reports) } else { stream.unmapped.append(user) }
                        }
                    }
                    readyCount += shard.ready.count
                    readyBytes += shard.readyBytes
                    if let first = shard.ready.first?.oldest { oldest = min(oldest ?? first, first) }
                }
                // Calls: full ones, or whatever is there once the oldest record's buffered time is up.
                while inFlight < configuration.maxConnections {
                    let isDue = requestBuilder.isDue(
                        count: readyCount, bytes: readyBytes, oldest: oldest, maxBufferedTime: configuration.maxBufferedTime,
                        isFlushing: flushing || (isIdle && stream.inFlight == 0), now: now
                    )
                    guard isDue else { break }
                    let batch = requestBuilder.makeBatch(from: stream, now: now)
                    guard !batch.records.isEmpty else { break }
                    readyCount -= batch.records.count
                    readyBytes -= batch.bytes
                    inFlight += 1
                    stream.inFlight += 1
                    stream.metrics.record(batch.records)
                    work.append(.put(stream: name, records: batch.records))
                    if !batch.isFull { break }
                }
            }
            return work
        }

        // MARK: Results

        /// A `PutRecords` call ended: stored records are accepted and released, failed ones retried or rejected.
        mutating func complete(
            stream name: String, records: [OutgoingRecord], result: Result<[KinesisAPI.PutResult], KinesisError>,
            attempt: DeliveryAttempt, now: ElapsedClock.Instant, reports: inout Reports
        ) {
            inFlight -= 1
            streams[name]?.inFlight -= 1
            let metrics = streams[name]?.metrics
            metrics?.putLatency.recordNanoseconds(Int64(attempt.durationMillis * 1_000_000))
            switch result {
            case .failure(let error):
                metrics?.retries(code: error.code).increment(by: records.reduce(0) { $0 + $1.users.count })
                if retryLogic.wantsShardMapRefresh(error) { streams[name]?.refreshWanted = true }
                for outgoing in records {
                    retryOrFail(outgoing.users, error: error, attempt: attempt, now: now, reports: &reports)
                }
            case .success(let results):
                for (outgoing, result) in zip(records, results) {
                    switch result {
                    case .stored(let shardID, let sequenceNumber):
                        if shardID != outgoing.shardID {
                            streams[name]?.refreshWanted = true
                            metrics?.wrongShard.increment()
                        }
                        for (index, user) in outgoing.users.enumerated() {
                            let receipt = Receipt.kinesis(
                                stream: name, shardID: shardID, sequenceNumber: sequenceNumber,
                                subSequenceNumber: outgoing.isAggregated ? index : nil
                            )
                            reports.accepted.append((user.record, receipt, user.attempts.count + 1))
                            reports.released.append(user.record.sequence)
                            outstandingBytes -= user.envelopeBytes
                        }
                        outstanding -= outgoing.users.count
                    case .failed(let error):
                        metrics?.retries(code: error.code).increment(by: outgoing.users.count)
                        if error.isThrottling { streams[name]?.shards[outgoing.shardID]?.metrics.throttles.increment() }
                        retryOrFail(outgoing.users, error: error, attempt: attempt, now: now, reports: &reports)
                    }
                }
            }
        }

        /// Gives failed records another try after the backoff, or fails them (past their TTL, or not retriable).
        private mutating func retryOrFail(
            _ users: [PendingRecord], error: KinesisError, attempt: DeliveryAttempt, now: ElapsedClock.Instant, reports: inout Reports
        ) {
            var failed = attempt
            failed.errorCode = error.code.description
            failed.errorMessage = error.message
            let decision = retryLogic.decide(error)
            for var user in users {
                user.attempts.append(failed)
                if !decision.isRetryable {
                    reject(user, code: error.code.description, message: "fail_if_throttled is set: \(error.message)", reports: &reports)
                } else if user.deadline <= now {
                    expire(user, reports: &reports)
                } else {
                    let delay = configuration.backoff.delay(attempt: user.attempts.count, retryAfter: decision.retryAfter)
                    retries.append((now + delay, user))
                }
            }
        }

        private mutating func expire(_ user: PendingRecord, reports: inout Reports) {
            streams[user.stream]?.metrics.expired.increment()
            let mapError = streams[user.stream]?.mapError.map { " (the shard map could not be read: \($0))" } ?? ""
            let last =
                user.attempts.last.map { "; last error \($0.errorCode ?? "none"): \($0.errorMessage ?? "")" } ?? "; it was never sent\(mapError)"
            reject(
                user, code: "ttl_expired",
                message: "record_ttl_ms (\(configuration.recordTTL)) passed after \(user.attempts.count) attempt(s)\(last)",
                reports: &reports
            )
        }

        private mutating func reject(_ user: PendingRecord, code: String, message: String, reports: inout Reports) {
            reports.rejected.append((user.record, DeliveryFailure(code: code, message: message, attempts: user.attempts)))
            outstanding -= 1
            outstandingBytes -= user.envelopeBytes
        }

        // MARK: Waiters

        /// The `write`s waiting for capacity, if there is capacity again (to resume outside the lock).
        mutating func takeCapacityWaiters() -> [CheckedContinuation<Void, Never>] {
            guard hasCapacity, !capacityWaiters.isEmpty else { return [] }
            defer { capacityWaiters.removeAll() }
            return capacityWaiters
        }

        /// The flushes waiting for an empty sink, once it is (to resume outside the lock).
        mutating func takeIdleWaiters() -> [CheckedContinuation<Void, Never>] {
            guard isIdle, !idleWaiters.isEmpty else { return [] }
            defer { idleWaiters.removeAll() }
            return Array(idleWaiters.values)
        }
    }
}
