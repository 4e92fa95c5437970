import EdgeAccess
import Testing

@Suite("Access policy: API keys, grants, anonymous access")
struct AccessPolicyTests {
    static let policy = AccessPolicy(
        keys: [
            APIKey(
                name: "shop-writer", sha256: APIKey.hash("k1"),
                grant: AccessGrant(streams: [StreamPattern("shop/*")].compactMap { $0 }, scopes: [.ingest])),
            APIKey(
                name: "operator", sha256: APIKey.hash("k2"), grant: AccessGrant(streams: [StreamPattern("*")].compactMap { $0 }, scopes: [.admin])),
        ],
        anonymous: AccessGrant(streams: [StreamPattern("web/clicks")].compactMap { $0 }, scopes: [.ingest]))

    @Test("stream patterns: team/app, team/*, *; anything else is not a pattern")
    func patterns() throws {
        let exact = try #require(StreamPattern("shop/orders"))
        #expect(exact.matches(team: "shop", app: "orders"))
        #expect(!exact.matches(team: "shop", app: "carts"))
        let team = try #require(StreamPattern("shop/*"))
        #expect(team.matches(team: "shop", app: "carts"))
        #expect(!team.matches(team: "shopping", app: "carts"))
        #expect(try #require(StreamPattern("*")).matches(team: "any", app: "thing"))
        for invalid in ["", "shop", "/orders", "shop/", "*/orders", "shop/ord*", "a/b/c"] {
            #expect(StreamPattern(invalid) == nil, "'\(invalid)' should not parse")
        }
        #expect(team.description == "shop/*")
    }

    @Test("a key is found by its hash, from Authorization: Bearer or X-Api-Key")
    func authenticate() async throws {
        #expect(try await Self.policy.authenticate(authorization: "Bearer k1", apiKey: nil) == .apiKey(name: "shop-writer"))
        #expect(try await Self.policy.authenticate(authorization: "bearer   k2 ", apiKey: nil) == .apiKey(name: "operator"))
        #expect(try await Self.policy.authenticate(authorization: nil, apiKey: "k1") == .apiKey(name: "shop-writer"))
        #expect(try await Self.policy.authenticate(authorization: "Bearer k1", apiKey: "k1") == .apiKey(name: "shop-writer"))
        #expect(try await Self.policy.authenticate(authorization: nil, apiKey: nil) == .anonymous)
    }

    @Test(
        "bad credentials are refused with a reason",
        arguments: [
            ("Bearer nope", nil, AuthenticationFailure.unknownKey), ("Basic azE6", nil, .unsupportedScheme), ("Bearer", nil, .unsupportedScheme),
            ("Bearer k1", "k2", .conflictingCredentials), (nil, "k1x", .unknownKey),
        ] as [(String?, String?, AuthenticationFailure)])
    func refused(authorization: String?, apiKey: String?, failure: AuthenticationFailure) async {
        await #expect(throws: failure) { try await Self.policy.authenticate(authorization: authorization, apiKey: apiKey) }
    }

    @Test("decisions: granted, 401 for anonymous, 403 for a known key; anonymous grants apply to keys too")
    func decisions() {
        let writer = Principal.apiKey(name: "shop-writer")
        #expect(Self.policy.decide(writer, .ingest, team: "shop", app: "orders") == .allowed)
        #expect(Self.policy.decide(writer, .confirmed, team: "shop", app: "orders") == .forbidden)
        #expect(Self.policy.decide(writer, .ingest, team: "web", app: "clicks") == .allowed)
        #expect(Self.policy.decide(writer, .ingest, team: "other", app: "x") == .forbidden)
        #expect(Self.policy.decide(.anonymous, .ingest, team: "web", app: "clicks") == .allowed)
        #expect(Self.policy.decide(.anonymous, .ingest, team: "shop", app: "orders") == .credentialsRequired)
        #expect(Self.policy.decide(.anonymous, .read, team: "web", app: "clicks") == .credentialsRequired)
        #expect(Self.policy.decideAnywhere(.apiKey(name: "operator"), .admin) == .allowed)
        #expect(Self.policy.decideAnywhere(writer, .admin) == .forbidden)
        #expect(Self.policy.decideAnywhere(.anonymous, .admin) == .credentialsRequired)
        #expect(AccessPolicy.disabled.decideAnywhere(.anonymous, .admin) == .allowed)
    }

    @Test("a SHA-256 in hex is 64 digits of either case")
    func digest() {
        let hex = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" // sha256("foo")
        #expect(APIKey.digest(hex: hex) == APIKey.hash("foo"))
        #expect(APIKey.digest(hex: hex.uppercased()) == APIKey.hash("foo"))
        #expect(APIKey.digest(hex: String(hex.dropLast())) == nil)
        #expect(APIKey.digest(hex: String(hex.dropLast()) + "g") == nil)
    }
}
