/// The parts of an absolute `scheme://authority/path?query#fragment` URL, split without decoding.
public struct SigV4URL: Sendable, Equatable {
    /// Lowercased scheme, e.g. `https`.
    public var scheme: String
    /// The authority exactly as written (may include userinfo and port).
    public var authority: String
    /// The path as written (already percent-encoded on the wire); may be empty.
    public var path: String
    /// The query without `?`, or nil when there is no `?`.
    public var query: String?
    /// The fragment without `#`, or nil.
    public var fragment: String?

    /// Splits `url`; throws when there is no `scheme://host`.
    public init(parsing url: String) throws(AWSSigningError) {
        // The scheme ends at the first ":"; it must be followed by "//".
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw AWSSigningError(.invalidURL, "URL has no scheme: \(String(reflecting: url))")
        }
        let scheme = url[..<colon]
        guard let first = scheme.utf8.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A,
            scheme.utf8.allSatisfy({ c in
                (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A || (c >= 0x30 && c <= 0x39)
                    || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            })
        else { throw AWSSigningError(.invalidURL, "URL has an invalid scheme: \(String(reflecting: url))") }
        self.scheme = SigV4Canonical.lowercaseASCII(String(scheme))
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        } else {
            fragment = nil
        }
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        } else {
            query = nil
        }
        if let slash = rest.firstIndex(of: "/") {
            authority = String(rest[..<slash])
            path = String(rest[slash...])
        } else {
            authority = String(rest)
            path = ""
        }
        _ = try hostHeader()
    }

    /// The `Host` header value: lowercased host without userinfo, with `:port` only when the port
    /// is not the scheme's default (80 for http, 443 for https). IPv6 literals keep brackets.
    public func hostHeader() throws(AWSSigningError) -> String {
        var hostPort = Substring(authority)
        if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }
        let host: Substring
        var port: Substring = ""
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw AWSSigningError(.invalidURL, "unterminated IPv6 literal in \(String(reflecting: authority))")
            }
            host = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                port = after.dropFirst()
            } else if !after.isEmpty {
                throw AWSSigningError(.invalidURL, "junk after IPv6 literal in \(String(reflecting: authority))")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            port = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw AWSSigningError(.invalidURL, "URL has no host: \(String(reflecting: authority))") }
        let lowerHost = SigV4Canonical.lowercaseASCII(String(host))
        if port.isEmpty { return lowerHost }
        guard port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(port),
            number <= 65535
        else { throw AWSSigningError(.invalidURL, "invalid port in \(String(reflecting: authority))") }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : -1
        return number == defaultPort ? lowerHost : lowerHost + ":" + String(number)
    }
}
