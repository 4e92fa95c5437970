import AWSSigV4
import Foundation
import GatewayTesting
import Testing

/// One request as sent to `botocore_sign.py` (field names are the script's).
struct BotocoreCase: Codable {
    struct Presign: Codable {
        var expires: Int
        var unsigned_payload: Bool
    }
    var access_key: String
    var secret_key: String
    var token: String?
    var service: String
    var region: String
    var method: String
    var url: String
    var headers: [[String]]
    var body_b64: String
    var amz_date: String
    var content_sha256: Bool
    var presign: Presign?
    // Not sent (JSON ignores unknown keys on the Python side, but keep the payload small).
    var seconds: Int64 = 0
    var body: [UInt8] = []

    enum CodingKeys: String, CodingKey {
        case access_key, secret_key, token, service, region, method, url, headers, body_b64, amz_date,
            content_sha256, presign
    }
}

struct BotocoreResult: Codable {
    var authorization: String
    var presigned_url: String?
}

/// Random requests with awkward paths, queries, headers and bodies.
enum RequestGenerator {
    static let services = ["kinesis", "firehose", "sts", "kafka-cluster"]
    static let regions = ["us-east-1", "eu-west-2", "ap-southeast-1", "us-gov-west-1"]
    static let methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "post", "get"]
    /// Path pieces: unreserved, space, unicode, RFC 3986 reserved (minus `?`/`#`), already
    /// escaped text, a raw `%`, and dot segments.
    static let pathPieces = [
        "a", "Stream", "records", "x-y_z.~", "with space", "日本語", "é", "emoji😀", "!$&'()*+,;=:@",
        "%20", "%2F", "100%", "a+b", ".", "..", "", "tilde~", "UPPER", "0123",
    ]
    static let queryNames = [
        "Action", "Version", "a", "A", "b", "name with space", "key+plus", "x=y", "a&b", "ü", "~tilde",
        "X-Amz-Meta", "empty", "1", "slash/name",
    ]
    static let queryValues = [
        "", "v", "value with spaces", "a+b", "c=d", "e&f", "ÿ", "日本", "/path/like", "~._-", "100%",
        "*", "'quoted'", "MixedCase", "2010-05-08",
    ]
    static let headerNames = [
        "Content-Type", "content-type", "X-Amz-Target", "x-amz-target", "X-Custom-Header", "Accept",
        "X-Amz-Meta-Foo", "x-AMZ-meta-foo", "User-Agent", "Cache-Control", "Content-Encoding",
    ]
    static let headerValues = [
        "application/json", "  leading", "trailing   ", "  both  ends  ", "inner    runs   of  spaces",
        "tab\there", "\ttabbed\t", "Kinesis_20131202.PutRecord", "a,b", "", "   ", "x=1; y=2", "gzip",
        "UPPER lower",
    ]

    static func pick<T>(_ array: [T], _ rng: inout SplitMix64) -> T { array[Int.random(in: 0..<array.count, using: &rng)] }

    static func generate(count: Int, seed: UInt64) -> [BotocoreCase] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in generateOne(&rng) }
    }

    static func generateOne(_ rng: inout SplitMix64) -> BotocoreCase {
        let service = pick(services, &rng)
        let region = pick(regions, &rng)
        let hosts = [
            "\(service).\(region).amazonaws.com", "\(service.uppercased()).\(region).AmazonAWS.com",
            "localhost:4566", "127.0.0.1:9000", "\(service).\(region).amazonaws.com:443", "example.com:8443",
            "[::1]:8080",
        ]
        let scheme = Int.random(in: 0..<5, using: &rng) == 0 ? "http" : "https"
        var host = pick(hosts, &rng)
        if scheme == "http", Bool.random(using: &rng) { host = "example.com:80" }

        // Path: pieces joined by "/", each either escaped canonically or left raw.
        var path = ""
        let segments = Int.random(in: 0...5, using: &rng)
        for _ in 0..<segments {
            let piece = pick(pathPieces, &rng)
            path += "/" + (Bool.random(using: &rng) ? SigV4Canonical.uriEncode(piece) : piece)
        }
        if segments > 0, Int.random(in: 0..<4, using: &rng) == 0 { path += "/" }
        if segments == 0, Bool.random(using: &rng) { path = "/" }

        // Query: canonically escaped pairs in random order, sometimes duplicated names.
        var pairs: [String] = []
        var names: [String] = []
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            let name =
                !names.isEmpty && Int.random(in: 0..<4, using: &rng) == 0 ? pick(names, &rng) : pick(queryNames, &rng)
            names.append(name)
            let value = pick(queryValues, &rng)
            let encodedName = SigV4Canonical.uriEncode(name)
            if value.isEmpty, Bool.random(using: &rng) {
                pairs.append(encodedName) // a name alone, without "="
            } else {
                pairs.append(encodedName + "=" + SigV4Canonical.uriEncode(value))
            }
        }
        let hasDuplicateNames = Set(names).count != names.count
        var url = "\(scheme)://\(host)\(path)"
        if !pairs.isEmpty { url += "?" + pairs.joined(separator: "&") }

        var headers: [[String]] = []
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            headers.append([pick(headerNames, &rng), pick(headerValues, &rng)])
        }
        if Int.random(in: 0..<6, using: &rng) == 0 {
            headers.append([Bool.random(using: &rng) ? "Host" : "host", host.lowercased()])
        }

        var body: [UInt8] = []
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: break
        case 1: body = Array(#"{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k"}"#.utf8)
        default: body = (0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }

        let token: String? =
            Bool.random(using: &rng)
            ? "FwoGZXIvYXdzE"
                + String(
                    (0..<Int.random(in: 8...40, using: &rng)).map { _ in
                        pick(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), &rng)
                    }) : nil
        // 2000-01-01 ... 2040-01-01
        let seconds = Int64.random(in: 946_684_800..<2_208_988_800, using: &rng)

        // botocore's presigner keeps only the first value of a repeated query name, so only
        // requests without repeats are compared as presigned URLs.
        let presign: BotocoreCase.Presign? =
            hasDuplicateNames
            ? nil
            : .init(expires: Int.random(in: 1...604_800, using: &rng), unsigned_payload: Bool.random(using: &rng))

        return BotocoreCase(
            access_key: "AKID" + String(Int.random(in: 100_000...999_999, using: &rng)),
            secret_key: "secret/" + String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 36) + "+KEY",
            token: token, service: service, region: region, method: pick(methods, &rng), url: url,
            headers: headers, body_b64: Data(body).base64EncodedString(),
            amz_date: UnixTime(seconds: seconds).amzDate, content_sha256: Bool.random(using: &rng),
            presign: presign, seconds: seconds, body: body)
    }
}

@Suite("Differential against botocore")
struct BotocoreDifferentialTests {
    static let caseCount = 400

    /// Runs `botocore_sign.py` (next to this file) once with `/usr/bin/env python3`.
    static func runBotocore(_ cases: [BotocoreCase]) throws -> [BotocoreResult] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("botocore_sign.py")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sigv4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let input = tmp.appendingPathComponent("in.json")
        try JSONEncoder().encode(cases).write(to: input)

        // AWSSIGV4_PYTHON may name another interpreter (default: python3 on PATH).
        let python = ProcessInfo.processInfo.environment["AWSSIGV4_PYTHON"] ?? "python3"
        let completion = try TestProcess.run(TestProcess.Command(python, [script.path]), input: try Data(contentsOf: input))
        let data = completion.outputData
        let stderr = completion.errors
        guard completion.status == 0 else {
            throw ReferenceUnavailable(
                message: """
                    botocore reference signer failed (exit \(completion.status ?? -1)). This test needs \
                    python3 with botocore >= 1.30 ('python3 -m pip install botocore'); it is not skipped. \
                    Interpreter: \(python). Script: \(script.path). stderr: \(stderr)
                    """)
        }
        return try JSONDecoder().decode([BotocoreResult].self, from: data)
    }

    struct ReferenceUnavailable: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    @Test func matchesBotocoreByteForByte() throws {
        let cases = RequestGenerator.generate(count: Self.caseCount, seed: 0x5EED_516F_0004)
        let expected = try Self.runBotocore(cases)
        try #require(expected.count == cases.count)

        var presignCompared = 0
        var mismatches = 0
        for (index, (c, reference)) in zip(cases, expected).enumerated() {
            let signer = AWSSigner(
                credential: AWSCredential(accessKeyID: c.access_key, secretAccessKey: c.secret_key, sessionToken: c.token),
                region: c.region, service: c.service)
            let headers = c.headers.map { ($0[0], $0[1]) }
            let added = try signer.signHeaders(
                method: c.method, url: c.url, headers: headers, body: c.body, date: UnixTime(seconds: c.seconds),
                includeContentSHA256: c.content_sha256)
            let authorization = added.first { $0.0 == "Authorization" }?.1
            if authorization != reference.authorization { mismatches += 1 }
            #expect(
                authorization == reference.authorization,
                "case \(index): \(c.method) \(c.url) headers=\(c.headers) token=\(c.token != nil) sha=\(c.content_sha256)")

            if let presign = c.presign {
                presignCompared += 1
                let url = try signer.presignURL(
                    method: c.method, url: c.url, headers: headers, expires: presign.expires,
                    date: UnixTime(seconds: c.seconds), unsignedPayload: presign.unsigned_payload)
                if url != reference.presigned_url { mismatches += 1 }
                #expect(url == reference.presigned_url, "presign case \(index): \(c.method) \(c.url) headers=\(c.headers)")
            }
            if mismatches > 20 { break } // enough to diagnose
        }
        // The generator must keep exercising presigning too.
        #expect(presignCompared > Self.caseCount / 2)
    }
}
