import AWSCredentials
import AWSSigV4
import Testing

@Suite("Default chain: source selection")
struct ChainOrderTests {
    @Test func environmentBeatsProfile() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(".aws/credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = PROFILESECRET\n")
        let chain = makeChain(
            dir.environment(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET", "AWS_SESSION_TOKEN": "ENVTOKEN"]))
        #expect(chain.sourceName == nil)
        let credential = try await chain.credential()
        #expect(credential == AWSCredential(accessKeyID: "ENVKEY", secretAccessKey: "ENVSECRET", sessionToken: "ENVTOKEN"))
        #expect(chain.sourceName == "environment")
        #expect(try chain.configuredSource() == "environment")
    }

    @Test func profileFromDefaultFiles() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(".aws/credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = PROFILESECRET\n")
        let chain = makeChain(dir.environment())
        let credential = try await chain.credential()
        #expect(credential == AWSCredential(accessKeyID: "PROFILEKEY", secretAccessKey: "PROFILESECRET"))
        #expect(chain.sourceName == "profile:default")
    }

    @Test func namedProfileFromConfigFileWithSessionToken() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let config = try dir.write(
            "custom-config",
            "[profile dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\naws_session_token = DEVTOKEN\n")
        let chain = makeChain(dir.environment(["AWS_CONFIG_FILE": config, "AWS_PROFILE": "dev"]))
        #expect(try await chain.credential() == AWSCredential(accessKeyID: "DEVKEY", secretAccessKey: "DEVSECRET", sessionToken: "DEVTOKEN"))
        #expect(chain.sourceName == "profile:dev")
    }

    @Test func profileBeatsWebIdentityAndContainer() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let credentials = try dir.write("creds", "[default]\naws_access_key_id = P\naws_secret_access_key = S\n")
        let chain = makeChain(
            dir.environment([
                "AWS_SHARED_CREDENTIALS_FILE": credentials,
                "AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/missing-token",
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
            ]))
        #expect(try await chain.credential().accessKeyID == "P")
        #expect(chain.sourceName == "profile:default")
    }

    @Test func webIdentityBeatsContainerBeatsIMDS() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let container = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds"]
        let webIdentity = ["AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/t", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x"]
        #expect(try makeChain(dir.environment(container.merging(webIdentity) { $1 })).configuredSource() == "web-identity")
        #expect(try makeChain(dir.environment(container)).configuredSource() == "container")
        #expect(try makeChain(["HOME": dir.path]).configuredSource() == "imds")
    }

    @Test func profileWithWebIdentitySettings() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(
            ".aws/config",
            "[profile eks]\nrole_arn = arn:aws:iam::123456789012:role/eks\nweb_identity_token_file = /var/run/token\n")
        #expect(try makeChain(dir.environment(["AWS_PROFILE": "eks"])).configuredSource() == "profile:eks")
    }

    @Test func profileWithoutCredentialsFallsThrough() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(".aws/config", "[default]\nregion = eu-west-1\n")
        let error = await captureError { try await makeChain(dir.environment()).credential() }
        #expect(error?.source == "chain")
        #expect(error?.message.contains("profile:default: no credentials") == true)
        #expect(error?.message.contains("AWS_EC2_METADATA_DISABLED=true") == true)
    }

    @Test func configuredButBrokenSourcesAreErrorsNotSkipped() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(".aws/credentials", "[default]\naws_access_key_id = P\naws_secret_access_key = S\n")

        let partialEnv = await captureError { try await makeChain(dir.environment(["AWS_ACCESS_KEY_ID": "K"])).credential() }
        #expect(partialEnv?.source == "environment")
        #expect(partialEnv?.message.contains("AWS_SECRET_ACCESS_KEY") == true)

        let missingProfile = await captureError { try await makeChain(dir.environment(["AWS_PROFILE": "nope"])).credential() }
        #expect(missingProfile?.source == "profile:nope")
        #expect(missingProfile?.message.contains("AWS_PROFILE=nope") == true)

        try dir.write(
            ".aws/config",
            "[profile half]\naws_access_key_id = ONLYKEY\n[profile chained]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n")
        let half = await captureError { try await makeChain(dir.environment(["AWS_PROFILE": "half"])).credential() }
        #expect(half?.source == "profile:half")
        #expect(half?.message.contains("aws_secret_access_key is missing") == true)

        let chained = await captureError { try await makeChain(dir.environment(["AWS_PROFILE": "chained"])).credential() }
        #expect(chained?.source == "profile:chained")
        #expect(chained?.message.contains("source_profile = default") == true)
        #expect(chained?.message.contains("not supported") == true)

        let noRole = await captureError {
            try await makeChain(["HOME": dir.path + "/nothing", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t"]).credential()
        }
        #expect(noRole?.source == "web-identity")
        #expect(noRole?.message.contains("AWS_ROLE_ARN") == true)

        let insecureContainer = await captureError {
            try await makeChain(["HOME": dir.path + "/nothing", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"])
                .credential()
        }
        #expect(insecureContainer?.source == "container")
        #expect(insecureContainer?.message.contains("use https") == true)
    }

    @Test func webIdentityTokenFileMissingNamesTheFile() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let error = await captureError {
            try await makeChain(
                dir.environment([
                    "AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/no-such-token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
                    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
                ])
            ).credential()
        }
        #expect(error?.source == "web-identity")
        #expect(error?.message.contains("no-such-token") == true)
    }

    @Test func staticProvider() async throws {
        let credential = AWSCredential(accessKeyID: "A", secretAccessKey: "B")
        #expect(try await StaticCredentialProvider(credential).credential() == credential)
    }

    @Test func errorDescriptionNamesSourceAndCode() {
        let error = AWSCredentialError(source: "web-identity", message: "refused", code: "InvalidIdentityToken")
        #expect(error.description == "AWS credentials (web-identity): InvalidIdentityToken: refused")
        #expect(AWSCredentialError(source: "imds", message: "down").description == "AWS credentials (imds): down")
    }
}
