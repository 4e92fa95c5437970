import CoreMetrics
import Delivery
import GatewayCore
import Logging

/// Delivers one lane's records under the subscription's policy, with Lambda's semantics: a failing batch is
/// split in two (`bisect_batch_on_function_error`, splits are not retries), a `batchItemFailures` answer
/// checkpoints before the lowest failed record and retries from it, a record past `maximum_record_age_seconds` or a
/// batch past `maximum_retry_attempts` becomes a dead letter, and the rest keep flowing.
///
/// Failures where the handler never ran (unreachable, throttled) back off without counting as retries: an outage
/// of the receiver is not the records' fault. They are bounded by the record age instead.
struct BatchProcessor: Sendable {
    let settings: SubscriptionSettings
    let handler: any SubscriptionHandler
    let deadLetters: DeadLetterStore
    let control: SubscriptionControl
    let clock: ElapsedClock
    let wallMillis: @Sendable () -> Int64
    let metrics: SubscriptionMetrics
    let logger: Logger
    let retryLogic = SubscriptionRetryLogic()

    /// Failures of the batch at the front of the queue since it was last split or progressed.
    private struct Attempts {
        var counted = 0
        var consecutive = 0
        var first: DeadLetter.ErrorInfo?
        var last: DeadLetter.ErrorInfo?

        mutating func reset() { self = Attempts() }
    }

    /// Delivers `records` (in order) until each one was delivered or is a dead letter.
    /// - Throws: `CancellationError` when cancelled: the call in flight is abandoned and counts for nothing.
    func process(_ records: [SubscriptionRecord]) async throws(CancellationError) {
        var queue: [ArraySlice<SubscriptionRecord>] = []
        var start = records.startIndex
        while start < records.endIndex {
            let end = min(start + settings.batchSize, records.endIndex)
            queue.append(records[start..<end])
            start = end
        }
        var attempts = Attempts()
        while !queue.isEmpty {
            try await control.waitWhilePaused()
            var batch = queue.removeFirst()
            if let maximumAge = settings.maximumRecordAgeMillis {
                let now = wallMillis()
                let expired = batch.filter { now - $0.receivedAtMillis > maximumAge }
                if !expired.isEmpty {
                    await deadLetter(expired, .recordAgeExceeded, attempts: attempts)
                    batch = ArraySlice(batch.filter { now - $0.receivedAtMillis <= maximumAge })
                }
                if batch.isEmpty {
                    attempts.reset()
                    continue
                }
            }
            let started = clock.now
            let result = await handler.deliver(HandlerBatch(subscription: settings.name, records: Array(batch)))
            if Task.isCancelled { throw CancellationError() }
            metrics.handlerDuration.recordNanoseconds((clock.now - started).nanoseconds)
            switch result {
            case .success:
                succeeded(batch.count)
                attempts.reset()
            case .partialFailure(let index, let failure):
                let failedFrom = batch.startIndex + min(max(index, 0), batch.count)
                if failedFrom > batch.startIndex {
                    succeeded(failedFrom - batch.startIndex)
                    attempts.reset()
                }
                try await failed(batch[failedFrom...], failure, attempts: &attempts, queue: &queue)
            case .failure(let failure):
                try await failed(batch, failure, attempts: &attempts, queue: &queue)
            case .rejected(let rejections):
                await rejected(batch, rejections, attempts: attempts)
                attempts.reset()
            }
        }
    }

    private func succeeded(_ count: Int) {
        metrics.delivered.increment(by: count)
        control.update {
            $0.delivered += count
            $0.calls += 1
            $0.consecutiveFailures = 0
            if $0.state != .paused { $0.state = .running }
        }
    }

    /// The batch was processed except `rejections`, which become dead letters (one each, with its own error).
    private func rejected(_ batch: ArraySlice<SubscriptionRecord>, _ rejections: [RecordRejection], attempts: Attempts) async {
        let indices = Set(rejections.map(\.index).filter { $0 >= 0 && $0 < batch.count })
        succeeded(batch.count - indices.count)
        var seen = Set<Int>()
        for rejection in rejections where indices.contains(rejection.index) && seen.insert(rejection.index).inserted {
            let info = DeadLetter.ErrorInfo(rejection.failure, at: wallMillis())
            metrics.failed(rejection.failure)
            control.update { $0.lastError = info }
            logger.warning(
                "subscription handler rejected a record",
                metadata: ["subscription": "\(settings.name)", "error": "\(rejection.failure)"])
            var letterAttempts = attempts
            letterAttempts.counted += 1
            letterAttempts.first = letterAttempts.first ?? info
            letterAttempts.last = info
            await deadLetter([batch[batch.startIndex + rejection.index]], .permanentFailure, attempts: letterAttempts)
        }
    }

    private func failed(
        _ batch: ArraySlice<SubscriptionRecord>, _ failure: HandlerFailure, attempts: inout Attempts,
        queue: inout [ArraySlice<SubscriptionRecord>]
    ) async throws(CancellationError) {
        guard !batch.isEmpty else { return }
        let info = DeadLetter.ErrorInfo(failure, at: wallMillis())
        metrics.failed(failure)
        attempts.first = attempts.first ?? info
        attempts.last = info
        attempts.consecutive += 1
        let consecutive = attempts.consecutive
        control.update {
            $0.failedCalls += 1
            $0.calls += 1
            $0.consecutiveFailures += 1
            $0.lastError = info
        }
        logger.warning(
            "subscription handler call failed",
            metadata: ["subscription": "\(settings.name)", "records": "\(batch.count)", "error": "\(failure)"])
        let decision = retryLogic.decide(failure)
        if decision.kind == .permanent {
            attempts.counted += 1
            // Not retried, but still a failed call: three in a row are `failing` (docs/subscriptions.md).
            control.update { if $0.state != .paused, $0.consecutiveFailures >= 3 { $0.state = .failing } }
            await deadLetter(batch, .permanentFailure, attempts: attempts)
            attempts.reset()
            return
        }
        if failure.isFunctionError {
            if settings.bisectBatchOnFunctionError, batch.count > 1 {
                let middle = batch.startIndex + batch.count / 2
                queue.insert(contentsOf: [batch[..<middle], batch[middle...]], at: 0)
                attempts.counted = 0
                return
            }
            attempts.counted += 1
            if let maximum = settings.maximumRetryAttempts, attempts.counted > maximum {
                await deadLetter(batch, .retryAttemptsExhausted, attempts: attempts)
                attempts.reset()
                return
            }
        }
        queue.insert(batch, at: 0)
        let delay = settings.backoff.delay(attempt: consecutive, retryAfter: decision.retryAfter)
        control.update { if $0.state != .paused { $0.state = consecutive >= 3 ? .failing : .backingOff } }
        do {
            try await clock.sleep(for: delay)
        } catch {
            throw CancellationError()
        }
    }

    private func deadLetter(_ records: some Collection<SubscriptionRecord>, _ condition: DeadLetter.Condition, attempts: Attempts) async {
        guard let first = records.first?.sequence, let last = records.reduce(nil, { max($0 ?? 0, $1.sequence) }) else { return }
        let now = wallMillis()
        let letter = DeadLetter(
            id: await deadLetters.nextID(millis: now), subscription: settings.name, condition: condition,
            attempts: attempts.counted, firstError: attempts.first, lastError: attempts.last, firstSequence: first,
            lastSequence: last, deadLetteredAtMillis: now, records: Array(records))
        await store(letter, count: records.count)
    }

    /// Stores a dead letter; retried until it is stored (records are never dropped silently).
    func store(_ letter: DeadLetter, count: Int) async {
        var attempt = 0
        while true {
            do {
                try await deadLetters.add(letter)
                break
            } catch {
                attempt += 1
                logger.error("cannot store a dead letter, retrying", metadata: ["subscription": "\(settings.name)", "error": "\(error)"])
                do { try await clock.sleep(for: settings.backoff.delay(attempt: attempt)) } catch { return }
            }
        }
        if let forwarder = deadLetters.forwarder {
            // The position moves past these records only once the destination has them too.
            var forwardAttempt = 0
            while true {
                do {
                    try await forwarder.forward(letter)
                    break
                } catch {
                    forwardAttempt += 1
                    logger.error(
                        "cannot send a dead letter to \(forwarder.destination), retrying",
                        metadata: ["subscription": "\(settings.name)", "error": "\(error)"])
                    do { try await clock.sleep(for: settings.backoff.delay(attempt: forwardAttempt)) } catch { return }
                }
            }
        }
        metrics.deadLettered[letter.condition]?.increment(by: count)
        control.update { $0.deadLettered += count }
        logger.error(
            "subscription records became dead letters",
            metadata: [
                "subscription": "\(settings.name)", "condition": "\(letter.condition.rawValue)", "records": "\(count)",
                "first_sequence": "\(letter.firstSequence)", "last_sequence": "\(letter.lastSequence)",
            ])
    }
}
