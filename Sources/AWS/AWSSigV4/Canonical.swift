/// The SigV4 canonicalisation rules, exposed for tests and for callers that build URLs.
///
/// All functions are pure and byte-oriented (UTF-8); they match botocore's `SigV4Auth`.
public enum SigV4Canonical {
    /// Headers never signed (hop-by-hop and agent headers), as botocore's `SIGNED_HEADERS_BLACKLIST`.
    public static let unsignedHeaderNames: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// Hex SHA-256 of the empty string: the payload hash of a request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The payload-hash placeholder for presigned URLs whose body is not signed.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes every byte outside the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`),
    /// with uppercase hex; `/` is kept when `encodeSlash` is false. `%` is always encoded.
    public static func uriEncode(_ string: String, encodeSlash: Bool = true) -> String {
        uriEncode(bytes: Array(string.utf8), encodeSlash: encodeSlash)
    }

    /// Byte form of ``uriEncode(_:encodeSlash:)``.
    public static func uriEncode(bytes: [UInt8], encodeSlash: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for c in bytes {
            if isUnreserved(c) || (!encodeSlash && c == UInt8(ascii: "/")) {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (either hex case); malformed escapes are kept literally. `+` is not a space.
    public static func percentDecode<S: StringProtocol>(_ string: S) -> [UInt8] {
        let b = Array(string.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count,
                let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2])
            {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Removes `.`/`..` segments and empty segments (consecutive slashes), keeping a leading and
    /// (for a non-empty result) a trailing `/`; the empty path becomes `/`. Same as botocore's
    /// `normalize_url_path`.
    public static func normalizePath(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }

    /// The canonical URI for a path as it appears on the wire (already percent-encoded).
    ///
    /// - For every service except S3, the path is normalised (``normalizePath(_:)``) and then
    ///   URI-encoded again with `/` kept, so an escape such as `%20` becomes `%2520` ("double
    ///   encoding", as AWS and botocore do).
    /// - For S3 (`service == "s3"`), the path is not normalised and is encoded once: existing
    ///   escapes are decoded and each segment re-encoded with the unreserved set.
    public static func canonicalURI(path: String, service: String) -> String {
        if service == "s3" {
            if path.isEmpty { return "/" }
            return uriEncode(bytes: percentDecode(path), encodeSlash: false)
        }
        return uriEncode(normalizePath(path), encodeSlash: false)
    }

    /// Splits a raw query string (no leading `?`) into decoded name/value byte pairs, in order.
    /// Empty `&&` pieces are skipped; a piece without `=` has an empty value.
    public static func parseQuery(_ query: String) -> [(name: [UInt8], value: [UInt8])] {
        var result: [(name: [UInt8], value: [UInt8])] = []
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = piece.firstIndex(of: "=") {
                result.append((percentDecode(piece[..<eq]), percentDecode(piece[piece.index(after: eq)...])))
            } else {
                result.append((percentDecode(piece), []))
            }
        }
        return result
    }

    /// Encodes name/value pairs with the unreserved set and sorts them by encoded name, then
    /// encoded value; joined as `name=value` with `&` (empty values give `name=`).
    public static func canonicalQuery(_ pairs: [(name: [UInt8], value: [UInt8])]) -> String {
        let encoded = pairs.map { (uriEncode(bytes: $0.name), uriEncode(bytes: $0.value)) }
        let sorted = encoded.sorted { a, b in
            if a.0 != b.0 { return a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
            return a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
        }
        return sorted.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// Canonical query string for a raw (wire) query string.
    public static func canonicalQuery(_ query: String) -> String {
        canonicalQuery(parseQuery(query))
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// Trims leading/trailing whitespace and collapses internal runs of whitespace to one space.
    public static func trimAll(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for c in value.utf8 {
            if isSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// ASCII lowercase (header names are ASCII tokens).
    public static func lowercaseASCII(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func validateHeaderName(_ name: String) throws(AWSSigningError) {
        guard !name.isEmpty else { throw AWSSigningError(.invalidHeaderName, "empty header name") }
        for c in name.utf8 where c <= 0x20 || c == UInt8(ascii: ":") || c == 0x7F {
            throw AWSSigningError(.invalidHeaderName, "invalid header name \(String(reflecting: name))")
        }
    }

    /// Canonical headers block and signed-headers list for the headers to sign.
    ///
    /// Names are lowercased and sorted; values are ``trimAll(_:)``-ed; several headers with the
    /// same name are joined with `,` in their original order. Headers in ``unsignedHeaderNames``
    /// are left out. `canonical` has one `name:value\n` line per header (ending with a newline).
    public static func canonicalHeaders(
        _ headers: [(String, String)]
    ) throws(AWSSigningError) -> (canonical: String, signed: String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            try validateHeaderName(name)
            let lower = lowercaseASCII(name)
            if unsignedHeaderNames.contains(lower) { continue }
            if values[lower] == nil { order.append(lower) }
            values[lower, default: []].append(trimAll(value))
        }
        order.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var canonical = ""
        for name in order {
            canonical += name + ":" + (values[name] ?? []).joined(separator: ",") + "\n"
        }
        return (canonical, order.joined(separator: ";"))
    }
}
