import AWSCredentials
import Foundation
import Testing

@Suite("INI parsing and shared files")
struct SharedConfigTests {
    @Test func parsesSectionsKeysCommentsAndWhitespace() {
        let text = """
            # full-line comment
            ; another
            top = ignored before any section
            [default]
            AWS_Access_Key_ID = AKIDDEFAULT   
            aws_secret_access_key=secret/with+chars==
            region = eu-west-1 # inline comment
            token = abc#notacomment
            empty =

              [ profile   prod ]  
            aws_access_key_id = AKIDPROD ; trailing
            s3 =
              max_concurrent_requests = 10
              addressing_style = path
            no equals sign here
            [profile broken
            orphan = value
            """.replacingOccurrences(of: "\n", with: "\r\n")
        let ini = AWSINIFile(parsing: text)
        #expect(ini.sections["default"]?["aws_access_key_id"] == "AKIDDEFAULT")
        #expect(ini.sections["default"]?["aws_secret_access_key"] == "secret/with+chars==")
        #expect(ini.sections["default"]?["region"] == "eu-west-1")
        #expect(ini.sections["default"]?["token"] == "abc#notacomment")
        #expect(ini.sections["default"]?["empty"] == "")
        #expect(ini.sections["default"]?["top"] == nil)
        #expect(ini.sections["profile   prod"]?["aws_access_key_id"] == "AKIDPROD")
        #expect(ini.sections["profile   prod"]?["s3"] == "max_concurrent_requests = 10\naddressing_style = path")
        #expect(ini.sections["profile   prod"]?["max_concurrent_requests"] == nil)
        #expect(ini.sections.count == 2) // the unterminated header and its key are dropped
        #expect(ini.configProfiles["prod"]?["aws_access_key_id"] == "AKIDPROD")
        #expect(ini.configProfiles["default"]?["region"] == "eu-west-1")
    }

    @Test func uniformlyIndentedKeysAreNotContinuations() {
        let ini = AWSINIFile(parsing: "[default]\n  a = 1\n  b = 2\n")
        #expect(ini.sections["default"] == ["a": "1", "b": "2"])
    }

    @Test func repeatedSectionsMergeLaterWins() {
        let ini = AWSINIFile(parsing: "[x]\na = 1\nb = 1\n[y]\nc = 3\n[x]\nb = 2\n")
        #expect(ini.sections["x"] == ["a": "1", "b": "2"])
        #expect(ini.sections["y"] == ["c": "3"])
    }

    @Test func configProfilesOnlyDefaultAndProfileSections() {
        let ini = AWSINIFile(
            parsing: """
                [default]
                region = a
                [profile default]
                region = b
                [sso-session corp]
                sso_region = c
                [services dev]
                x = y
                [plain]
                region = d
                """)
        #expect(ini.configProfiles.keys.sorted() == ["default"])
        #expect(ini.configProfiles["default"]?["region"] == "b")
    }

    @Test func sharedFilesPathsAndProfileFromEnvironment() {
        let defaults = AWSSharedFiles(environment: ["HOME": "/home/u"])
        #expect(defaults.credentialsPath == "/home/u/.aws/credentials")
        #expect(defaults.configPath == "/home/u/.aws/config")
        #expect(defaults.profile == "default")
        #expect(!defaults.profileIsExplicit)

        let custom = AWSSharedFiles(environment: [
            "HOME": "/home/u", "AWS_SHARED_CREDENTIALS_FILE": "~/creds", "AWS_CONFIG_FILE": "/etc/aws.cfg", "AWS_PROFILE": "prod",
        ])
        #expect(custom.credentialsPath == "/home/u/creds")
        #expect(custom.configPath == "/etc/aws.cfg")
        #expect(custom.profile == "prod")
        #expect(custom.profileIsExplicit)
    }

    @Test func credentialsFileWinsPerKey() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write(".aws/config", "[profile prod]\naws_access_key_id = FROMCONFIG\nregion = ap-south-1\naws_session_token = T\n")
        try dir.write(".aws/credentials", "[prod]\naws_access_key_id = FROMCREDS\naws_secret_access_key = S\n")
        let profile = try AWSSharedFiles(environment: ["HOME": dir.path, "AWS_PROFILE": "prod"]).loadProfile()
        #expect(
            profile == [
                "aws_access_key_id": "FROMCREDS", "aws_secret_access_key": "S", "region": "ap-south-1", "aws_session_token": "T",
            ])
        #expect(try AWSSharedFiles(environment: ["HOME": dir.path, "AWS_PROFILE": "other"]).loadProfile() == nil)
    }
}

@Suite("Region resolution")
struct RegionResolverTests {
    @Test func precedence() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let config = try dir.write("cfg", "[default]\nregion = eu-central-1\n[profile prod]\nregion = ap-northeast-1\n")
        let base = ["HOME": dir.path, "AWS_CONFIG_FILE": config]

        #expect(
            AWSRegionResolver.resolve(
                configured: "us-west-2", environment: base.merging(["AWS_REGION": "x", "AWS_DEFAULT_REGION": "y"]) { $1 })
                == "us-west-2")
        #expect(
            AWSRegionResolver.resolve(configured: " ", environment: base.merging(["AWS_REGION": "x", "AWS_DEFAULT_REGION": "y"]) { $1 })
                == "x")
        #expect(AWSRegionResolver.resolve(configured: nil, environment: base.merging(["AWS_DEFAULT_REGION": "y"]) { $1 }) == "y")
        #expect(AWSRegionResolver.resolve(configured: nil, environment: base) == "eu-central-1")
        #expect(AWSRegionResolver.resolve(configured: nil, environment: base.merging(["AWS_PROFILE": "prod"]) { $1 }) == "ap-northeast-1")
        #expect(AWSRegionResolver.resolve(configured: nil, environment: base.merging(["AWS_PROFILE": "none"]) { $1 }) == "us-east-1")
    }

    @Test func defaultConfigFileUnderHomeAndFallback() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        #expect(AWSRegionResolver.resolve(configured: nil, environment: ["HOME": dir.path]) == "us-east-1")
        try dir.write(".aws/config", "[default]\nregion = sa-east-1\n")
        #expect(AWSRegionResolver.resolve(configured: nil, environment: ["HOME": dir.path]) == "sa-east-1")
    }
}
