import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

// JWT bearer tokens through the built `sluice` binary: tokens and keys made by joserfc (jwt_peer.py), the JWKS served
// over HTTP by the test, the gateway's verdict read from its answers.

private let jwtPeerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("jwt_peer.py").path

private func runJWTPeer(_ arguments: [String]) throws -> String {
    let result = try runCommand("python3", [jwtPeerScript] + arguments)
    guard result.status == 0 else {
        throw PeerProcessError(message: "jwt_peer.py \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.errors)")
    }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("Edge access: JWT bearer tokens against a JWKS served over HTTP, through the binary", .serialized)
struct EdgeTokenTests {
    static let issuer = "https://idp.test"
    static let audience = "sluice-ingest"

    static func config(jwksURL: String) -> String {
        """
        streams:
          - {team: shop, app: orders}
          - {team: web, app: clicks}
        durability:
          dir: ./wal
        archive:
          url: file://./archive
        auth:
          jwt: {jwks_url: "\(jwksURL)", issuer: "\(issuer)", audience: \(audience), leeway_s: 30}
        """
    }

    static func event(_ stream: String) -> String {
        let parts = stream.split(separator: "/")
        return "{\"team\":\"\(parts[0])\",\"app\":\"\(parts[1])\",\"payload\":{\"n\":1}}"
    }

    @Test("valid tokens of every algorithm pass; expired, early, foreign, unsigned and forged ones are refused; a rotated key is picked up")
    func tokens() async throws {
        let directory = try makeTemporaryDirectory("sluice-jwt")
        let keys = directory.appendingPathComponent("jwks")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        _ = try runJWTPeer(["keys", keys.path])
        let port = try freeLoopbackPort()
        let server = try TestProcess(
            TestProcess.Command("python3", [jwtPeerScript, "serve", keys.path, String(port)]), log: directory.appendingPathComponent("jwks.log"))
        defer { server.stop() }
        try server.waitUntil(timeout: .seconds(20), "serving the JWKS") { isListening(port: port) }
        let process = try SluiceProcess(directory: directory, config: Self.config(jwksURL: "http://127.0.0.1:\(port)/jwks.json"))
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let tokens = try #require(
            try JSONSerialization.jsonObject(with: Data(try runJWTPeer(["tokens", keys.path, Self.issuer, Self.audience]).utf8)) as? [String: String])

        func post(_ token: String, _ stream: String = "shop/orders") async throws -> GatewayClient.Reply {
            try await client.send(.POST, "/v1/events", body: Self.event(stream), headers: [("Authorization", "Bearer \(token)")])
        }
        for name in ["rs256", "es256", "eddsa", "hs256", "audience-list", "within-leeway"] {
            let reply = try await post(try #require(tokens[name]))
            #expect(reply.status == 202, "\(name): \(reply.status) \(reply.body)")
        }
        let refusals: [(String, String)] = [
            ("expired", "the token has expired"), ("not-yet-valid", "the token is not valid yet (nbf)"),
            ("no-expiry", "the token has no 'exp' claim"), ("wrong-audience", "the token is not meant for this audience"),
            ("wrong-issuer", "the token's issuer is not accepted"), ("unknown-kid", "no key 'nope' is in the key set"),
            ("algorithm-mismatch", "the token's algorithm 'RS256' is not accepted"), ("wrong-signature", "the token's signature is not valid"),
            ("alg-none", "the token's algorithm 'none' is not accepted"), ("hmac-with-public-key", "the token's algorithm 'HS256' is not accepted"),
        ]
        for (name, detail) in refusals {
            let reply = try await post(try #require(tokens[name]))
            #expect(reply.status == 401, "\(name): \(reply.status) \(reply.body)")
            #expect(reply.object["detail"] as? String == detail, "\(name): \(reply.body)")
            #expect(reply.header("WWW-Authenticate") == #"Bearer realm="sluice", error="invalid_token""#, "\(name)")
        }
        // Claims grant streams and scopes: another stream, or a scope the token lacks, is 403.
        let other = try await post(try #require(tokens["other-stream"]))
        #expect(other.status == 403, "\(other.body)")
        let readOnly = try await post(try #require(tokens["no-scope"]))
        #expect(readOnly.status == 403, "\(readOnly.body)")
        let read = try await client.send(
            .GET, "/v1/streams/shop/orders/events", headers: [("Authorization", "Bearer \(try #require(tokens["no-scope"]))")])
        #expect(read.status == 200, "\(read.body)")
        // No token is ever logged.
        for (name, token) in tokens { #expect(!process.log.contains(token), "the log holds the \(name) token") }

        // Rotation: the set now holds only a new key; a token naming it makes the gateway read the set again (at
        // most every 5 s), and the old key's tokens stop working.
        let rotated = try runJWTPeer(["rotate", keys.path, Self.issuer, Self.audience])
        var last = GatewayClient.Reply(status: 0, headers: [], body: "")
        let pickedUp = try await eventually(timeout: .seconds(30)) {
            last = try await post(rotated)
            return last.status == 202
        }
        #expect(pickedUp, "the rotated key's token: \(last.status) \(last.body)")
        let old = try await post(try #require(tokens["rs256"]))
        #expect(old.status == 401, "a token of the removed key: \(old.status) \(old.body)")
    }
}
