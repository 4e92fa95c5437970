extension RetryLogic {
    /// Runs `operation` until it succeeds, its failure is ``RetryDecision/Kind/permanent``, `maxAttempts` are used,
    /// or the task is cancelled; between attempts it sleeps the ``Backoff`` delay on `clock`, at least the decision's
    /// `retryAfter`.
    ///
    /// The decision for each failure is this logic's ``decide(_:)``: the error's type, never its text.
    ///
    /// - Parameters:
    ///   - backoff: the delay policy.
    ///   - clock: where the waits happen (a `ManualClock` in tests).
    ///   - maxAttempts: the most attempts, nil for no limit (the caller's cancellation ends the retries).
    ///   - onRetry: told about every failure that will be retried, with its decision and the attempt that failed
    ///     (for throttling and retry metrics).
    ///   - operation: one attempt; its argument is the attempt number, from 1.
    /// - Returns: the value and the attempts used, or the last failure with its decision.
    public func retrying<Value, C: Clock>(
        backoff: Backoff,
        clock: C,
        maxAttempts: Int? = nil,
        onRetry: (Failure, RetryDecision, Int) -> Void = { _, _, _ in },
        _ operation: (Int) async throws(Failure) -> Value
    ) async -> RetryOutcome<Value, Failure> where C.Duration == Duration {
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            let failure: Failure
            do throws(Failure) {
                return .succeeded(try await operation(attempt), attempts: attempt)
            } catch {
                failure = error
            }
            let decision = decide(failure)
            let isOutOfAttempts = maxAttempts.map { attempt >= $0 } ?? false
            guard decision.isRetryable, !isOutOfAttempts, !Task.isCancelled else {
                return .failed(failure, decision: decision, attempts: attempt)
            }
            onRetry(failure, decision, attempt)
            do {
                try await clock.sleep(for: backoff.delay(attempt: attempt, retryAfter: decision.retryAfter, using: &generator))
            } catch {
                // Cancelled while waiting: the last failure stands.
                return .failed(failure, decision: decision, attempts: attempt)
            }
            attempt += 1
        }
    }
}
