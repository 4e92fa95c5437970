public import AWSSigV4

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An Amazon MSK IAM authentication token for SASL/OAUTHBEARER.
public struct MSKIAMToken: Sendable, Hashable {
    /// The token: the presigned URL, base64url-encoded without padding.
    public var value: String
    /// When the signature expires, in milliseconds since the Unix epoch (signing time + 900 s).
    public var expiresAtMs: Int64
    /// The presigned URL the token encodes (contains the credential's access key id and signature).
    public var signedURL: String
}

/// Why a token could not be built.
public struct MSKIAMAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A description of the failure.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "MSKIAMAuthError: \(message)" }
}

/// Builds Amazon MSK IAM OAUTHBEARER tokens exactly as AWS's `aws-msk-iam-sasl-signer-python`
/// (`MSKAuthTokenProvider.generate_auth_token*`) does:
///
/// 1. a SigV4 query-presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect`
///    for service `kafka-cluster`, `X-Amz-Expires=900`, signing only `host`, with the payload
///    hash of the empty body (botocore's `SigV4QueryAuth` over https, not `UNSIGNED-PAYLOAD`);
///    parameters in botocore's order (`Action`, `X-Amz-Algorithm`,
///    `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
///    [`X-Amz-Security-Token`], `X-Amz-Signature`);
/// 2. then `&User-Agent=<urlencoded user agent>` appended (unsigned);
/// 3. the URL's UTF-8 bytes base64url-encoded with the `=` padding stripped.
///
/// The expiry is the signing time (`X-Amz-Date`) plus 900 s, in milliseconds. Pure: no I/O; the
/// caller supplies credentials and time.
public struct MSKIAMTokenBuilder: Sendable {
    /// The signing name MSK uses.
    public static let service = "kafka-cluster"
    /// Seconds a token is valid (the Python signer's `DEFAULT_TOKEN_EXPIRY_SECONDS`).
    public static let expirySeconds = 900
    /// The Python signer's `User-Agent` value (`aws-msk-iam-sasl-signer-python/<version>`).
    public static let pythonSignerUserAgent = "aws-msk-iam-sasl-signer-python/1.0.2"

    /// The AWS region of the cluster, e.g. `eu-west-1`.
    public var region: String
    /// The `User-Agent` query parameter value (not signed; MSK logs it).
    public var userAgent: String

    /// Creates a builder for `region`; throws when the region is empty or not of the form
    /// `[a-z0-9-]+`.
    public init(region: String, userAgent: String = MSKIAMTokenBuilder.pythonSignerUserAgent) throws(MSKIAMAuthError) {
        guard !region.isEmpty,
            region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else { throw MSKIAMAuthError("invalid AWS region \(String(reflecting: region))") }
        self.region = region
        self.userAgent = userAgent
    }

    /// The endpoint the token is a presigned request for.
    public var endpoint: String { "https://kafka.\(region).amazonaws.com/" }

    /// Builds the token for `credential` signed at `date`.
    public func token(credential: AWSCredential, date: UnixTime) throws(MSKIAMAuthError) -> MSKIAMToken {
        let url = try signedURL(credential: credential, date: date)
        return MSKIAMToken(
            value: Self.base64URLNoPadding(Array(url.utf8)),
            expiresAtMs: (date.seconds + Int64(Self.expirySeconds)) * 1000,
            signedURL: url
        )
    }

    /// Builds the token for `credential` signed now (the system clock).
    public func token(credential: AWSCredential) throws(MSKIAMAuthError) -> MSKIAMToken {
        try token(credential: credential, date: UnixTime(seconds: Int64(time(nil))))
    }

    /// The presigned URL with the `User-Agent` parameter (what the token encodes).
    public func signedURL(credential: AWSCredential, date: UnixTime) throws(MSKIAMAuthError) -> String {
        guard !credential.accessKeyID.isEmpty, !credential.secretAccessKey.isEmpty else {
            throw MSKIAMAuthError("AWS credentials can not be empty")
        }
        let signer = AWSSigner(credential: credential, region: region, service: Self.service)
        let presigned: String
        do {
            presigned = try signer.presignURL(
                method: "GET",
                url: endpoint + "?Action=kafka-cluster%3AConnect",
                expires: Self.expirySeconds,
                date: date,
                unsignedPayload: false
            )
        } catch {
            throw MSKIAMAuthError("presigning failed: \(error.message)")
        }
        return presigned + "&User-Agent=" + Self.formURLEncode(userAgent)
    }

    /// Python's `urllib.parse.quote_plus` (what `urlencode` applies): unreserved characters
    /// `A-Z a-z 0-9 _ . - ~` stay, space becomes `+`, every other UTF-8 byte becomes `%XX`.
    static func formURLEncode(_ text: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x5F, 0x2E, 0x2D, 0x7E: out.append(byte)
            case 0x20: out.append(0x2B)
            default: out += [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 4648 §5 base64url without `=` padding.
    public static func base64URLNoPadding(_ bytes: [UInt8]) -> String {
        let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let n = UInt32(bytes[index]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
        case 2:
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        default: break
        }
        return String(decoding: out, as: UTF8.self)
    }
}
