public import JSONSchema

/// `auth:` — who may use which stream (docs/edge.md). Absent: the gateway is open to anyone who reaches the port.
/// Present: every endpoint but `/health` and `/ready` needs credentials, except what `anonymous` grants.
public struct AuthConfiguration: Sendable, Equatable {
    /// `api_keys`, in file order.
    public var apiKeys: [APIKeyConfiguration] = []
    /// `anonymous`: what a request without credentials may do; `nil` (absent) grants nothing.
    public var anonymous: AccessGrantConfiguration?
    /// `jwt`: bearer tokens signed by keys of a JWKS; `nil` when absent.
    public var jwt: JWTConfiguration?

    public init(apiKeys: [APIKeyConfiguration] = [], anonymous: AccessGrantConfiguration? = nil, jwt: JWTConfiguration? = nil) {
        self.apiKeys = apiKeys
        self.anonymous = anonymous
        self.jwt = jwt
    }
}

/// `auth.jwt:` — JWT bearer tokens (RS256, ES256, EdDSA, HS256 and their 384/512 siblings) verified against a JWKS.
public struct JWTConfiguration: Sendable, Equatable {
    /// Where the JWKS comes from: `jwks_file` (a path) or `jwks_url` (http/https).
    public enum KeySource: Sendable, Equatable {
        case file(String)
        case url(String)
    }

    public var keys: KeySource
    /// `issuer`: the `iss` tokens must carry; absent: not checked.
    public var issuer: String?
    /// `audience`: a value `aud` must hold; absent: not checked.
    public var audience: String?
    /// `leeway_s`: clock skew allowed on `exp` and `nbf`. Default 60; 0…3600.
    public var leewaySeconds: Int = 60
    /// `streams_claim`: the claim with stream patterns. Default `streams`.
    public var streamsClaim: String = "streams"
    /// `scopes_claim`: the claim with scopes (space-separated or a list). Default `scope`.
    public var scopesClaim: String = "scope"
    /// `jwks_refresh_s`: seconds between reads of the JWKS. Default 300; 10…86400.
    public var jwksRefreshSeconds: Int = 300

    public init(keys: KeySource, issuer: String? = nil, audience: String? = nil) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
    }
}

/// Which streams, and what on them: `streams` patterns (`team/app`, `team/*`, `*`) and `scopes`.
public struct AccessGrantConfiguration: Sendable, Equatable {
    /// `streams`: `team/app`, `team/*` or `*`.
    public var streams: [String] = []
    /// `scopes`: `ingest`, `confirmed`, `read`, `admin`.
    public var scopes: [String] = []

    public init(streams: [String] = [], scopes: [String] = []) {
        self.streams = streams
        self.scopes = scopes
    }

    /// The scope names `scopes` accepts.
    public static let scopeNames = ["ingest", "confirmed", "read", "admin"]
}

/// One entry of `auth.api_keys`. The key itself is never in the file: either its SHA-256 (`sha256`, hex) or the
/// name of the environment variable that holds it (`key_env`; the gateway hashes it at start and keeps only the hash).
public struct APIKeyConfiguration: Sendable, Equatable {
    /// Where the key's hash comes from.
    public enum Secret: Sendable, Equatable {
        /// `sha256`: the lowercase hex SHA-256 of the key (64 digits).
        case sha256(String)
        /// `key_env`: the environment variable holding the key.
        case environment(String)
    }

    /// `name`: shown in logs and metrics (never the key). Required, unique.
    public var name: String
    public var secret: Secret
    /// `streams` and `scopes`.
    public var grant: AccessGrantConfiguration
    /// `rate_limit`: this key's own limit, on top of the stream's and the global one.
    public var rateLimit: RateLimitConfiguration?

    public init(name: String, secret: Secret, grant: AccessGrantConfiguration, rateLimit: RateLimitConfiguration? = nil) {
        self.name = name
        self.secret = secret
        self.grant = grant
        self.rateLimit = rateLimit
    }
}

/// `rate_limit:` (per stream or key) and `limits:` (the whole gateway): token buckets for events and bytes.
public struct RateLimitConfiguration: Sendable, Equatable {
    /// `events_per_second`: the bucket's refill rate, 0.001…10000000.
    public var eventsPerSecond: Double?
    /// `burst`: events the bucket holds when full. Default: one second's worth (at least 1); 1…100000000.
    public var burst: Int?
    /// `bytes_per_second`: payload bytes per second (the bucket holds one second's worth); 1…10995116277760 (10 TiB).
    public var bytesPerSecond: Int?

    public init(eventsPerSecond: Double? = nil, burst: Int? = nil, bytesPerSecond: Int? = nil) {
        self.eventsPerSecond = eventsPerSecond
        self.burst = burst
        self.bytesPerSecond = bytesPerSecond
    }
}

/// `server.cors:` — which web origins may call the gateway from a browser (docs/edge.md#cors).
public struct CORSConfiguration: Sendable, Equatable {
    /// `allowed_origins`: `scheme://host[:port]` values, or `*` for any origin.
    public var allowedOrigins: [String] = []
    /// `allowed_headers`: request headers allowed besides the gateway's own (`Content-Type`, `Authorization`,
    /// `X-Api-Key`, `Idempotency-Key`, `X-Request-Id`, `X-Client-Sent-At`, `X-Deadline-Ms`, `Content-Encoding`).
    public var allowedHeaders: [String] = []
    /// `max_age_s`: how long a browser may cache a preflight answer. Default 600; 0…86400.
    public var maxAgeSeconds: Int = 600

    public init(allowedOrigins: [String] = [], allowedHeaders: [String] = [], maxAgeSeconds: Int = 600) {
        self.allowedOrigins = allowedOrigins
        self.allowedHeaders = allowedHeaders
        self.maxAgeSeconds = maxAgeSeconds
    }
}

/// `streams[].schema:` — the JSON Schema every payload of the stream must match, compiled once at load
/// (docs/edge.md#json-schema).
public struct StreamSchemaConfiguration: Sendable, Equatable {
    /// Where it came from, for messages: `file 'schemas/order.json'` or `inline`.
    public var origin: String
    /// The schema document.
    public var document: JSONValue
    /// `draft`: `2020-12`, `draft-07` or `draft-04`; absent: from `$schema`, else 2020-12.
    public var draft: JSONSchemaDraft?
    /// The compiled schema.
    public var compiled: CompiledSchema

    public init(origin: String, document: JSONValue, draft: JSONSchemaDraft?, compiled: CompiledSchema) {
        self.origin = origin
        self.document = document
        self.draft = draft
        self.compiled = compiled
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.document == rhs.document && lhs.draft == rhs.draft }
}

/// `streams[].on_invalid:` — what happens to an event its stream's schema refuses.
public enum InvalidEventAction: String, Sendable, Equatable, CaseIterable {
    /// `reject`: `400 schema-violation` with every violation's path (the default).
    case reject
    /// `dead_letter`: accepted into the stream's `errors_stream` with the violations, as EventGate does.
    case deadLetter = "dead_letter"
}

/// `idempotency:` — how long, and how many, `Idempotency-Key`s are remembered (docs/edge.md#idempotency).
public struct IdempotencyConfiguration: Sendable, Equatable {
    /// `window_hours`: a key seen again within this many hours gets the first answer. Default 24; 1…720.
    public var windowHours: Int = 24
    /// `max_keys`: the most keys remembered (the oldest are forgotten first). Default 100000; 1…10000000.
    public var maxKeys: Int = 100_000

    public init() {}
}
