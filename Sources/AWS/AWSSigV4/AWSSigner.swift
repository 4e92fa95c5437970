import Crypto

/// A canonical request and the pieces derived while building it.
public struct SigV4CanonicalRequest: Sendable, Equatable {
    /// The full canonical request text (what is hashed into the string to sign).
    public var text: String
    /// `;`-joined lowercased names of the signed headers.
    public var signedHeaders: String
    /// The payload hash line (hex SHA-256, or `UNSIGNED-PAYLOAD`).
    public var payloadHash: String
}

/// A pure AWS Signature Version 4 signer (`AWS4-HMAC-SHA256`) for one credential, region and
/// service. It performs no I/O; the caller supplies the time.
public struct AWSSigner: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"

    public var credential: AWSCredential
    public var region: String
    public var service: String

    public init(credential: AWSCredential, region: String, service: String) {
        self.credential = credential
        self.region = region
        self.service = service
    }

    // MARK: Header signing

    /// Signs a request with an `Authorization` header.
    ///
    /// `url` is the absolute URL as it is sent (path and query already percent-encoded; send the
    /// query canonically encoded, e.g. with ``SigV4Canonical/uriEncode(_:encodeSlash:)``).
    /// Returns the headers to set on the request, replacing any of the same name:
    /// `Host` (only when `headers` has none), `X-Amz-Date`, `X-Amz-Security-Token` (when the
    /// credential has a session token), `X-Amz-Content-Sha256` (when `includeContentSHA256`),
    /// and `Authorization`. Any `Authorization`, `X-Amz-Date`, and (with a token)
    /// `X-Amz-Security-Token` in `headers` are ignored. All other headers in `headers` are signed,
    /// except hop-by-hop ones (``SigV4Canonical/unsignedHeaderNames``). When `headers` carries
    /// `X-Amz-Content-Sha256` (and `includeContentSHA256` is false) its value is used as the
    /// payload hash, as botocore does.
    public func signHeaders(
        method: String,
        url: String,
        headers: [(String, String)],
        body: [UInt8],
        date: UnixTime,
        includeContentSHA256: Bool = false
    ) throws(AWSSigningError) -> [(String, String)] {
        try signHeaders(
            method: method, url: url, headers: headers, payloadHash: Self.hexSHA256(body), date: date,
            includeContentSHA256: includeContentSHA256)
    }

    /// Signs a request whose payload hash (lowercase hex SHA-256 of the body) the caller computed, for a body held
    /// in a buffer that should not be copied into an array; see ``hexSHA256(_:)``.
    /// Otherwise the same as ``signHeaders(method:url:headers:body:date:includeContentSHA256:)``.
    public func signHeaders(
        method: String,
        url: String,
        headers: [(String, String)],
        payloadHash bodyHash: String,
        date: UnixTime,
        includeContentSHA256: Bool = false
    ) throws(AWSSigningError) -> [(String, String)] {
        let parts = try SigV4URL(parsing: url)
        let hasToken = credential.sessionToken != nil
        var toSign: [(String, String)] = []
        var hasHost = false
        var suppliedPayloadHash: String?
        for (name, value) in headers {
            try SigV4Canonical.validateHeaderName(name)
            switch SigV4Canonical.lowercaseASCII(name) {
            case "authorization", "x-amz-date": continue
            case "x-amz-security-token" where hasToken: continue
            case "x-amz-content-sha256":
                if includeContentSHA256 { continue }
                if suppliedPayloadHash == nil { suppliedPayloadHash = value }
            case "host": hasHost = true
            default: break
            }
            toSign.append((name, value))
        }
        var added: [(String, String)] = []
        if !hasHost { added.append(("Host", try parts.hostHeader())) }
        added.append(("X-Amz-Date", date.amzDate))
        if let token = credential.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        let payloadHash = suppliedPayloadHash.map(SigV4Canonical.trimAll) ?? bodyHash
        if includeContentSHA256 { added.append(("X-Amz-Content-Sha256", payloadHash)) }
        toSign += added

        let canonical = try canonicalRequest(
            method: method, path: parts.path, query: parts.query ?? "", headers: toSign, payloadHash: payloadHash)
        let sts = stringToSign(canonicalRequest: canonical.text, date: date)
        let signature = self.signature(stringToSign: sts, date: date)
        let authorization =
            "\(Self.algorithm) Credential=\(credential.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return added
    }

    // MARK: Presigning

    /// Presigns `url` with query-string authentication and returns the signed URL.
    ///
    /// The result keeps scheme, authority, path and fragment of `url` as written; its query is the
    /// original parameters (re-encoded canonically, original order) followed by `X-Amz-Algorithm`,
    /// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
    /// `X-Amz-Security-Token` (with a session token) and finally `X-Amz-Signature`, the same order
    /// botocore produces. `headers` (plus `host`) are signed and must be sent with the request.
    /// The payload hash is `UNSIGNED-PAYLOAD` when `unsignedPayload`, otherwise the hash of an
    /// empty body. `expires` must be in 1...604800 seconds (7 days).
    public func presignURL(
        method: String,
        url: String,
        headers: [(String, String)] = [],
        expires: Int,
        date: UnixTime,
        unsignedPayload: Bool = true
    ) throws(AWSSigningError) -> String {
        guard (1...604_800).contains(expires) else {
            throw AWSSigningError(.invalidExpiry, "expires must be 1...604800 seconds, got \(expires)")
        }
        let parts = try SigV4URL(parsing: url)
        var toSign = headers
        var hasHost = false
        for (name, _) in headers {
            try SigV4Canonical.validateHeaderName(name)
            if SigV4Canonical.lowercaseASCII(name) == "host" { hasHost = true }
        }
        if !hasHost { toSign.append(("host", try parts.hostHeader())) }
        let signedHeaders = try SigV4Canonical.canonicalHeaders(toSign).signed

        var pairs = SigV4Canonical.parseQuery(parts.query ?? "")
        var auth: [(String, String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credential.accessKeyID)/\(credentialScope(date: date))"),
            ("X-Amz-Date", date.amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if let token = credential.sessionToken { auth.append(("X-Amz-Security-Token", token)) }
        pairs += auth.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        let query = SigV4Canonical.canonicalQuery(pairs)

        let payloadHash = unsignedPayload ? SigV4Canonical.unsignedPayload : SigV4Canonical.emptyPayloadHash
        let canonical = try canonicalRequest(
            method: method, path: parts.path, query: query, headers: toSign, payloadHash: payloadHash)
        let signature = self.signature(stringToSign: stringToSign(canonicalRequest: canonical.text, date: date), date: date)

        var out = parts.scheme + "://" + parts.authority + parts.path + "?"
        out += pairs.map { SigV4Canonical.uriEncode(bytes: $0.name) + "=" + SigV4Canonical.uriEncode(bytes: $0.value) }
            .joined(separator: "&")
        out += "&X-Amz-Signature=" + signature
        if let fragment = parts.fragment { out += "#" + fragment }
        return out
    }

    // MARK: Intermediate pieces

    /// Builds the canonical request from wire `path` and raw `query` (no `?`), signing exactly
    /// `headers` (minus ``SigV4Canonical/unsignedHeaderNames``); nothing is added.
    public func canonicalRequest(
        method: String,
        path: String,
        query: String,
        headers: [(String, String)],
        payloadHash: String
    ) throws(AWSSigningError) -> SigV4CanonicalRequest {
        let (canonicalHeaders, signedHeaders) = try SigV4Canonical.canonicalHeaders(headers)
        let text = [
            method.uppercased(),
            SigV4Canonical.canonicalURI(path: path, service: service),
            SigV4Canonical.canonicalQuery(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return SigV4CanonicalRequest(text: text, signedHeaders: signedHeaders, payloadHash: payloadHash)
    }

    /// `YYYYMMDD/region/service/aws4_request`.
    public func credentialScope(date: UnixTime) -> String {
        "\(date.dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256(canonical request)>`.
    public func stringToSign(canonicalRequest: String, date: UnixTime) -> String {
        [Self.algorithm, date.amzDate, credentialScope(date: date), Self.hexSHA256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
    }

    /// The derived signing key for `date` (HMAC chain over date, region, service, `aws4_request`).
    public func signingKey(date: UnixTime) -> [UInt8] {
        Self.signingKey(secretAccessKey: credential.secretAccessKey, dateStamp: date.dateStamp, region: region, service: service)
    }

    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, dateStamp), region), service), "aws4_request")`.
    public static func signingKey(secretAccessKey: String, dateStamp: String, region: String, service: String) -> [UInt8] {
        var key = Array(("AWS4" + secretAccessKey).utf8)
        for part in [dateStamp, region, service, "aws4_request"] {
            key = hmac(key: key, message: Array(part.utf8))
        }
        return key
    }

    /// Lowercase hex HMAC-SHA256 of the string to sign with the derived key.
    public func signature(stringToSign: String, date: UnixTime) -> String {
        Self.hex(Self.hmac(key: signingKey(date: date), message: Array(stringToSign.utf8)))
    }

    // MARK: Helpers

    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lowercase hex SHA-256.
    public static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: bytes)))
    }

    /// Lowercase hex SHA-256 of bytes read in place (a buffer's readable bytes), without copying them.
    public static func hexSHA256(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hex(Array(hasher.finalize()))
    }

    /// Lowercase hex encoding.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
