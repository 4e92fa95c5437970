public import AWSCredentials
internal import AWSSigV4
internal import Dispatch
public import KafkaClient
public import Logging
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Supplies Amazon MSK IAM tokens to librdkafka's OAUTHBEARER refresh callback.
///
/// librdkafka asks for a token synchronously, on the client's executor thread, while credential
/// providers are async: ``run()`` (in the owner's task group; or ``start()`` for a caller without
/// one) keeps the latest credential (fetched at once, then every `refreshInterval`, and again sooner
/// after a failure), and ``token()`` builds the token from it
/// with ``MSKIAMTokenBuilder``. A token is reused (for every connection and every producer the sink
/// creates) while the credential is unchanged and at least half of its 900 s lifetime remains;
/// librdkafka asks again at about 80 % of the lifetime it was given.
public final class MSKIAMTokenProvider: Sendable {
    private struct State {
        var credential: AWSCredential?
        var lastError: String?
        var token: MSKIAMToken?
        var tokenCredential: AWSCredential?
        var refreshTask: Task<Void, Never>?
        var stopped = false
    }

    /// The principal name handed to librdkafka with each token (MSK ignores it).
    public static let principal = "msk-iam"

    private let builder: MSKIAMTokenBuilder
    private let credentials: any AWSCredentialProvider
    private let refreshInterval: Duration
    private let firstCredentialWait: Duration
    private let logger: Logger
    private let state = Mutex(State())
    /// Signalled (and re-signalled by each waiter) once the first credential arrived.
    private let firstCredential = DispatchSemaphore(value: 0)

    /// Creates a provider for the cluster's `region`.
    ///
    /// - Parameters:
    ///   - region: the MSK cluster's AWS region (the token is a presigned request for
    ///     `kafka.<region>.amazonaws.com`).
    ///   - credentials: where credentials come from; called from the background task only.
    ///   - refreshInterval: how often the credential is fetched again (providers cache and
    ///     refresh before expiry themselves, so this is cheap). Default 60 s.
    ///   - firstCredentialWait: how long the first refresh callback may block the poll thread
    ///     waiting for the first credential. Default 10 s.
    ///   - logger: receives credential refresh failures.
    /// - Throws: ``MSKIAMAuthError`` when the region is empty or malformed.
    public init(
        region: String,
        credentials: any AWSCredentialProvider,
        refreshInterval: Duration = .seconds(60),
        firstCredentialWait: Duration = .seconds(10),
        logger: Logger
    ) throws(MSKIAMAuthError) {
        builder = try MSKIAMTokenBuilder(region: region)
        self.credentials = credentials
        self.refreshInterval = refreshInterval
        self.firstCredentialWait = firstCredentialWait
        self.logger = logger
    }

    deinit {
        state.withLock { $0.refreshTask?.cancel() }
    }

    /// The one factory of token providers: the provider `connection` needs, one for ``KafkaConnectionConfiguration/SASLMechanism/awsMSKIAM``,
    /// nil otherwise (not started). Used by the Kafka sink and by `sluice verify --kafka`.
    /// - Throws: ``MSKIAMAuthError`` when MSK IAM has no credentials or the region is unusable.
    public static func make(
        for connection: KafkaConnectionConfiguration, credentials: (any AWSCredentialProvider)?, region: String, logger: Logger
    ) throws(MSKIAMAuthError) -> MSKIAMTokenProvider? {
        guard connection.usesMSKIAM else { return nil }
        guard let credentials else { throw MSKIAMAuthError("AWS_MSK_IAM needs AWS credentials, and none are configured") }
        return try MSKIAMTokenProvider(region: region, credentials: credentials, logger: logger)
    }

    /// ``token()`` in the form librdkafka's OAUTHBEARER refresh handler takes.
    public var oauthBearerHandler: @Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError> {
        { [self] _ in token() }
    }

    /// Keeps the credential fresh until the calling task is cancelled or ``stop()`` is called: fetches it at once, then
    /// every `refreshInterval` (sooner after a failure; the previous credential, if any, stays in use).
    public func run() async {
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            let succeeded = await refreshCredential()
            try? await Task.sleep(for: succeeded ? refreshInterval : min(refreshInterval, .seconds(5)))
        }
    }

    /// Starts ``run()`` in a task of its own, for callers without a task group to run it in (`sluice verify`); end it
    /// with ``stop()``. Idempotent.
    public func start() {
        state.withLock { state in
            guard state.refreshTask == nil, !state.stopped else { return }
            // Unstructured on purpose: the caller is synchronous and ends the refresh with stop().
            state.refreshTask = Task { [weak self] in await self?.run() }
        }
    }

    /// Stops the refresh (``start()``'s task, or ``run()`` at its next wake-up). Idempotent.
    public func stop() {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.stopped = true
            defer { state.refreshTask = nil }
            return state.refreshTask
        }
        task?.cancel()
    }

    /// Fetches a credential now; returns whether that succeeded.
    @discardableResult
    public func refreshCredential() async -> Bool {
        do throws(AWSCredentialError) {
            let credential = try await credentials.credential()
            let first = state.withLock { state -> Bool in
                defer {
                    state.credential = credential
                    state.lastError = nil
                }
                return state.credential == nil
            }
            if first { firstCredential.signal() }
            return true
        } catch {
            state.withLock { $0.lastError = error.description }
            logger.error("MSK IAM: could not refresh AWS credentials: \(error)")
            return false
        }
    }

    /// The token for librdkafka's OAUTHBEARER refresh callback (synchronous; called on the poll
    /// thread). Blocks up to `firstCredentialWait` only while no credential was ever obtained.
    public func token() -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError> {
        if state.withLock({ $0.credential == nil }) {
            let (seconds, attoseconds) = firstCredentialWait.components
            let nanoseconds = Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
            if firstCredential.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success {
                firstCredential.signal() // let any other waiter through too
            }
        }
        return state.withLock { state -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError> in
            guard let credential = state.credential else {
                return .failure(KafkaOAuthBearerTokenError("no AWS credentials yet: \(state.lastError ?? "still fetching")"))
            }
            let nowMs = Self.nowMilliseconds()
            let halfLifeMs = Int64(MSKIAMTokenBuilder.expirySeconds) * 500
            if let token = state.token, state.tokenCredential == credential, token.expiresAtMs - nowMs > halfLifeMs {
                return .success(KafkaOAuthBearerToken(value: token.value, lifetimeMs: token.expiresAtMs, principal: Self.principal))
            }
            do throws(MSKIAMAuthError) {
                let token = try builder.token(credential: credential, date: UnixTime(seconds: nowMs / 1000))
                state.token = token
                state.tokenCredential = credential
                return .success(KafkaOAuthBearerToken(value: token.value, lifetimeMs: token.expiresAtMs, principal: Self.principal))
            } catch {
                return .failure(KafkaOAuthBearerTokenError(error.message))
            }
        }
    }

    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
