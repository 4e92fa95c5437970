import AWSSigV4
import AsyncHTTPClient
import Foundation
import GatewayTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import AWSCredentials

/// Runs a suite with one `moto_server` for all its tests, stopped afterwards.
struct MotoScope: SuiteTrait, TestScoping {
    @TaskLocal static var server: MotoServer?

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let moto = try MotoServer(logDirectory: makeTemporaryDirectory("moto-credentials"))
        defer { moto.peer.stop() }
        try await Self.$server.withValue(moto) { try await function() }
    }
}

extension Trait where Self == MotoScope {
    /// A moto server for the suite (`MotoScope.server`).
    static var moto: Self { MotoScope() }
}

private func moto() throws -> MotoServer {
    try #require(MotoScope.server, "suite must use the .moto trait")
}

@Suite("Against moto_server", .moto)
struct MotoTests {
    @Test func motoServerHelperIsRunning() async throws {
        let server = try moto()
        #expect(server.peer.port > 0)
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: server.endpoint + "/moto-api/"), timeout: .seconds(10))
        #expect(response.status == .ok)
    }

    @Test func webIdentityFromEnvironmentGetsTemporaryCredentials() async throws {
        let server = try moto()
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
        let chain = makeChain(
            dir.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/test",
                "AWS_ROLE_SESSION_NAME": "moto-session",
                "AWS_ENDPOINT_URL_STS": server.endpoint,
            ]))
        let before = Date()
        let credential = try await chain.credential()
        #expect(credential.accessKeyID.hasPrefix("ASIA"))
        #expect(credential.accessKeyID.count >= 16)
        #expect(!credential.secretAccessKey.isEmpty)
        #expect((credential.sessionToken ?? "").count > 20)
        #expect(chain.sourceName == "web-identity")
        let expiration = try #require(await chain.expiration)
        #expect(expiration > before.addingTimeInterval(600))
        #expect(expiration < before.addingTimeInterval(2 * 3600))
        // Cached: the same credential again, no new session.
        #expect(try await chain.credential() == credential)
        // A forced refresh assumes the role again and gets a different key.
        let refreshed = try await chain.refresh()
        #expect(refreshed.accessKeyID.hasPrefix("ASIA"))
        #expect(refreshed != credential)
    }

    @Test func webIdentityFromProfileUsesGenericEndpointURL() async throws {
        let server = try moto()
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("token", "token-from-profile")
        try dir.write(
            ".aws/config",
            """
            [profile eks]
            role_arn = arn:aws:iam::123456789012:role/test
            web_identity_token_file = \(tokenFile)
            role_session_name = from-profile
            """)
        let chain = makeChain(dir.environment(["AWS_PROFILE": "eks", "AWS_ENDPOINT_URL": server.endpoint]))
        let credential = try await chain.credential()
        #expect(credential.accessKeyID.hasPrefix("ASIA"))
        #expect(credential.sessionToken != nil)
        #expect(chain.sourceName == "profile:eks")
    }

    @Test func imdsV2AgainstMotoInstanceMetadata() async throws {
        let server = try moto()
        let dir = try TempDir()
        defer { dir.cleanup() }
        let chain = makeChain(["HOME": dir.path, "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint + "/"])
        let credential = try await chain.credential()
        #expect(credential == AWSCredential(accessKeyID: "test-key", secretAccessKey: "test-secret-key", sessionToken: "test-session-token"))
        #expect(chain.sourceName == "imds")
        let expiration = try #require(await chain.expiration)
        #expect(expiration > Date().addingTimeInterval(3600))
    }

    @Test func stsErrorDocumentFromMotoIsParsed() async throws {
        // moto accepts any AssumeRoleWithWebIdentity input, so provoke a real STS ErrorResponse with
        // an over-long session name on AssumeRole and parse moto's document.
        let server = try moto()
        var request = HTTPClientRequest(url: server.endpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(
            name: "Authorization",
            value: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0")
        request.body = .bytes(
            ByteBuffer(
                string: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/test&RoleSessionName="
                    + String(repeating: "x", count: 70)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .badRequest)
        let parsed = try #require(STSResponse.error(fromXML: body))
        #expect(parsed.code == "ValidationError")
        #expect(parsed.message.contains("roleSessionName"))
    }
}
