import Foundation
public import GatewayCore
import JWTKit
public import Logging
public import ServiceLifecycle
import Synchronization

/// `auth.jwt`: where the keys come from and what a token must say.
public struct JWTSettings: Sendable {
    /// `issuer`: the `iss` every token must carry; nil: not checked.
    public var issuer: String?
    /// `audience`: a value `aud` must be or contain; nil: not checked.
    public var audience: String?
    /// `leeway_s`: clock skew allowed on `exp` and `nbf`.
    public var leeway: Duration
    /// `streams_claim`: the claim holding stream patterns (a list, or one space-separated string).
    public var streamsClaim: String
    /// `scopes_claim`: the claim holding scopes (OAuth's space-separated `scope`, or a list).
    public var scopesClaim: String
    /// `jwks_refresh_s`: how often the key set is read again.
    public var refreshInterval: Duration
    /// The least time between two reads caused by tokens naming an unknown `kid` (so random `kid`s cannot make the
    /// gateway fetch the key set on every request).
    public var minimumRefetchInterval: Duration

    public init(
        issuer: String?, audience: String?, leeway: Duration = .seconds(60), streamsClaim: String = "streams",
        scopesClaim: String = "scope", refreshInterval: Duration = .seconds(300), minimumRefetchInterval: Duration = .seconds(5)
    ) {
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.streamsClaim = streamsClaim
        self.scopesClaim = scopesClaim
        self.refreshInterval = refreshInterval
        self.minimumRefetchInterval = minimumRefetchInterval
    }
}

/// Why a bearer token was refused (all answered 401 with `error="invalid_token"`).
public enum TokenFailure: Error, Sendable, Equatable {
    case malformed
    /// `alg` is not one of RS/PS/ES/HS 256–512 or EdDSA (`none` among them), or does not fit the key's type.
    case unsupportedAlgorithm(String)
    /// No key of the set has this `kid` (or the token has none and the set holds several keys).
    case unknownKeyID(String)
    case badSignature
    case expired
    case notYetValid
    case missingExpiry
    case wrongIssuer
    case wrongAudience
    /// The key set has not been loaded (yet).
    case noKeys

    /// What the client is told.
    public var detail: String {
        switch self {
        case .malformed: "the bearer token is not a JWT"
        case .unsupportedAlgorithm(let alg): "the token's algorithm '\(alg.prefix(16))' is not accepted"
        case .unknownKeyID(let kid): "no key '\(kid.prefix(64))' is in the key set"
        case .badSignature: "the token's signature is not valid"
        case .expired: "the token has expired"
        case .notYetValid: "the token is not valid yet (nbf)"
        case .missingExpiry: "the token has no 'exp' claim"
        case .wrongIssuer: "the token's issuer is not accepted"
        case .wrongAudience: "the token is not meant for this audience"
        case .noKeys: "the key set (auth.jwt) could not be loaded; try again later"
        }
    }
}

/// A JWKS document that cannot be used.
public struct JWKSError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// Verifies JWT bearer tokens against a JWKS (file or URL) with vapor/jwt-kit, and maps their claims to a grant.
///
/// jwt-kit checks signatures; this type picks the key by `kid`, refuses an `alg` that does not fit the key's type
/// (no `none`, no HMAC with a public key), and checks `exp`, `nbf` (with leeway), `iss` and `aud` on an injected wall
/// clock. The key set is read again every `refreshInterval` (as a service of the application) and when a token
/// names a `kid` it does not know (at most every `minimumRefetchInterval`). JWKS `oct` keys (HS256/384/512), which
/// jwt-kit's JWK type does not read, are added as HMAC keys.
public final class JWTVerifier: Service, Sendable {
    private struct KeySet: Sendable {
        var collection: JWTKeyCollection
        /// kid → key type (`RSA`, `EC`, `OKP`, `oct`).
        var kinds: [String: String]
    }

    private struct State: Sendable {
        var keys: KeySet?
        var lastFetch: ElapsedClock.Instant?
    }

    public let settings: JWTSettings
    private let load: @Sendable () async throws -> String
    private let wallClock: @Sendable () -> Double
    private let clock: ElapsedClock
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameters:
    ///   - load: reads the JWKS document (the wiring reads `jwks_file` or fetches `jwks_url`).
    ///   - wallClock: seconds since the Unix epoch (for `exp` and `nbf`).
    public init(
        settings: JWTSettings, load: @escaping @Sendable () async throws -> String, wallClock: @escaping @Sendable () -> Double,
        clock: ElapsedClock, logger: Logger
    ) {
        self.settings = settings
        self.load = load
        self.wallClock = wallClock
        self.clock = clock
        self.logger = logger
    }

    /// Reads the key set again now; the old set keeps serving when this fails.
    public func refresh() async throws {
        state.withLock { $0.lastFetch = clock.now }
        let document = try await load()
        let keys = try await Self.keySet(document)
        state.withLock { $0.keys = keys }
        logger.info("JWKS loaded", metadata: ["keys": "\(keys.kinds.keys.sorted().joined(separator: ","))"])
    }

    /// Loads the key set, then again every `refreshInterval` (every 10 s while loading fails) until shutdown.
    public func run() async throws {
        while !Task.isCancelled {
            var wait = settings.refreshInterval
            do {
                try await refresh()
            } catch {
                logger.error("cannot load the JWKS of auth.jwt; the previous keys keep serving", metadata: ["error": "\(error)"])
                wait = min(wait, .seconds(10))
            }
            do {
                try await cancelWhenGracefulShutdown { [clock, wait] in try await clock.sleep(for: wait) }
            } catch {
                return
            }
        }
    }

    /// The subject and grant of a valid token.
    public func verify(_ token: String) async throws(TokenFailure) -> (subject: String, grant: AccessGrant) {
        let header = try Self.header(of: token)
        guard let family = Self.keyFamily(ofAlgorithm: header.alg) else { throw .unsupportedAlgorithm(header.alg) }
        guard let current = try await currentKeys(needing: header.kid) else { throw .noKeys }
        let kid: String
        if let named = header.kid {
            guard current.kinds[named] != nil else { throw .unknownKeyID(named) }
            kid = named
        } else {
            guard current.kinds.count == 1, let only = current.kinds.keys.first else { throw .unknownKeyID("") }
            kid = only
        }
        guard current.kinds[kid] == family else { throw .unsupportedAlgorithm(header.alg) }
        let claims: TokenClaims
        do {
            claims = try await current.collection.verify(token, as: TokenClaims.self)
        } catch {
            throw .badSignature
        }
        return try check(claims)
    }

    private func currentKeys(needing kid: String?) async throws(TokenFailure) -> KeySet? {
        let (keys, mayRefetch) = state.withLock { state -> (KeySet?, Bool) in
            let known = kid.map { state.keys?.kinds[$0] != nil } ?? (state.keys != nil)
            let last = state.lastFetch
            let due = last.map { $0.duration(to: clock.now) >= settings.minimumRefetchInterval } ?? true
            return (state.keys, !known && due)
        }
        guard mayRefetch else { return keys }
        do {
            try await refresh()
        } catch {
            logger.warning("cannot reload the JWKS for an unknown kid", metadata: ["error": "\(error)"])
        }
        return state.withLock { $0.keys }
    }

    private func check(_ claims: TokenClaims) throws(TokenFailure) -> (subject: String, grant: AccessGrant) {
        let now = wallClock()
        let leeway = settings.leeway.milliseconds / 1000
        guard let expiry = claims.number("exp") else { throw .missingExpiry }
        if now > expiry + leeway { throw .expired }
        if let notBefore = claims.number("nbf"), now + leeway < notBefore { throw .notYetValid }
        if let issuer = settings.issuer, claims.strings("iss") != [issuer] { throw .wrongIssuer }
        if let audience = settings.audience, !(claims.strings("aud") ?? []).contains(audience) { throw .wrongAudience }
        let streams = Self.words(claims.strings(settings.streamsClaim)).compactMap(StreamPattern.init)
        let scopes = Self.words(claims.strings(settings.scopesClaim)).compactMap(AccessScope.init(rawValue:))
        return (claims.strings("sub")?.first ?? "", AccessGrant(streams: streams, scopes: Set(scopes)))
    }

    /// A list claim, or one space-separated string, as its words.
    private static func words(_ values: [String]?) -> [String] {
        (values ?? []).flatMap { $0.split(separator: " ").map(String.init) }
    }

    // MARK: Parsing

    private struct Header {
        var alg: String
        var kid: String?
    }

    private static func header(of token: String) throws(TokenFailure) -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 16_384, let bytes = base64URLDecode(parts[0]),
            let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
            let alg = object["alg"] as? String
        else { throw .malformed }
        return Header(alg: alg, kid: object["kid"] as? String)
    }

    /// The key type an algorithm needs; nil for algorithms not accepted (`none` among them).
    static func keyFamily(ofAlgorithm alg: String) -> String? {
        switch alg {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": "RSA"
        case "ES256", "ES384", "ES512": "EC"
        case "EdDSA", "Ed25519": "OKP"
        case "HS256", "HS384", "HS512": "oct"
        default: nil
        }
    }

    private static func keySet(_ document: String) async throws -> KeySet {
        guard let object = try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any],
            let entries = object["keys"] as? [[String: Any]]
        else { throw JWKSError(description: "the JWKS is not a JSON object with a 'keys' list") }
        let collection = JWTKeyCollection()
        var kinds: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            guard let kid = entry["kid"] as? String, !kid.isEmpty else {
                throw JWKSError(description: "key \(index) of the JWKS has no 'kid'")
            }
            guard let kty = entry["kty"] as? String, ["RSA", "EC", "OKP", "oct"].contains(kty) else {
                throw JWKSError(description: "key '\(kid)' has an unsupported 'kty'")
            }
            if kty == "oct" {
                guard let secret = (entry["k"] as? String).flatMap({ base64URLDecode($0[...]) }), secret.count >= 32 else {
                    throw JWKSError(description: "HMAC key '\(kid)' needs 'k' of at least 32 bytes")
                }
                let digest: DigestAlgorithm =
                    switch entry["alg"] as? String {
                    case "HS384": .sha384
                    case "HS512": .sha512
                    default: .sha256
                    }
                await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: digest, kid: JWKIdentifier(string: kid))
            } else {
                do {
                    let jwk = try JSONDecoder().decode(JWK.self, from: JSONSerialization.data(withJSONObject: entry))
                    try await collection.add(jwk: jwk)
                } catch {
                    throw JWKSError(description: "key '\(kid)' cannot be read: \(error)")
                }
            }
            kinds[kid] = kty
        }
        return KeySet(collection: collection, kinds: kinds)
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

/// A token's claims, decoded without a fixed schema: strings, lists of strings and numbers, by name.
struct TokenClaims: JWTPayload {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private var texts: [String: [String]] = [:]
    private var numbers: [String: Double] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if let text = try? container.decode(String.self, forKey: key) {
                texts[key.stringValue] = [text]
            } else if let list = try? container.decode([String].self, forKey: key) {
                texts[key.stringValue] = list
            } else if let number = try? container.decode(Double.self, forKey: key) {
                numbers[key.stringValue] = number
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, values) in texts { try container.encode(values, forKey: Key(stringValue: name)) }
        for (name, value) in numbers { try container.encode(value, forKey: Key(stringValue: name)) }
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    func strings(_ name: String) -> [String]? { texts[name] }
    func number(_ name: String) -> Double? { numbers[name] }
}
