public import CoreMetrics
public import EdgeAccess
import GatewayCore
import HTTPTypes
import Hummingbird
import Synchronization

/// The edge's authentication, authorisation and rate limits as the HTTP layer uses them: each check either passes
/// or throws the problem+json answer (401 with `WWW-Authenticate`, 403, 429 with `Retry-After` and `RateLimit-*`).
public struct EdgeAccessControl: Sendable {
    public let policy: AccessPolicy
    public let limiter: RateLimiter
    let metrics: EdgeAccessMetrics?

    public init(policy: AccessPolicy, limiter: RateLimiter, factory: (any MetricsFactory)? = nil) {
        self.policy = policy
        self.limiter = limiter
        self.metrics = factory.map(EdgeAccessMetrics.init)
    }

    /// No `auth:` and no limits.
    public static let open = EdgeAccessControl(policy: .disabled, limiter: .unlimited)

    static let challenge = #"Bearer realm="sluice""#

    /// The principal of a request: from `Authorization: Bearer`, `X-Api-Key`, or (GET only, for browsers'
    /// `EventSource` and `WebSocket`, which cannot send headers) the `access_token` query parameter.
    func authenticate(_ request: Request) async throws(ProblemDetails) -> Principal {
        guard policy.isEnabled else { return .anonymous }
        var apiKey = request.headers[Self.apiKeyHeader]
        if apiKey == nil, request.headers[.authorization] == nil, request.method == .get,
            let token = request.uri.queryParameters["access_token"]
        {
            apiKey = String(token)
        }
        do {
            return try await policy.authenticate(authorization: request.headers[.authorization], apiKey: apiKey)
        } catch {
            metrics?.authenticationFailed(error)
            throw ProblemDetails(
                status: .unauthorized, type: "unauthorized", title: "Unauthorized", detail: error.detail,
                headers: [.wwwAuthenticate: Self.challenge + #", error="\#(error.challengeError)""#])
        }
    }

    /// Passes when `principal` holds `scope` on `team/app`.
    func require(_ principal: Principal, _ scope: AccessScope, team: String, app: String) throws(ProblemDetails) {
        try check(policy.decide(principal, scope, team: team, app: app), principal, scope, what: "stream '\(team)/\(app)'")
    }

    /// Passes when `principal` holds `scope` on some stream (`admin`).
    func requireAnywhere(_ principal: Principal, _ scope: AccessScope) throws(ProblemDetails) {
        try check(policy.decideAnywhere(principal, scope), principal, scope, what: "this gateway")
    }

    private func check(_ decision: AccessDecision, _ principal: Principal, _ scope: AccessScope, what: String) throws(ProblemDetails) {
        switch decision {
        case .allowed:
            return
        case .credentialsRequired:
            metrics?.denied(principal, scope)
            throw ProblemDetails(
                status: .unauthorized, type: "unauthorized", title: "Unauthorized",
                detail: "'\(scope.rawValue)' on \(what) needs credentials: send 'Authorization: Bearer <API key>' or 'X-Api-Key'",
                headers: [.wwwAuthenticate: Self.challenge])
        case .forbidden:
            metrics?.denied(principal, scope)
            throw ProblemDetails(
                status: .forbidden, type: "forbidden", title: "Forbidden",
                detail: "\(Self.describe(principal)) is not granted '\(scope.rawValue)' on \(what)")
        }
    }

    private static func describe(_ principal: Principal) -> String {
        switch principal {
        case .anonymous: "an anonymous request"
        case .apiKey(let name): "the API key '\(name)'"
        case .token(let subject, _): "the token of '\(subject.prefix(128))'"
        }
    }

    /// Takes one event of `bytes` payload bytes from every bucket that applies; 429 when one is empty.
    func admit(_ principal: Principal, team: String, app: String, bytes: Int) throws(ProblemDetails) -> RateLimitStatus? {
        guard limiter.isEnabled else { return nil }
        let key: String? =
            switch principal {
            case .apiKey(let name): name
            case .anonymous, .token: nil
            }
        switch limiter.admit(team: team, app: app, key: key, bytes: bytes) {
        case .admitted(let status):
            return status
        case .limited(let retryAfter, let limit, let status):
            metrics?.limited(team: team, app: app, principal: principal, limit: limit)
            let seconds = max(1, Int(min(retryAfter.milliseconds / 1000, 86_400).rounded(.up)))
            var headers = Self.headers(status)
            headers[.retryAfter] = "\(seconds)"
            let which =
                switch limit {
                case "gateway": "the gateway's limit (limits:)"
                case "stream": "the rate_limit of stream '\(team)/\(app)'"
                default: "the rate_limit of API key '\(principal.label)'"
                }
            throw ProblemDetails(
                status: .tooManyRequests, type: "rate-limited", title: "Rate limited",
                detail: "\(which) is used up; retry after \(seconds) s", extensions: [("limit", "\"\(limit)\"")], headers: headers)
        }
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers).
    static func headers(_ status: RateLimitStatus) -> HTTPFields {
        var fields = HTTPFields()
        fields[rateLimitLimit] = "\(status.limit)"
        fields[rateLimitRemaining] = "\(status.remaining)"
        fields[rateLimitReset] = "\(status.resetSeconds)"
        return fields
    }

    static let apiKeyHeader = HTTPField.Name("X-Api-Key") ?? .authorization
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit") ?? .retryAfter
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining") ?? .retryAfter
    static let rateLimitReset = HTTPField.Name("RateLimit-Reset") ?? .retryAfter
}

/// `sluice_auth_failures_total{reason}`, `sluice_auth_denied_total{key,scope}` and
/// `sluice_rate_limited_total{team,app,key,limit}`, cached per label set.
final class EdgeAccessMetrics: Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[[String]: Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func authenticationFailed(_ failure: AuthenticationFailure) {
        counter("sluice_auth_failures_total", [("reason", failure.challengeError == "invalid_token" ? "unknown_key" : "bad_request")])
            .increment()
    }

    func denied(_ principal: Principal, _ scope: AccessScope) {
        counter("sluice_auth_denied_total", [("key", principal.label), ("scope", scope.rawValue)]).increment()
    }

    func limited(team: String, app: String, principal: Principal, limit: String) {
        counter("sluice_rate_limited_total", [("team", team), ("app", app), ("key", principal.label), ("limit", limit)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = [label] + dimensions.flatMap { [$0.0, $0.1] }
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }
}

/// Authenticates every request but `/health`, `/ready` and `/openapi.json` once `auth:` is configured (401 for bad credentials),
/// and leaves the principal in the context for the handlers' per-stream checks.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = IngestRequestContext
    let access: EdgeAccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard access.policy.isEnabled, request.uri.path != "/health", request.uri.path != "/ready", request.uri.path != "/openapi.json" else {
            return try await next(request, context)
        }
        var context = context
        context.principal = try await access.authenticate(request)
        return try await next(request, context)
    }
}

/// Lets a request of a route group through only when its principal holds `scope` somewhere (`admin` for
/// `/metrics` and the subscription endpoints).
struct ScopeMiddleware: RouterMiddleware {
    typealias Context = IngestRequestContext
    let access: EdgeAccessControl
    let scope: AccessScope

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try access.requireAnywhere(context.principal, scope)
        return try await next(request, context)
    }
}
