import AWSSigV4
import Testing

@Suite("URI encoding")
struct URIEncodingTests {
    @Test func unreservedCharactersAreKept() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        #expect(SigV4Canonical.uriEncode(unreserved) == unreserved)
    }

    @Test func everythingElseIsPercentEncodedUppercase() {
        #expect(SigV4Canonical.uriEncode(" ") == "%20")
        #expect(SigV4Canonical.uriEncode("+=&") == "%2B%3D%26")
        #expect(SigV4Canonical.uriEncode("a/b") == "a%2Fb")
        #expect(SigV4Canonical.uriEncode("a/b", encodeSlash: false) == "a/b")
        #expect(SigV4Canonical.uriEncode("%") == "%25")
        #expect(SigV4Canonical.uriEncode("é") == "%C3%A9")
        #expect(SigV4Canonical.uriEncode("日") == "%E6%97%A5")
        #expect(SigV4Canonical.uriEncode("!*'()") == "%21%2A%27%28%29")
        #expect(SigV4Canonical.uriEncode(bytes: [0x00, 0xFF, 0x7F]) == "%00%FF%7F")
    }

    @Test func percentDecoding() {
        #expect(SigV4Canonical.percentDecode("a%20b%2fc") == Array("a b/c".utf8))
        #expect(SigV4Canonical.percentDecode("a+b") == Array("a+b".utf8)) // + is not a space
        #expect(SigV4Canonical.percentDecode("100%") == Array("100%".utf8)) // malformed kept
        #expect(SigV4Canonical.percentDecode("%zz%4") == Array("%zz%4".utf8))
    }

    @Test func pathNormalisation() {
        #expect(SigV4Canonical.normalizePath("") == "/")
        #expect(SigV4Canonical.normalizePath("/") == "/")
        #expect(SigV4Canonical.normalizePath("//") == "/")
        #expect(SigV4Canonical.normalizePath("/a//b/") == "/a/b/")
        #expect(SigV4Canonical.normalizePath("/a/./b/../c") == "/a/c")
        #expect(SigV4Canonical.normalizePath("/../..") == "/")
        #expect(SigV4Canonical.normalizePath("/a/..") == "/")
    }

    @Test func nonS3PathsAreNormalisedAndDoubleEncoded() {
        #expect(SigV4Canonical.canonicalURI(path: "", service: "kinesis") == "/")
        #expect(SigV4Canonical.canonicalURI(path: "/a%20b//c/./d/", service: "kinesis") == "/a%2520b/c/d/")
        #expect(SigV4Canonical.canonicalURI(path: "/a b/é", service: "sts") == "/a%20b/%C3%A9")
        #expect(SigV4Canonical.canonicalURI(path: "/documents and settings/", service: "service") == "/documents%20and%20settings/")
    }

    @Test func s3PathsAreEncodedOnceAndNotNormalised() {
        #expect(SigV4Canonical.canonicalURI(path: "", service: "s3") == "/")
        #expect(SigV4Canonical.canonicalURI(path: "/test%24file.text", service: "s3") == "/test%24file.text")
        #expect(SigV4Canonical.canonicalURI(path: "/a b//./c", service: "s3") == "/a%20b//./c")
        #expect(SigV4Canonical.canonicalURI(path: "/a%20b", service: "s3") == "/a%20b")
    }

    @Test func canonicalQuerySortsAndReencodes() {
        #expect(SigV4Canonical.canonicalQuery("") == "")
        #expect(SigV4Canonical.canonicalQuery("Param2=value2&Param1=value1") == "Param1=value1&Param2=value2")
        // Sorted by name then value; uppercase sorts before lowercase (byte order).
        #expect(SigV4Canonical.canonicalQuery("b=2&a=z&a=a&B=1") == "B=1&a=a&a=z&b=2")
        // Empty values and names alone become "name="; "&&" pieces are dropped.
        #expect(SigV4Canonical.canonicalQuery("flag&x=&&y=1") == "flag=&x=&y=1")
        // Decoded then re-encoded with the unreserved set: + / = & space.
        #expect(SigV4Canonical.canonicalQuery("k=a+b%2Fc%3d%20d~") == "k=a%2Bb%2Fc%3D%20d~")
        #expect(SigV4Canonical.canonicalQuery("a=1=2") == "a=1%3D2")
    }
}

@Suite("Header canonicalisation")
struct HeaderCanonicalisationTests {
    @Test func lowercasesTrimsCollapsesSortsAndJoins() throws {
        let (canonical, signed) = try SigV4Canonical.canonicalHeaders([
            ("X-Amz-Date", "20150830T123600Z"),
            ("Host", "example.amazonaws.com"),
            ("My-Header1", "    a   b   c  "),
            ("my-header2", "\"a   b   c\""),
            ("My-Header3", "value1"),
            ("my-header3", " value2\t "),
        ])
        #expect(
            canonical == """
                host:example.amazonaws.com
                my-header1:a b c
                my-header2:"a b c"
                my-header3:value1,value2
                x-amz-date:20150830T123600Z

                """)
        #expect(signed == "host;my-header1;my-header2;my-header3;x-amz-date")
    }

    @Test func hopByHopHeadersAreNotSigned() throws {
        let (_, signed) = try SigV4Canonical.canonicalHeaders([
            ("User-Agent", "sluice"), ("Connection", "keep-alive"), ("Expect", "100-continue"),
            ("Transfer-Encoding", "chunked"), ("X-Amzn-Trace-Id", "x"), ("host", "h"),
        ])
        #expect(signed == "host")
    }

    @Test func trimAll() {
        #expect(SigV4Canonical.trimAll("") == "")
        #expect(SigV4Canonical.trimAll("   ") == "")
        #expect(SigV4Canonical.trimAll(" a \t\t b \r\n c ") == "a b c")
    }

    @Test func invalidHeaderNamesThrow() {
        for name in ["", "Bad Name", "colon:", "tab\t"] {
            #expect(throws: AWSSigningError.self) { try SigV4Canonical.canonicalHeaders([(name, "v")]) }
        }
    }
}

@Suite("Date formatting")
struct DateFormattingTests {
    @Test(arguments: [
        (Int64(0), "19700101T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (1_369_353_600, "20130524T000000Z"),
        (951_782_400, "20000229T000000Z"), // leap day
        (1_709_251_199, "20240229T235959Z"),
        (4_102_444_800, "21000101T000000Z"), // 2100 is not a leap year
        (-1, "19691231T235959Z"),
        (253_402_300_799, "99991231T235959Z"),
    ])
    func formats(seconds: Int64, expected: String) {
        let time = UnixTime(seconds: seconds)
        #expect(time.amzDate == expected)
        #expect(time.dateStamp == String(expected.prefix(8)))
        #expect(UnixTime(amzDate: expected) == time)
    }

    @Test func civilInitialiserValidates() {
        #expect(UnixTime(year: 2015, month: 8, day: 30, hour: 12, minute: 36)?.seconds == 1_440_938_160)
        #expect(UnixTime(year: 2023, month: 2, day: 29) == nil)
        #expect(UnixTime(year: 2024, month: 13, day: 1) == nil)
        #expect(UnixTime(amzDate: "20150830T1236Z") == nil)
        #expect(UnixTime(amzDate: "2015083OT123600Z") == nil)
    }
}

@Suite("Signer behaviour")
struct SignerBehaviourTests {
    let signer = AWSSigner(
        credential: AWSCredential(accessKeyID: "AKID", secretAccessKey: "s3cr3t-Value", sessionToken: "tok/en+="),
        region: "eu-west-1", service: "kinesis")
    let date = UnixTime(seconds: 1_440_938_160)

    @Test func hostHeaderDropsDefaultPortAndUserinfo() throws {
        #expect(try SigV4URL(parsing: "https://Kinesis.Example.COM:443/x").hostHeader() == "kinesis.example.com")
        #expect(try SigV4URL(parsing: "http://example.com:80").hostHeader() == "example.com")
        #expect(try SigV4URL(parsing: "https://example.com:80/").hostHeader() == "example.com:80")
        #expect(try SigV4URL(parsing: "http://user:pw@localhost:4566/").hostHeader() == "localhost:4566")
        #expect(try SigV4URL(parsing: "https://[::1]:8443/").hostHeader() == "[::1]:8443")
    }

    @Test func badURLsThrow() {
        for url in ["", "example.com/path", "https://", "https://host:port/", "https://:443/", "1http://x/"] {
            #expect(throws: AWSSigningError.self) {
                try signer.signHeaders(method: "GET", url: url, headers: [], body: [], date: date)
            }
        }
    }

    @Test func returnsTheHeadersToAdd() throws {
        let added = try signer.signHeaders(
            method: "POST", url: "https://kinesis.eu-west-1.amazonaws.com/",
            headers: [("Authorization", "stale"), ("X-Amz-Date", "stale"), ("X-Amz-Security-Token", "stale")],
            body: Array("{}".utf8), date: date, includeContentSHA256: true)
        #expect(added.map(\.0) == ["Host", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization"])
        #expect(added[2].1 == "tok/en+=")
        #expect(added[3].1 == AWSSigner.hexSHA256(Array("{}".utf8)))
        #expect(added[4].1.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        // A Host header supplied by the caller is signed, not repeated.
        let withHost = try signer.signHeaders(
            method: "GET", url: "https://kinesis.eu-west-1.amazonaws.com/", headers: [("host", "other")], body: [],
            date: date)
        #expect(!withHost.contains { $0.0 == "Host" })
    }

    @Test func signatureDependsOnEveryInput() throws {
        func auth(_ s: AWSSigner, method: String = "GET", url: String = "https://h/p?a=1", body: [UInt8] = [], at: UnixTime? = nil)
            throws -> String
        {
            try s.signHeaders(method: method, url: url, headers: [], body: body, date: at ?? date).last!.1
        }
        let base = try auth(signer)
        var other = signer
        other.region = "eu-west-2"
        #expect(try auth(other) != base)
        other = signer
        other.credential.secretAccessKey = "secreT"
        #expect(try auth(other) != base)
        #expect(try auth(signer, method: "POST") != base)
        #expect(try auth(signer, url: "https://h/p?a=2") != base)
        #expect(try auth(signer, url: "https://h/q?a=1") != base)
        #expect(try auth(signer, body: [1]) != base)
        #expect(try auth(signer, at: UnixTime(seconds: date.seconds + 1)) != base)
    }

    @Test func presignCarriesTokenAndValidatesExpiry() throws {
        let url = try signer.presignURL(method: "GET", url: "https://h/p?z=1#frag", expires: 60, date: date)
        #expect(
            url.hasPrefix(
                "https://h/p?z=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Feu-west-1%2Fkinesis%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature="
            ))
        #expect(url.hasSuffix("#frag"))
        for expires in [0, -1, 604_801] {
            #expect(throws: AWSSigningError.self) {
                try signer.presignURL(method: "GET", url: "https://h/", expires: expires, date: date)
            }
        }
    }

    @Test func credentialDescriptionRedactsSecrets() {
        let text = String(describing: signer.credential)
        #expect(text.contains("AKID"))
        #expect(!text.contains(signer.credential.secretAccessKey))
        #expect(!text.contains("tok/en"))
    }
}
