import Foundation
import GatewayConfig
import JSONSchema
import Testing

@Suite("auth:, limits: and rate_limit:")
struct ConfigurationEdgeTests {
    static let hash = String(repeating: "ab", count: 32)

    @Test("keys, grants, anonymous access and the rate limits are read")
    func decoded() throws {
        let yaml = """
            streams:
              - {team: shop, app: orders, rate_limit: {events_per_second: 50, burst: 100}}
            auth:
              api_keys:
                - {name: web, sha256: \(Self.hash.uppercased()), streams: ["shop/*"], scopes: [ingest, confirmed], rate_limit: {bytes_per_second: 1000}}
                - {name: ops, key_env: OPS_KEY, streams: ["*"], scopes: [admin]}
              anonymous: {streams: [web/clicks], scopes: [ingest]}
              jwt: {jwks_url: "http://127.0.0.1:9/jwks.json", issuer: idp, audience: sluice, streams_claim: sluice_streams}
            limits: {events_per_second: 0.5}
            """
        let report = Configuration.load(yaml: yaml, environment: ["OPS_KEY": "secret"])
        #expect(report.errors == [])
        let configuration = try #require(report.configuration)
        let auth = try #require(configuration.auth)
        #expect(
            auth.apiKeys == [
                APIKeyConfiguration(
                    name: "web", secret: .sha256(Self.hash), grant: AccessGrantConfiguration(streams: ["shop/*"], scopes: ["ingest", "confirmed"]),
                    rateLimit: RateLimitConfiguration(bytesPerSecond: 1000)),
                APIKeyConfiguration(name: "ops", secret: .environment("OPS_KEY"), grant: AccessGrantConfiguration(streams: ["*"], scopes: ["admin"])),
            ])
        #expect(auth.anonymous == AccessGrantConfiguration(streams: ["web/clicks"], scopes: ["ingest"]))
        var jwt = JWTConfiguration(keys: .url("http://127.0.0.1:9/jwks.json"), issuer: "idp", audience: "sluice")
        jwt.streamsClaim = "sluice_streams"
        #expect(auth.jwt == jwt)
        #expect(configuration.limits == RateLimitConfiguration(eventsPerSecond: 0.5))
        #expect(configuration.streams.first?.rateLimit == RateLimitConfiguration(eventsPerSecond: 50, burst: 100))
        // No `auth:` section: no authentication at all.
        #expect(Configuration.load(yaml: "streams: [{team: a, app: b}]", environment: [:]).configuration?.auth == nil)
    }

    @Test("every mistake is named with its path")
    func problems() {
        let yaml = """
            auth:
              api_keys:
                - {name: web, sha256: abc, streams: ["shop"], scopes: [ingset]}
                - {name: web, sha256: \(Self.hash), streams: ["*/x"], scopes: [read]}
                - {name: "no spaces", key_env: MISSING_KEY}
                - {name: both, sha256: \(Self.hash), key_env: OPS_KEY}
                - {name: neither}
              anonymous: {streams: ["a/b*"], scopes: [ingest]}
              jwt: {jwks_file: keys.json, jwks_url: "https://idp/keys", leeway_s: 99999}
            limits: {burst: 3, kinesis_shard_admission: true}
            """
        let report = Configuration.load(yaml: yaml, environment: ["OPS_KEY": "k"])
        #expect(report.configuration == nil)
        let found = report.errors.map { "\($0.path): \($0.message)" }
        let expected = [
            "auth.api_keys[0].sha256: expected the key's SHA-256 as 64 hex digits (`printf %s KEY | sha256sum`)",
            "auth.api_keys[0].streams[0]: expected a stream pattern 'team/app', 'team/*' or '*', got 'shop'",
            "auth.api_keys[0].scopes[0]: expected one of 'ingest', 'confirmed', 'read', 'admin', got 'ingset' (did you mean 'ingest'?)",
            "auth.api_keys[1].streams[0]: expected a stream pattern 'team/app', 'team/*' or '*', got '*/x'",
            "auth.api_keys[2].name: use letters, digits, '-', '_' and '.' only (it is a metric label)",
            "auth.api_keys[2].key_env: the environment variable 'MISSING_KEY' is not set or empty",
            "auth.api_keys[3]: give either 'sha256' or 'key_env', not both",
            "auth.api_keys[4]: an API key needs 'sha256' (the key's SHA-256 in hex) or 'key_env' (a variable holding the key)",
            "auth.anonymous.streams[0]: '*' stands for a whole app name ('team/*'), got 'a/b*'",
            "auth.jwt.leeway_s: 99999 is out of range 0…3600",
            "auth.jwt: give either 'jwks_file' or 'jwks_url', not both",
            "limits.kinesis_shard_admission: 'kinesis_shard_admission' is not supported by this version",
            "limits.burst: 'burst' needs 'events_per_second'",
            "limits: a rate limit needs 'events_per_second' or 'bytes_per_second'",
        ]
        for message in expected {
            #expect(found.contains(message), "missing problem: \(message)\nfound:\n\(found.joined(separator: "\n"))")
        }
        // The duplicate name is reported only when both entries are otherwise valid.
        let duplicate = Configuration.load(
            yaml: "auth:\n  api_keys:\n    - {name: a, sha256: \(Self.hash)}\n    - {name: a, sha256: \(Self.hash)}\n", environment: [:])
        #expect(duplicate.errors.map(\.message) == ["duplicate key name 'a' (already used at auth.api_keys[0])"])
    }

    @Test("schema: inline YAML, inline JSON text or a file, compiled at load; mistakes named with their path")
    func schemas() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-schema-\(UUID().uuidString).json")
        try #"{"type": "object", "required": ["id"]}"#.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let yaml = """
            streams:
              - {team: a, app: yaml, schema: {inline: {type: object, properties: {n: {type: integer, minimum: 1}, s: {const: "1"}}}}}
              - {team: a, app: json, schema: {draft: draft-07, inline: '{"type": "array"}'}}
              - {team: a, app: file, schema: {file: \(file.path)}, on_invalid: dead_letter, errors_stream: a/errors}
              - {team: a, app: errors}
            """
        let configuration = try loadValid(yaml)
        let yamlSchema = try #require(configuration.streams[0].schema)
        #expect(yamlSchema.compiled.isValid(try JSONValue(parsing: #"{"n": 2, "s": "1"}"#)))
        #expect(!yamlSchema.compiled.isValid(try JSONValue(parsing: #"{"n": 0}"#)))
        #expect(!yamlSchema.compiled.isValid(try JSONValue(parsing: #"{"s": 1}"#)), "a quoted YAML scalar stays a string")
        #expect(configuration.streams[1].schema?.draft == .draft7)
        #expect(configuration.streams[2].schema?.origin == "file '\(file.path)'")
        #expect(configuration.streams[2].onInvalid == .deadLetter)
        #expect(configuration.streams[2].errorsStream == StreamReference(team: "a", app: "errors"))

        let bad = """
            streams:
              - {team: a, app: one, schema: {inline: {type: object, pattern: "("}}}
              - {team: a, app: two, schema: {file: /nonexistent/schema.json}}
              - {team: a, app: three, schema: {inline: {type: 5}}, on_invalid: dead_letter}
              - {team: a, app: four, schema: {inline: {}}, on_invalid: dead_letter, errors_stream: a/nowhere}
              - {team: a, app: five, schema: {inline: {}, draft: draft-06}}
            """
        let found = load(bad).errors.map { "\($0.path): \($0.message)" }
        for prefix in [
            "streams[0].schema: the schema (inline) is not valid:", "streams[1].schema.file: cannot read the schema file '/nonexistent/schema.json'",
            "streams[2].schema: the schema (inline) is not valid:",
            "streams[2].on_invalid: 'dead_letter' needs 'errors_stream' (the stream that keeps refused events)",
            "streams[3].errors_stream: 'a/nowhere' is not a configured stream", "streams[4].schema.draft: expected one of '",
        ] {
            #expect(found.contains { $0.hasPrefix(prefix) }, "missing: \(prefix)\nfound:\n\(found.joined(separator: "\n"))")
        }
    }
}
