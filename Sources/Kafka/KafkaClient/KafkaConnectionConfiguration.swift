/// How a client reaches the brokers: the bootstrap servers, the security protocol, SASL and TLS. Shared by the
/// producer (the Kafka sink) and the topic reader (`sluice verify --kafka`), so both connect the same way.
public struct KafkaConnectionConfiguration: Sendable, Equatable {
    /// `security.protocol`.
    public struct SecurityProtocol: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, CaseIterable {
            case plaintext, ssl
            case saslPlaintext = "sasl_plaintext"
            case saslSSL = "sasl_ssl"
        }
        private let value: Value

        /// No TLS, no authentication.
        public static let plaintext = SecurityProtocol(value: .plaintext)
        /// TLS, optionally with a client certificate.
        public static let ssl = SecurityProtocol(value: .ssl)
        /// SASL authentication without TLS.
        public static let saslPlaintext = SecurityProtocol(value: .saslPlaintext)
        /// SASL authentication over TLS (Amazon MSK IAM uses this).
        public static let saslSSL = SecurityProtocol(value: .saslSSL)

        /// Every protocol's name, in documentation order.
        public static let names = Value.allCases.map(\.rawValue)

        /// The protocol named `name` (`plaintext`, `ssl`, `sasl_plaintext`, `sasl_ssl`; any case), nil for others.
        public init?(name: String) {
            guard let value = Value(rawValue: name.lowercased()) else { return nil }
            self.value = value
        }

        private init(value: Value) { self.value = value }

        /// librdkafka's value (and the configuration file's): `sasl_ssl`.
        public var name: String { value.rawValue }
        /// Whether the protocol authenticates with SASL (and so needs a ``SASLMechanism``).
        public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
        public var description: String { name }
    }

    /// `sasl.mechanism`, with Amazon MSK IAM as a mechanism of its own (OAUTHBEARER with MSK IAM tokens).
    public struct SASLMechanism: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, CaseIterable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
            case awsMSKIAM = "AWS_MSK_IAM"
        }
        private let value: Value

        /// User name and password in the clear (over TLS).
        public static let plain = SASLMechanism(value: .plain)
        /// SCRAM with SHA-256.
        public static let scramSHA256 = SASLMechanism(value: .scramSHA256)
        /// SCRAM with SHA-512.
        public static let scramSHA512 = SASLMechanism(value: .scramSHA512)
        /// Amazon MSK IAM: `OAUTHBEARER` with tokens presigned from AWS credentials (`MSKIAMTokenProvider`).
        public static let awsMSKIAM = SASLMechanism(value: .awsMSKIAM)

        /// Every mechanism's name, in documentation order.
        public static let names = Value.allCases.map(\.rawValue)

        /// The mechanism named `name` (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `AWS_MSK_IAM`; any case).
        public init?(name: String) {
            guard let value = Value(rawValue: name.uppercased()) else { return nil }
            self.value = value
        }

        private init(value: Value) { self.value = value }

        /// The configuration file's name: `AWS_MSK_IAM`.
        public var name: String { value.rawValue }
        /// What librdkafka's `sasl.mechanism` is set to (`OAUTHBEARER` for MSK IAM).
        public var librdkafkaName: String { self == .awsMSKIAM ? "OAUTHBEARER" : value.rawValue }
        /// Whether librdkafka asks for tokens (``KafkaClientHandlers/oauthBearerToken`` must be set).
        public var usesOAuthBearerTokens: Bool { self == .awsMSKIAM }
        public var description: String { name }
    }

    /// `bootstrap.servers`: a comma-separated `host:port` list.
    public var bootstrapServers: String
    /// `security.protocol`. Default ``SecurityProtocol/plaintext``.
    public var securityProtocol: SecurityProtocol
    /// The SASL mechanism; used only with a SASL ``securityProtocol``.
    public var saslMechanism: SASLMechanism?
    /// `sasl.username` (PLAIN, SCRAM).
    public var username: String?
    /// `sasl.password` (PLAIN, SCRAM).
    public var password: String?
    /// `ssl.ca.location`.
    public var caFile: String?
    /// `ssl.certificate.location`.
    public var certFile: String?
    /// `ssl.key.location`.
    public var keyFile: String?

    /// Creates a connection configuration; only the servers are required.
    public init(
        bootstrapServers: String, securityProtocol: SecurityProtocol = .plaintext, saslMechanism: SASLMechanism? = nil,
        username: String? = nil, password: String? = nil, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil
    ) {
        self.bootstrapServers = bootstrapServers
        self.securityProtocol = securityProtocol
        self.saslMechanism = saslMechanism
        self.username = username
        self.password = password
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// The SASL mechanism in effect: ``saslMechanism`` when the protocol uses SASL, nil otherwise.
    public var effectiveSASLMechanism: SASLMechanism? { securityProtocol.usesSASL ? saslMechanism : nil }

    /// Whether the client authenticates with Amazon MSK IAM tokens.
    public var usesMSKIAM: Bool { effectiveSASLMechanism == .awsMSKIAM }

    /// The librdkafka properties: `bootstrap.servers`, `security.protocol`, and with SASL `sasl.mechanism` (with
    /// `sasl.username`/`sasl.password` for PLAIN and SCRAM), and the `ssl.*.location` files that are set.
    public var properties: [String: String] {
        var properties = ["bootstrap.servers": bootstrapServers, "security.protocol": securityProtocol.name]
        if let mechanism = effectiveSASLMechanism {
            properties["sasl.mechanism"] = mechanism.librdkafkaName
            if !mechanism.usesOAuthBearerTokens {
                if let username { properties["sasl.username"] = username }
                if let password { properties["sasl.password"] = password }
            }
        }
        if let caFile { properties["ssl.ca.location"] = caFile }
        if let certFile { properties["ssl.certificate.location"] = certFile }
        if let keyFile { properties["ssl.key.location"] = keyFile }
        return properties
    }
}
