#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which addresses a webhook may connect to (`network.allowed_webhook_hosts`): public addresses always; loopback,
/// private, link-local (cloud metadata included), shared, multicast and reserved ranges only when a host name or a
/// CIDR block in the list allows them. Checked on the address actually connected to, so DNS rebinding cannot move a
/// webhook onto a refused one.
public struct WebhookAddressPolicy: Sendable, Equatable {
    /// An IP network: address bytes (4 or 16) and prefix length.
    struct Network: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefix
            for index in 0..<bytes.count where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != bytes[index] & mask { return false }
                remaining -= bits
            }
            return true
        }

        /// `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128).
        init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = WebhookAddressPolicy.parseAddress(String(parts[0])) else { return nil }
            let maximum = address.count * 8
            if parts.count == 2 {
                guard let prefix = Int(parts[1]), prefix >= 0, prefix <= maximum else { return nil }
                self.prefix = prefix
            } else {
                self.prefix = maximum
            }
            self.bytes = address
        }
    }

    let allowedHosts: Set<String>
    let allowedNetworks: [Network]

    /// The refused ranges (RFC 6890 special-purpose registries plus cloud metadata).
    static let refused: [Network] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10",
        "ff00::/8",
    ].compactMap(Network.init)

    /// `allowed`: host names (matched case-insensitively against the URL's host) and addresses or CIDR blocks.
    public init(allowed: [String]) {
        var hosts = Set<String>()
        var networks: [Network] = []
        for entry in allowed {
            if let network = Network(entry) {
                networks.append(network)
            } else {
                hosts.insert(entry.lowercased())
            }
        }
        self.allowedHosts = hosts
        self.allowedNetworks = networks
    }

    /// Whether a webhook for `host` may connect to `address` (4 or 16 bytes).
    public func permits(host: String, address: [UInt8]) -> Bool {
        if allowedHosts.contains(host.lowercased()) { return true }
        if allowedNetworks.contains(where: { $0.contains(address) }) { return true }
        let effective = Self.embeddedIPv4(address) ?? address
        if effective.count != address.count, allowedNetworks.contains(where: { $0.contains(effective) }) { return true }
        return !Self.refused.contains { $0.contains(effective) }
    }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible IPv6 address.
    static func embeddedIPv4(_ address: [UInt8]) -> [UInt8]? {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }) else { return nil }
        let marker = (address[10], address[11])
        guard marker == (0xFF, 0xFF) || (marker == (0, 0) && address[12..<16].contains { $0 != 0 }) else { return nil }
        return Array(address[12..<16])
    }

    /// The bytes of an IPv4 or IPv6 literal (brackets allowed), nil for anything else.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
