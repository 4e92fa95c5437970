import AWSSigV4
import Foundation
import GatewayTesting
import MSKIAMAuth
import Testing

@Suite struct MSKIAMTokenTests {
    /// Pinned output of aws-msk-iam-sasl-signer-python 1.0.2 (msk_token.py) for this input.
    @Test func matchesPinnedPythonToken() throws {
        let builder = try MSKIAMTokenBuilder(region: "us-east-1")
        let date = try #require(UnixTime(amzDate: "20240102T030405Z"))
        let token = try builder.token(
            credential: AWSCredential(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "tok/en+="),
            date: date)
        #expect(
            token.signedURL
                == "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIDEXAMPLE%2F20240102%2Fus-east-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=20240102T030405Z"
                + "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2Fen%2B%3D"
                + "&X-Amz-Signature=05561d4c74c93e6bb2a7854e2ea8da13e8d16584b2c97358342a5ca75133058d"
                + "&User-Agent=aws-msk-iam-sasl-signer-python%2F1.0.2")
        #expect(token.expiresAtMs == 1_704_165_545_000)
        #expect(!token.value.contains("=") && !token.value.contains("+") && !token.value.contains("/"))
    }

    @Test func base64URLMatchesFoundation() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 251) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(MSKIAMTokenBuilder.base64URLNoPadding(bytes) == expected)
        }
    }

    @Test func rejectsBadInput() throws {
        #expect(throws: MSKIAMAuthError.self) { _ = try MSKIAMTokenBuilder(region: "") }
        #expect(throws: MSKIAMAuthError.self) { _ = try MSKIAMTokenBuilder(region: "us-east-1.evil.com/") }
        let builder = try MSKIAMTokenBuilder(region: "eu-west-1")
        #expect(throws: MSKIAMAuthError.self) {
            _ = try builder.token(credential: AWSCredential(accessKeyID: "", secretAccessKey: "x"), date: UnixTime(seconds: 0))
        }
    }

    struct PythonCase: Codable {
        var access_key: String
        var secret_key: String
        var token: String?
        var region: String
        var amz_date: String
    }

    struct PythonResult: Codable {
        var token: String
        var expiry_ms: Int64
        var url: String
        var user_agent: String
    }

    /// The same tokens as aws-msk-iam-sasl-signer-python for fixed credentials and times
    /// (the Python signer with botocore's clock patched; msk_token.py).
    @Test func matchesPythonSignerDifferentially() throws {
        var rng = SystemRandomNumberGenerator()
        let regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1"]
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        func random(_ count: Int) -> String { String((0..<count).map { _ in alphabet.randomElement(using: &rng) ?? "A" }) }
        var cases: [PythonCase] = []
        for index in 0..<40 {
            let seconds = Int64.random(in: 946_684_800...4_102_444_800, using: &rng)
            cases.append(
                PythonCase(
                    access_key: "AKIA" + random(16).filter { $0.isLetter || $0.isNumber },
                    secret_key: random(40),
                    token: index % 2 == 0 ? nil : random(Int.random(in: 20...300, using: &rng)),
                    region: regions[index % regions.count],
                    amz_date: UnixTime(seconds: seconds).amzDate))
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("msk_token.py")
        let output = try PythonScript.run(
            script, input: try JSONEncoder().encode(cases),
            hint: "Needs python3 with aws-msk-iam-sasl-signer-python ('python3 -m pip install aws-msk-iam-sasl-signer-python').")
        let results = try JSONDecoder().decode([PythonResult].self, from: output)
        #expect(results.count == cases.count)
        for (input, expected) in zip(cases, results) {
            let builder = try MSKIAMTokenBuilder(region: input.region, userAgent: expected.user_agent)
            let date = try #require(UnixTime(amzDate: input.amz_date))
            let token = try builder.token(
                credential: AWSCredential(accessKeyID: input.access_key, secretAccessKey: input.secret_key, sessionToken: input.token),
                date: date)
            #expect(token.signedURL == expected.url)
            #expect(token.value == expected.token)
            #expect(token.expiresAtMs == expected.expiry_ms)
        }
        #expect(results.first?.user_agent == MSKIAMTokenBuilder.pythonSignerUserAgent, "installed signer version differs")
    }
}
