import Crypto

/// Who made a request, once its credentials were checked.
public enum Principal: Sendable, Equatable {
    /// No credentials were sent (allowed what `auth.anonymous` grants).
    case anonymous
    /// A configured API key, by name.
    case apiKey(name: String)
    /// A verified JWT: its `sub` and the grant its claims carry.
    case token(subject: String, grant: AccessGrant)

    /// The label used in logs and metrics (never a secret): the key's name, `jwt`, or `anonymous`.
    public var label: String {
        switch self {
        case .anonymous: "anonymous"
        case .apiKey(let name): name
        case .token: "jwt"
        }
    }
}

/// Why a request's credentials were refused (401).
public enum AuthenticationFailure: Error, Sendable, Equatable {
    /// `Authorization` is present but not a `Bearer` credential.
    case unsupportedScheme
    /// The key matches no configured key.
    case unknownKey
    /// Both `Authorization` and `X-Api-Key` were sent, with different keys.
    case conflictingCredentials
    /// A JWT bearer token that is not valid.
    case invalidToken(TokenFailure)

    /// What the client is told (never the key).
    public var detail: String {
        switch self {
        case .unsupportedScheme: "the Authorization header must be 'Bearer <API key>'"
        case .unknownKey: "the API key is not valid"
        case .conflictingCredentials: "Authorization and X-Api-Key carry different keys; send one"
        case .invalidToken(let failure): failure.detail
        }
    }

    /// The `error` parameter of `WWW-Authenticate` (RFC 6750 §3.1).
    public var challengeError: String {
        switch self {
        case .unsupportedScheme, .conflictingCredentials: "invalid_request"
        case .unknownKey, .invalidToken: "invalid_token"
        }
    }
}

/// The verdict on one action of an authenticated principal.
public enum AccessDecision: Sendable, Equatable {
    case allowed
    /// No credentials were sent and anonymous access does not cover this: 401 with `WWW-Authenticate`.
    case credentialsRequired
    /// The principal is known but not granted this scope on this stream: 403.
    case forbidden
}

/// An API key as the gateway keeps it: the SHA-256 of the key, never the key.
public struct APIKey: Sendable {
    public var name: String
    public var sha256: [UInt8]
    public var grant: AccessGrant

    public init(name: String, sha256: [UInt8], grant: AccessGrant) {
        self.name = name
        self.sha256 = sha256
        self.grant = grant
    }

    /// The key's hash, as `auth.api_keys[].sha256` holds it.
    public static func hash(_ key: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(key.utf8)))
    }

    /// The 32 bytes of a SHA-256 written as 64 hex digits; nil for anything else.
    public static func digest(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The `auth:` section at run time: authenticates requests and decides what they may do.
///
/// ``disabled`` (no `auth:` section) lets everything through. Otherwise a presented key is hashed once and
/// compared with every configured hash in constant time (no early exit), so timing tells nothing about which
/// key, or how much of one, matched.
public struct AccessPolicy: Sendable {
    /// Whether `auth:` is configured at all.
    public let isEnabled: Bool
    private let keys: [APIKey]
    private let anonymous: AccessGrant
    /// `auth.jwt`: verifies bearer tokens that are JWTs (three dot-separated parts).
    public let tokens: JWTVerifier?

    public init(keys: [APIKey], anonymous: AccessGrant, tokens: JWTVerifier? = nil) {
        self.isEnabled = true
        self.keys = keys
        self.anonymous = anonymous
        self.tokens = tokens
    }

    private init() {
        isEnabled = false
        keys = []
        anonymous = .none
        tokens = nil
    }

    /// No `auth:` section: no credentials needed, everything allowed.
    public static let disabled = AccessPolicy()

    /// The principal for a request's `Authorization` and `X-Api-Key` header values. With `auth.jwt`, a bearer
    /// token of three dot-separated parts is a JWT; anything else is an API key.
    public func authenticate(authorization: String?, apiKey: String?) async throws(AuthenticationFailure) -> Principal {
        guard isEnabled else { return .anonymous }
        if let tokens, let authorization, apiKey == nil, let token = Self.bearerToken(authorization),
            token.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 2
        {
            do {
                let (subject, grant) = try await tokens.verify(token)
                return .token(subject: subject, grant: grant)
            } catch {
                throw .invalidToken(error)
            }
        }
        return try authenticateKey(authorization: authorization, apiKey: apiKey)
    }

    /// As ``authenticate(authorization:apiKey:)`` for API keys only.
    public func authenticateKey(authorization: String?, apiKey: String?) throws(AuthenticationFailure) -> Principal {
        guard isEnabled else { return .anonymous }
        var presented = apiKey
        if let authorization {
            guard let token = Self.bearerToken(authorization) else { throw .unsupportedScheme }
            if let presented, presented != token { throw .conflictingCredentials }
            presented = token
        }
        guard let presented else { return .anonymous }
        let digest = APIKey.hash(presented)
        var match: Int?
        for (index, key) in keys.enumerated() where Self.constantTimeEqual(key.sha256, digest) {
            match = index
        }
        guard let match else { throw .unknownKey }
        return .apiKey(name: keys[match].name)
    }

    /// Whether `principal` may use `scope` on `team/app`.
    public func decide(_ principal: Principal, _ scope: AccessScope, team: String, app: String) -> AccessDecision {
        guard isEnabled else { return .allowed }
        return verdict(principal) { $0.allows(scope, team: team, app: app) }
    }

    /// Whether `principal` may use `scope` somewhere (`admin`; the stream list with `read`).
    public func decideAnywhere(_ principal: Principal, _ scope: AccessScope) -> AccessDecision {
        guard isEnabled else { return .allowed }
        return verdict(principal) { $0.allowsAnywhere(scope) }
    }

    private func verdict(_ principal: Principal, _ allows: (AccessGrant) -> Bool) -> AccessDecision {
        switch principal {
        case .anonymous:
            return allows(anonymous) ? .allowed : .credentialsRequired
        case .apiKey(let name):
            guard let key = keys.first(where: { $0.name == name }) else { return .forbidden }
            return allows(key.grant) || allows(anonymous) ? .allowed : .forbidden
        case .token(_, let grant):
            return allows(grant) || allows(anonymous) ? .allowed : .forbidden
        }
    }

    /// The token of `Bearer <token>` (scheme case-insensitive, RFC 7235); nil for other schemes.
    static func bearerToken(_ value: String) -> String? {
        let trimmed = value.drop { $0 == " " }
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).drop { $0 == " " }
        let end = token.lastIndex { $0 != " " }.map { token.index(after: $0) } ?? token.startIndex
        let result = token[..<end]
        return result.isEmpty ? nil : String(result)
    }

    /// Compares two digests without an early exit.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
