public import AWSSigV4
public import Foundation
public import Logging

/// Caches a credential from any source and refreshes it shortly before it expires.
///
/// - The source is called only when there is no cached credential or the cached one expires
///   within `refreshBefore`; credentials without an expiration are fetched once.
/// - Refreshes are single-flight: however many callers arrive while a refresh runs, the source is
///   called once and all of them get its result.
/// - When a refresh fails but the cached credential is still valid, the cached one is returned, a
///   warning is logged, and the source is not asked again for `retryAfterFailure`.
/// - When there is no valid credential, the source's error is thrown (and the next call retries).
public final class RefreshingCredentialProvider: AWSCredentialProvider {
    /// Fetches a fresh credential and when it expires (`nil`: never).
    public typealias Fetch = @Sendable () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?)

    private let state: RefreshState

    /// - Parameters:
    ///   - refreshBefore: refresh when the credential expires within this long (default 5 minutes).
    ///   - retryAfterFailure: after a failed refresh while the old credential is still valid, keep
    ///     using it for this long before asking the source again (default 30 seconds).
    ///   - logger: where refresh failures are reported.
    ///   - now: the clock (injectable for tests).
    ///   - fetch: the credential source.
    public init(
        refreshBefore: Duration = .seconds(300),
        retryAfterFailure: Duration = .seconds(30),
        logger: Logger = Logger(label: "aws.credentials"),
        now: @escaping @Sendable () -> Date = { Date() },
        fetch: @escaping Fetch
    ) {
        self.state = RefreshState(
            refreshBefore: refreshBefore.timeInterval,
            retryAfterFailure: retryAfterFailure.timeInterval,
            logger: logger,
            now: now,
            fetch: fetch
        )
    }

    public func credential() async throws(AWSCredentialError) -> AWSCredential {
        try await state.credential(force: false)
    }

    /// Fetches a new credential now (joining a refresh already in flight), e.g. after a service
    /// answered `ExpiredToken`. Falls back to the cached credential, if still valid, on failure.
    public func refresh() async throws(AWSCredentialError) -> AWSCredential {
        try await state.credential(force: true)
    }

    /// How many callers are currently waiting for an in-flight refresh (for tests).
    var waitingCallers: Int {
        get async { await state.waiting }
    }

    /// When the cached credential expires: `nil` when none is cached or it never expires.
    public var expiration: Date? {
        get async { await state.cachedExpiration }
    }
}

extension Duration {
    /// This duration in (fractional) seconds.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

private actor RefreshState {
    struct Cached: Sendable {
        var credential: AWSCredential
        var expiration: Date?
    }

    let refreshBefore: TimeInterval
    let retryAfterFailure: TimeInterval
    let logger: Logger
    let now: @Sendable () -> Date
    let fetch: RefreshingCredentialProvider.Fetch

    var cached: Cached?
    /// After a failed refresh with a still-valid cached credential: no new attempt before this.
    var retryNotBefore: Date?
    var inflight: Task<Result<Cached, AWSCredentialError>, Never>?
    /// Callers currently awaiting `inflight`.
    var waiting = 0

    init(
        refreshBefore: TimeInterval,
        retryAfterFailure: TimeInterval,
        logger: Logger,
        now: @escaping @Sendable () -> Date,
        fetch: @escaping RefreshingCredentialProvider.Fetch
    ) {
        self.refreshBefore = refreshBefore
        self.retryAfterFailure = retryAfterFailure
        self.logger = logger
        self.now = now
        self.fetch = fetch
    }

    var cachedExpiration: Date? { cached?.expiration }

    func credential(force: Bool) async throws(AWSCredentialError) -> AWSCredential {
        let start = now()
        if !force, let cached, isUsable(cached, at: start) {
            let due = cached.expiration.map { start >= $0.addingTimeInterval(-refreshBefore) } ?? false
            let backingOff = retryNotBefore.map { start < $0 } ?? false
            if !due || backingOff { return cached.credential }
        }
        let task = inflight ?? startRefresh()
        waiting += 1
        let result = await task.value
        waiting -= 1
        switch result {
        case .success(let fresh):
            return fresh.credential
        case .failure(let error):
            // `finish` already logged; fall back to the old credential while it is still valid.
            if let cached, isUsable(cached, at: now()) { return cached.credential }
            throw error
        }
    }

    private func isUsable(_ cached: Cached, at date: Date) -> Bool {
        cached.expiration.map { date < $0 } ?? true
    }

    private func startRefresh() -> Task<Result<Cached, AWSCredentialError>, Never> {
        let fetch = self.fetch
        let task = Task { () -> Result<Cached, AWSCredentialError> in
            let result: Result<Cached, AWSCredentialError>
            do throws(AWSCredentialError) {
                let (credential, expiration) = try await fetch()
                result = .success(Cached(credential: credential, expiration: expiration))
            } catch {
                result = .failure(error)
            }
            self.finish(result)
            return result
        }
        inflight = task
        return task
    }

    private func finish(_ result: Result<Cached, AWSCredentialError>) {
        inflight = nil
        switch result {
        case .success(let fresh):
            cached = fresh
            retryNotBefore = nil
        case .failure(let error):
            let current = now()
            if let cached, isUsable(cached, at: current) {
                retryNotBefore = current.addingTimeInterval(retryAfterFailure)
                var metadata: Logger.Metadata = [CredentialLoggingKeys.error: "\(error)"]
                if let expiration = cached.expiration {
                    metadata[CredentialLoggingKeys.expiresInSeconds] = "\(Int(expiration.timeIntervalSince(current)))"
                }
                logger.warning("AWS credential refresh failed; still using the current credential", metadata: metadata)
            } else {
                logger.error("AWS credential refresh failed", metadata: [CredentialLoggingKeys.error: "\(error)"])
            }
        }
    }
}
