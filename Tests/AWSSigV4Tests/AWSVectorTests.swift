import AWSSigV4
import Testing

/// AWS's published SigV4 examples, reproduced exactly.
@Suite("AWS published vectors")
struct AWSVectorTests {
    static let suiteCredential = AWSCredential(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let s3Credential = AWSCredential(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    /// 2015-08-30T12:36:00Z, the test suite's and the IAM example's time.
    static let suiteDate = UnixTime(seconds: 1_440_938_160)
    /// 2013-05-24T00:00:00Z, the S3 examples' time.
    static let s3Date = UnixTime(seconds: 1_369_353_600)

    static func value(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// General Reference, "Examples of the complete Signature Version 4 signing process":
    /// IAM `GET /?Action=ListUsers&Version=2010-05-08`.
    @Test func iamListUsers() throws {
        let signer = AWSSigner(credential: Self.suiteCredential, region: "us-east-1", service: "iam")
        let url = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
        let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        let canonical = try signer.canonicalRequest(
            method: "GET", path: "/", query: "Action=ListUsers&Version=2010-05-08",
            headers: headers + [("Host", "iam.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Canonical.emptyPayloadHash)
        #expect(
            canonical.text == """
                GET
                /
                Action=ListUsers&Version=2010-05-08
                content-type:application/x-www-form-urlencoded; charset=utf-8
                host:iam.amazonaws.com
                x-amz-date:20150830T123600Z

                content-type;host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(AWSSigner.hexSHA256(Array(canonical.text.utf8)) == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
        let sts = signer.stringToSign(canonicalRequest: canonical.text, date: Self.suiteDate)
        #expect(
            sts == """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/iam/aws4_request
                f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59
                """)
        #expect(AWSSigner.hex(signer.signingKey(date: Self.suiteDate)) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
        #expect(signer.signature(stringToSign: sts, date: Self.suiteDate) == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")

        let added = try signer.signHeaders(method: "GET", url: url, headers: headers, body: [], date: Self.suiteDate)
        #expect(Self.value("X-Amz-Date", in: added) == "20150830T123600Z")
        #expect(Self.value("Host", in: added) == "iam.amazonaws.com")
        #expect(
            Self.value("Authorization", in: added)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        )
    }

    /// The SigV4 test suite (service `service`, us-east-1): get-vanilla, post-vanilla,
    /// get-vanilla-query-order-key-case.
    @Test(arguments: [
        ("GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        (
            "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ),
    ])
    func testSuite(method: String, url: String, signature: String) throws {
        let signer = AWSSigner(credential: Self.suiteCredential, region: "us-east-1", service: "service")
        let added = try signer.signHeaders(method: method, url: url, headers: [], body: [], date: Self.suiteDate)
        #expect(
            Self.value("Authorization", in: added)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(signature)"
        )
    }

    @Test func getVanillaStringToSign() throws {
        let signer = AWSSigner(credential: Self.suiteCredential, region: "us-east-1", service: "service")
        let canonical = try signer.canonicalRequest(
            method: "GET", path: "/", query: "",
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Canonical.emptyPayloadHash)
        #expect(
            signer.stringToSign(canonicalRequest: canonical.text, date: Self.suiteDate)
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        )
    }

    /// S3 API Reference, "Signature Calculations for the Authorization Header" examples.
    @Test func s3GetObject() throws {
        let signer = AWSSigner(credential: Self.s3Credential, region: "us-east-1", service: "s3")
        let added = try signer.signHeaders(
            method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
            headers: [("Range", "bytes=0-9")], body: [], date: Self.s3Date, includeContentSHA256: true)
        #expect(Self.value("X-Amz-Content-Sha256", in: added) == SigV4Canonical.emptyPayloadHash)
        #expect(
            Self.value("Authorization", in: added)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test func s3PutObject() throws {
        let signer = AWSSigner(credential: Self.s3Credential, region: "us-east-1", service: "s3")
        let added = try signer.signHeaders(
            method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test%24file.text",
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            body: Array("Welcome to Amazon S3.".utf8), date: Self.s3Date, includeContentSHA256: true)
        #expect(Self.value("X-Amz-Content-Sha256", in: added) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(
            Self.value("Authorization", in: added)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        )
    }

    @Test(arguments: [
        ("https://examplebucket.s3.amazonaws.com/?lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ])
    func s3BucketGets(url: String, signature: String) throws {
        let signer = AWSSigner(credential: Self.s3Credential, region: "us-east-1", service: "s3")
        let added = try signer.signHeaders(method: "GET", url: url, headers: [], body: [], date: Self.s3Date, includeContentSHA256: true)
        #expect(
            Self.value("Authorization", in: added)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(signature)"
        )
    }

    /// S3 API Reference, "Authenticating Requests: Using Query Parameters": presigned GET test.txt.
    @Test func s3PresignedGet() throws {
        let signer = AWSSigner(credential: Self.s3Credential, region: "us-east-1", service: "s3")
        let url = try signer.presignURL(
            method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt", expires: 86400, date: Self.s3Date)
        #expect(
            url
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
        let canonical = try signer.canonicalRequest(
            method: "GET", path: "/test.txt",
            query:
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
            headers: [("host", "examplebucket.s3.amazonaws.com")], payloadHash: SigV4Canonical.unsignedPayload)
        #expect(
            signer.stringToSign(canonicalRequest: canonical.text, date: Self.s3Date)
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
        )
    }
}
