import AsyncHTTPClient
import CoreMetrics
import EdgeAccess
import Foundation
import GatewayConfig
import GatewayCore
import GatewayHTTP
import Logging
import NIOCore
import NIOHTTP1

/// Maps `auth:`, `limits:` and the `rate_limit:`s onto the edge's access policy and rate limiter. A `key_env`
/// variable is read and hashed here, once; the key itself is kept nowhere.
func makeEdgeAccess(
    configuration: Configuration, environment: [String: String], clock: any Clock<Duration>, metrics: any MetricsFactory,
    logger: Logger
) -> EdgeAccessControl {
    func grant(_ grant: AccessGrantConfiguration) -> AccessGrant {
        AccessGrant(streams: grant.streams.compactMap(StreamPattern.init), scopes: Set(grant.scopes.compactMap(AccessScope.init(rawValue:))))
    }
    func limit(_ limit: RateLimitConfiguration) -> RateLimit {
        RateLimit(eventsPerSecond: limit.eventsPerSecond, burst: limit.burst, bytesPerSecond: limit.bytesPerSecond)
    }
    var policy = AccessPolicy.disabled
    var keyLimits: [String: RateLimit] = [:]
    if let auth = configuration.auth {
        let keys = auth.apiKeys.compactMap { key -> APIKey? in
            let hash: [UInt8]
            switch key.secret {
            case .sha256(let hex):
                guard let bytes = APIKey.digest(hex: hex) else { return nil }
                hash = bytes
            case .environment(let variable):
                guard let value = environment[variable], !value.isEmpty else { return nil }
                hash = APIKey.hash(value)
            }
            if let rateLimit = key.rateLimit { keyLimits[key.name] = limit(rateLimit) }
            return APIKey(name: key.name, sha256: hash, grant: grant(key.grant))
        }
        policy = AccessPolicy(
            keys: keys, anonymous: auth.anonymous.map(grant) ?? .none,
            tokens: auth.jwt.map { makeJWTVerifier($0, clock: clock, logger: logger) })
    }
    var streamLimits: [String: RateLimit] = [:]
    for stream in configuration.streams {
        if let rateLimit = stream.rateLimit { streamLimits["\(stream.team)/\(stream.app)"] = limit(rateLimit) }
    }
    let limiter = RateLimiter(
        gateway: configuration.limits.map(limit), streams: streamLimits, keys: keyLimits, clock: ElapsedClock(clock))
    return EdgeAccessControl(policy: policy, limiter: limiter, factory: metrics)
}

/// The JWT verifier of `auth.jwt`, reading its JWKS from the file or the URL (a service of the application: it
/// reloads the set every `jwks_refresh_s`).
private func makeJWTVerifier(_ jwt: JWTConfiguration, clock: any Clock<Duration>, logger: Logger) -> JWTVerifier {
    let settings = JWTSettings(
        issuer: jwt.issuer, audience: jwt.audience, leeway: .seconds(jwt.leewaySeconds), streamsClaim: jwt.streamsClaim,
        scopesClaim: jwt.scopesClaim, refreshInterval: .seconds(jwt.jwksRefreshSeconds))
    let load: @Sendable () async throws -> String
    switch jwt.keys {
    case .file(let path):
        load = {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count <= maxJWKSBytes else { throw JWKSError(description: "'\(path)' is larger than 1 MiB") }
            return String(decoding: data, as: UTF8.self)
        }
    case .url(let url):
        load = {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            guard response.status == .ok else { throw JWKSError(description: "\(url) answered \(response.status.code)") }
            return String(buffer: try await response.body.collect(upTo: maxJWKSBytes))
        }
    }
    var jwksLogger = logger
    jwksLogger[metadataKey: "component"] = "jwks"
    return JWTVerifier(
        settings: settings, load: load, wallClock: { Date().timeIntervalSince1970 }, clock: ElapsedClock(clock), logger: jwksLogger)
}

private let maxJWKSBytes = 1 << 20
