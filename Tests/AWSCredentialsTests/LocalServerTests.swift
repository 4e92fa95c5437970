import AWSSigV4
import Foundation
import NIOHTTP1
import Testing

@testable import AWSCredentials

private let credentialsJSON = """
    {"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"container-secret","Token":"container-token","Expiration":"2099-01-01T00:00:00Z","RoleArn":"arn:aws:iam::1:role/task"}
    """

/// IMDSv2 exactly as documented: PUT /latest/api/token with a TTL header issues a token; every
/// GET must carry it in X-aws-ec2-metadata-token or gets 401.
private func imdsV2Handler(_ request: RecordedRequest) -> StubResponse? {
    let token = "imds-session-token-123"
    if request.path == "/latest/api/token" {
        guard request.method == "PUT" else { return StubResponse(status: .methodNotAllowed, body: "") }
        guard let ttl = request.headers.first(name: "X-aws-ec2-metadata-token-ttl-seconds"), let seconds = Int(ttl),
            (1...21600).contains(seconds)
        else { return StubResponse(status: .badRequest, body: "missing or invalid TTL") }
        return StubResponse(status: .ok, body: token)
    }
    guard request.method == "GET" else { return StubResponse(status: .methodNotAllowed, body: "") }
    guard request.headers.first(name: "X-aws-ec2-metadata-token") == token else {
        return StubResponse(status: .unauthorized, body: "")
    }
    switch request.path {
    case "/latest/meta-data/iam/security-credentials/":
        return StubResponse(status: .ok, body: "web-role\n")
    case "/latest/meta-data/iam/security-credentials/web-role":
        return StubResponse(
            status: .ok,
            body: """
                {"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-token","Expiration":"2099-01-01T00:00:00Z"}
                """, contentType: "application/json")
    default:
        return StubResponse(status: .notFound, body: "")
    }
}

@Suite("Against an in-process HTTP server")
struct LocalServerTests {
    @Test func imdsV2SendsTheSessionTokenOnEveryGet() async throws {
        let server = try await StubHTTPServer.start(imdsV2Handler)
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }

        let chain = makeChain(["HOME": dir.path, "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint])
        let credential = try await chain.credential()
        #expect(credential == AWSCredential(accessKeyID: "ASIAIMDS", secretAccessKey: "imds-secret", sessionToken: "imds-token"))
        #expect(chain.sourceName == "imds")
        #expect(await chain.expiration == AWSTimestamp.parse("2099-01-01T00:00:00Z"))
        let requests = server.requests
        #expect(
            requests.map { "\($0.method) \($0.path)" } == [
                "PUT /latest/api/token",
                "GET /latest/meta-data/iam/security-credentials/",
                "GET /latest/meta-data/iam/security-credentials/web-role",
            ])
        #expect(requests[0].headers.first(name: "X-aws-ec2-metadata-token-ttl-seconds") == "21600")
        #expect(requests.dropFirst().allSatisfy { $0.headers.first(name: "X-aws-ec2-metadata-token") == "imds-session-token-123" })
    }

    @Test func imdsStubRejectsGetWithoutToken() async throws {
        // The stub really enforces IMDSv2, so the test above proves the header is sent.
        #expect(
            imdsV2Handler(RecordedRequest(method: "GET", path: "/latest/meta-data/iam/security-credentials/", headers: [:], body: ""))?.status
                == .unauthorized)
    }

    @Test func imdsWithoutRoleAndUnreachableIMDSAreClearErrors() async throws {
        let server = try await StubHTTPServer.start { request in
            request.method == "PUT" ? StubResponse(status: .ok, body: "t") : StubResponse(status: .notFound, body: "")
        }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let noRole = await captureError {
            try await makeChain(["HOME": dir.path, "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint]).credential()
        }
        #expect(noRole?.source == "chain")
        #expect(noRole?.message.contains("no IAM role") == true)
        #expect(noRole?.message.contains("environment: AWS_ACCESS_KEY_ID not set") == true)
    }

    @Test func imdsThatNeverAnswersFailsFast() async throws {
        let server = try await StubHTTPServer.start { _ in nil }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let chain = makeChain(
            ["HOME": dir.path, "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint], imdsTimeout: .milliseconds(300))
        // The server never answers: the chain returns (bounded by the IMDS timeout) with an error naming IMDS.
        let error = await captureError { try await chain.credential() }
        #expect(error?.source == "chain")
        #expect(error?.message.contains("imds at \(server.endpoint)") == true)
        #expect(server.requests.count == 1) // gave up after the token request
    }

    @Test func containerFullURIWithAuthorizationToken() async throws {
        let server = try await StubHTTPServer.start { request in
            guard request.path == "/creds" else { return StubResponse(status: .notFound, body: "") }
            guard request.headers.first(name: "Authorization") == "Bearer secret-token" else {
                return StubResponse(status: .unauthorized, body: #"{"code":"Unauthorized","message":"bad token"}"#)
            }
            return StubResponse(status: .ok, body: credentialsJSON, contentType: "application/json")
        }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }

        let chain = makeChain(
            dir.environment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer secret-token",
            ]))
        #expect(
            try await chain.credential()
                == AWSCredential(accessKeyID: "ASIACONTAINER", secretAccessKey: "container-secret", sessionToken: "container-token"))
        #expect(chain.sourceName == "container")
        #expect(await chain.expiration == AWSTimestamp.parse("2099-01-01T00:00:00Z"))

        let wrong = await captureError {
            try await makeChain(
                dir.environment([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong",
                ])
            ).credential()
        }
        #expect(wrong?.source == "container")
        #expect(wrong?.message.contains("HTTP 401") == true)
        #expect(wrong?.message.contains("bad token") == true)
    }

    @Test func containerAuthorizationTokenFileIsReadOnEveryRefresh() async throws {
        let server = try await StubHTTPServer.start { request in
            guard let auth = request.headers.first(name: "Authorization"), auth.hasPrefix("pod-identity-") else {
                return StubResponse(status: .unauthorized, body: "")
            }
            return StubResponse(
                status: .ok,
                body: #"{"AccessKeyId":"ASIA\#(auth.dropFirst(13))","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00.123Z"}"#)
        }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("eks-pod-identity-token", "pod-identity-ONE\n")
        let chain = makeChain(
            dir.environment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-file-is-set",
            ]))
        #expect(try await chain.credential().accessKeyID == "ASIAONE")
        try dir.write("eks-pod-identity-token", "pod-identity-TWO")
        #expect(try await chain.refresh().accessKeyID == "ASIATWO")
        #expect(server.requests.map(\.path) == ["/v1/credentials", "/v1/credentials"])
    }

    @Test func containerRelativeURIUsesTheECSAddress() throws {
        let config = try #require(try ContainerConfig.resolve(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"]))
        #expect(config.url == "http://169.254.170.2/v2/credentials/abc")
        #expect(config.authorization == nil)
        // Relative wins over full, as in the SDKs.
        let both = try #require(
            try ContainerConfig.resolve(environment: [
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/rel", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "https://example.com/full",
            ]))
        #expect(both.url == "http://169.254.170.2/rel")
        #expect(throws: AWSCredentialError.self) {
            try ContainerConfig.validateFullURI("http://10.0.0.1/creds")
        }
        try ContainerConfig.validateFullURI("http://169.254.170.23/v1/credentials")
        try ContainerConfig.validateFullURI("http://[::1]:8080/creds")
        try ContainerConfig.validateFullURI("https://creds.example.com/x")
    }

    @Test func webIdentitySendsTheDocumentedFormAndRereadsTheToken() async throws {
        let server = try await StubHTTPServer.start { request in
            StubResponse(
                status: .ok,
                body: """
                    <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>\
                    <Credentials><AccessKeyId>ASIASTUB\(request.body.count)</AccessKeyId><SecretAccessKey>a&amp;b</SecretAccessKey>\
                    <SessionToken>tok</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                    </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
                    """, contentType: "text/xml")
        }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("token", "first+token/=\n")
        let chain = makeChain(
            dir.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
                "AWS_ENDPOINT_URL_STS": server.endpoint,
            ]))
        let credential = try await chain.credential()
        #expect(credential.secretAccessKey == "a&b")
        try dir.write("token", "second")
        _ = try await chain.refresh()
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests[0].method == "POST")
        #expect(requests[0].path == "/")
        #expect(requests[0].headers.first(name: "Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
        #expect(requests[0].headers.first(name: "Authorization") == nil)
        #expect(
            requests[0].body
                == "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"
                + "&RoleSessionName=sluice-test&WebIdentityToken=first%2Btoken%2F%3D")
        #expect(requests[1].body.hasSuffix("&WebIdentityToken=second"))
    }

    @Test func stsErrorResponseSurfacesCodeAndMessage() async throws {
        let server = try await StubHTTPServer.start { _ in
            StubResponse(
                status: .badRequest,
                body: """
                    <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>\
                    <Code>InvalidIdentityToken</Code><Message>Couldn&apos;t retrieve verification key from your identity provider</Message>\
                    </Error><RequestId>r-1</RequestId></ErrorResponse>
                    """, contentType: "text/xml")
        }
        defer { Task { try? await server.shutdown() } }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("token", "t")
        let error = await captureError {
            try await makeChain(
                dir.environment([
                    "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
                    "AWS_ENDPOINT_URL_STS": server.endpoint,
                ])
            ).credential()
        }
        #expect(error?.source == "web-identity")
        #expect(error?.code == "InvalidIdentityToken")
        #expect(error?.message.contains("Couldn't retrieve verification key") == true)
        #expect(error?.message.contains("arn:aws:iam::123456789012:role/r") == true)
    }

    @Test func unreachableSTSNamesTheEndpoint() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tokenFile = try dir.write("token", "t")
        let error = await captureError {
            try await makeChain(
                dir.environment([
                    "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
                    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
                ]), stsTimeout: .seconds(1)
            ).credential()
        }
        #expect(error?.source == "web-identity")
        #expect(error?.message.contains("http://127.0.0.1:1/") == true)
    }
}

@Suite("Parsers")
struct ParserTests {
    @Test func timestamps() {
        #expect(AWSTimestamp.parse("1970-01-01T00:00:10Z") == Date(timeIntervalSince1970: 10))
        #expect(AWSTimestamp.parse("2026-11-30T12:02:21Z") == Date(timeIntervalSince1970: 1_796_040_141))
        let micro = AWSTimestamp.parse("2026-11-30T12:02:21.667163Z")?.timeIntervalSince1970 ?? 0
        #expect(abs(micro - 1_796_040_141.667163) < 0.000_01)
        #expect(AWSTimestamp.parse("2026-11-30T14:02:21+02:00") == Date(timeIntervalSince1970: 1_796_040_141))
        #expect(AWSTimestamp.parse("2026-11-30T12:02:21") == nil)
        #expect(AWSTimestamp.parse("2026-13-30T12:02:21Z") == nil)
        #expect(AWSTimestamp.parse("not a date") == nil)
    }

    @Test func xmlExtraction() {
        let xml = "<R><CodeX>no</CodeX><Code attr=\"1\">A&lt;B&#x26;C&#65;</Code><Empty/></R>"
        #expect(XMLText.value(of: "Code", in: xml) == "A<B&CA")
        #expect(XMLText.value(of: "Empty", in: xml) == "")
        #expect(XMLText.value(of: "Missing", in: xml) == nil)
        let parsed = STSResponse.error(
            fromXML: "<ErrorResponse><Error><Code>ExpiredTokenException</Code><Message>Token expired</Message></Error></ErrorResponse>")
        #expect(parsed?.code == "ExpiredTokenException")
        #expect(parsed?.message == "Token expired")
        #expect(STSResponse.error(fromXML: "<html>500</html>") == nil)
    }

    @Test func stsSuccessWithoutCredentialsIsAnError() {
        #expect(throws: AWSCredentialError.self) {
            try STSResponse.credentials(fromXML: "<AssumeRoleWithWebIdentityResponse/>", source: "web-identity")
        }
    }

    @Test func metadataJSONErrors() {
        #expect(throws: AWSCredentialError.self) { try MetadataCredentials.parse("not json", source: "imds", url: "u") }
        let failed = #"{"Code":"AssumeRoleUnauthorizedAccess","Message":"denied"}"#
        do {
            _ = try MetadataCredentials.parse(failed, source: "imds", url: "u")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "AssumeRoleUnauthorizedAccess")
        }
    }
}
