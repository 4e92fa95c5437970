internal import Foundation
internal import Yams

/// `auth:`, `limits:` and the per-stream and per-key `rate_limit:` (docs/edge.md).
extension ConfigurationDecoder {
    func decodeAuth(_ map: MappingReader) -> AuthConfiguration {
        var auth = AuthConfiguration()
        if let node = map.take("api_keys") {
            let path = map.path.key("api_keys")
            switch node {
            case .sequence(let items):
                var firstIndex: [String: Int] = [:]
                for (index, item) in items.enumerated() {
                    guard let key = decodeAPIKey(item, path.index(index)) else { continue }
                    if let first = firstIndex[key.name] {
                        context.error(
                            path.index(index).key("name"), "duplicate key name '\(key.name)' (already used at \(path.index(first)))",
                            at: item.mark)
                        continue
                    }
                    firstIndex[key.name] = index
                    auth.apiKeys.append(key)
                }
            case .scalar(let scalar) where DecodingContext.isNull(scalar):
                break
            default:
                context.error(path, "expected a list of API keys, got \(DecodingContext.describe(node))", at: node.mark)
            }
        }
        if let anonymous = map.mapping("anonymous") {
            auth.anonymous = decodeGrant(anonymous)
            anonymous.finish()
        }
        if let jwt = map.mapping("jwt") { auth.jwt = decodeJWT(jwt) }
        map.finish()
        return auth
    }

    private func decodeJWT(_ map: MappingReader) -> JWTConfiguration? {
        var file: String?
        map.optionalString("jwks_file", into: &file)
        var url: String?
        map.optionalString("jwks_url", into: &url) { value in
            value.hasPrefix("http://") || value.hasPrefix("https://")
                ? [] : ["expected an http:// or https:// url, got '\(DecodingContext.shorten(value))'"]
        }
        var issuer: String?
        map.optionalString("issuer", into: &issuer)
        var audience: String?
        map.optionalString("audience", into: &audience)
        var leeway = 60
        map.integer("leeway_s", .between(0, 3600), into: &leeway)
        var streamsClaim = "streams"
        map.string("streams_claim", into: &streamsClaim)
        var scopesClaim = "scope"
        map.string("scopes_claim", into: &scopesClaim)
        var refresh = 300
        map.integer("jwks_refresh_s", .between(10, 86_400), into: &refresh)
        map.finish()
        let source: JWTConfiguration.KeySource
        switch (file, url) {
        case (let file?, nil): source = .file(file)
        case (nil, let url?): source = .url(url)
        case (_?, _?):
            context.error(map.path, "give either 'jwks_file' or 'jwks_url', not both", at: map.mark)
            return nil
        case (nil, nil):
            context.error(map.path, "JWT verification needs 'jwks_file' or 'jwks_url'", at: map.mark)
            return nil
        }
        if audience == nil {
            context.warning(
                map.path.key("audience"), "without 'audience', tokens the issuer minted for other services are accepted too", at: map.mark)
        }
        var jwt = JWTConfiguration(keys: source, issuer: issuer, audience: audience)
        jwt.leewaySeconds = leeway
        jwt.streamsClaim = streamsClaim
        jwt.scopesClaim = scopesClaim
        jwt.jwksRefreshSeconds = refresh
        return jwt
    }

    private func decodeAPIKey(_ node: Node, _ path: ConfigPath) -> APIKeyConfiguration? {
        guard let map = MappingReader.open(node, path, context, expected: "an API key mapping (name, sha256 or key_env, streams, scopes)")
        else { return nil }
        let name = map.requiredString("name", validate: Self.keyNameProblems)
        var hash: String?
        map.optionalString("sha256", into: &hash, validate: Self.sha256Problems)
        var variable: String?
        map.optionalString("key_env", into: &variable, validate: Self.environmentNameProblems)
        let grant = decodeGrant(map)
        var rateLimit: RateLimitConfiguration?
        if let limitNode = map.take("rate_limit"), !Self.isNull(limitNode) {
            rateLimit = decodeRateLimit(limitNode, path.key("rate_limit"), allowShardAdmission: false)
        }
        map.finish()
        let secret: APIKeyConfiguration.Secret
        switch (hash, variable) {
        case (let hash?, nil):
            secret = .sha256(hash.lowercased())
        case (nil, let variable?):
            guard context.environment[variable].map({ !$0.isEmpty }) == true else {
                context.error(path.key("key_env"), "the environment variable '\(variable)' is not set or empty", at: map.take("key_env")?.mark)
                return nil
            }
            secret = .environment(variable)
        case (nil, nil):
            context.error(path, "an API key needs 'sha256' (the key's SHA-256 in hex) or 'key_env' (a variable holding the key)", at: map.mark)
            return nil
        case (_?, _?):
            context.error(path, "give either 'sha256' or 'key_env', not both", at: map.mark)
            return nil
        }
        guard let name else { return nil }
        return APIKeyConfiguration(name: name, secret: secret, grant: grant, rateLimit: rateLimit)
    }

    /// `streams` and `scopes` of a key or of `anonymous`.
    private func decodeGrant(_ map: MappingReader) -> AccessGrantConfiguration {
        var grant = AccessGrantConfiguration()
        grant.streams = stringList(map, "streams", expected: "a list of stream patterns ('team/app', 'team/*', '*')") { value, path, mark in
            if let problem = Self.streamPatternProblem(value) { context.error(path, problem, at: mark) } else { return value }
            return nil
        }
        grant.scopes = stringList(map, "scopes", expected: "a list of scopes") { value, path, mark in
            if AccessGrantConfiguration.scopeNames.contains(value) { return value }
            var message = "expected one of \(AccessGrantConfiguration.scopeNames.map(DecodingContext.quote).joined(separator: ", ")), got '\(value)'"
            if let suggestion = suggestion(for: value, among: AccessGrantConfiguration.scopeNames) { message += " (did you mean '\(suggestion)'?)" }
            context.error(path, message, at: mark)
            return nil
        }
        return grant
    }

    func stringList(
        _ map: MappingReader, _ key: String, expected: String, _ check: (String, ConfigPath, Mark?) -> String?
    ) -> [String] {
        guard let node = map.take(key) else { return [] }
        let path = map.path.key(key)
        switch node {
        case .sequence(let items):
            return items.enumerated().compactMap { index, item in
                guard let value = context.string(item, path.index(index), validate: nonEmpty) else { return nil }
                return check(value, path.index(index), item.mark)
            }
        case .scalar(let scalar) where DecodingContext.isNull(scalar):
            return []
        default:
            context.error(path, "expected \(expected), got \(DecodingContext.describe(node))", at: node.mark)
            return []
        }
    }

    func decodeCORS(_ map: MappingReader) -> CORSConfiguration {
        var cors = CORSConfiguration()
        cors.allowedOrigins = stringList(map, "allowed_origins", expected: "a list of origins ('https://shop.example.com', '*')") {
            value, path, mark in
            if let problem = Self.originProblem(value) { context.error(path, problem, at: mark) } else { return value }
            return nil
        }
        cors.allowedHeaders = stringList(map, "allowed_headers", expected: "a list of header names") { value, path, mark in
            let isToken = value.utf8.allSatisfy { Self.isASCIIAlphanumeric($0) || "!#$%&'*+-.^_`|~".utf8.contains($0) }
            if isToken { return value }
            context.error(path, "'\(DecodingContext.shorten(value))' is not a valid HTTP header name", at: mark)
            return nil
        }
        map.integer("max_age_s", .between(0, 86_400), into: &cors.maxAgeSeconds)
        map.finish()
        if cors.allowedOrigins.isEmpty {
            context.warning(map.path.key("allowed_origins"), "no origin is allowed, so browsers still block every cross-origin call", at: map.mark)
        }
        return cors
    }

    /// `*`, or `scheme://host[:port]` without a path; nil when valid.
    static func originProblem(_ value: String) -> String? {
        if value == "*" { return nil }
        guard let schemeEnd = value.range(of: "://"), ["http", "https"].contains(value[..<schemeEnd.lowerBound].lowercased()) else {
            return "expected an origin such as 'https://shop.example.com' (or '*'), got '\(DecodingContext.shorten(value))'"
        }
        let rest = value[schemeEnd.upperBound...]
        if rest.isEmpty || rest.contains("/") || rest.contains("?") || rest.contains("#") {
            return "an origin is 'scheme://host[:port]' with no path, got '\(DecodingContext.shorten(value))'"
        }
        return nil
    }

    /// A `rate_limit:` or `limits:` mapping; `limits:` also knows `kinesis_shard_admission`, not built yet.
    func decodeRateLimit(_ node: Node, _ path: ConfigPath, allowShardAdmission: Bool) -> RateLimitConfiguration? {
        guard let map = MappingReader.open(node, path, context, expected: "a rate limit mapping (events_per_second, burst, bytes_per_second)")
        else { return nil }
        var limit = RateLimitConfiguration()
        if map.contains("events_per_second") {
            var rate = 0.0
            if map.number("events_per_second", .between(0.001, 10_000_000), into: &rate) { limit.eventsPerSecond = rate }
        }
        map.optionalInteger("burst", .between(1, 100_000_000), into: &limit.burst)
        map.optionalInteger("bytes_per_second", .between(1, 10_995_116_277_760), into: &limit.bytesPerSecond)
        if allowShardAdmission {
            map.unsupported("kinesis_shard_admission", "'kinesis_shard_admission' is not supported by this version")
        }
        map.finish()
        if limit.burst != nil, limit.eventsPerSecond == nil {
            context.error(path.key("burst"), "'burst' needs 'events_per_second'", at: map.mark)
        }
        if limit.eventsPerSecond == nil, limit.bytesPerSecond == nil {
            context.error(path, "a rate limit needs 'events_per_second' or 'bytes_per_second'", at: map.mark)
            return nil
        }
        return limit
    }

    static func keyNameProblems(_ value: String) -> [String] {
        if value.isEmpty { return ["must not be empty"] }
        if value.utf8.count > 64 { return ["is longer than 64 bytes"] }
        let allowed = value.utf8.allSatisfy {
            isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
        return allowed ? [] : ["use letters, digits, '-', '_' and '.' only (it is a metric label)"]
    }

    static func sha256Problems(_ value: String) -> [String] {
        let isHex =
            value.utf8.count == 64
            && value.utf8.allSatisfy { byte in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
            }
        return isHex ? [] : ["expected the key's SHA-256 as 64 hex digits (`printf %s KEY | sha256sum`)"]
    }

    static func environmentNameProblems(_ value: String) -> [String] {
        let valid = !value.isEmpty && value.utf8.allSatisfy { isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "_") }
        return valid ? [] : ["expected an environment variable name (letters, digits, '_')"]
    }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// `team/app`, `team/*` or `*`; nil when valid.
    static func streamPatternProblem(_ value: String) -> String? {
        if value == "*" { return nil }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != "*" else {
            return "expected a stream pattern 'team/app', 'team/*' or '*', got '\(DecodingContext.shorten(value))'"
        }
        if parts[1] != "*", parts[1].contains("*") {
            return "'*' stands for a whole app name ('team/*'), got '\(DecodingContext.shorten(value))'"
        }
        return nil
    }
}
