public import AWSCredentials
public import CoreMetrics
public import GatewayConfig
public import GatewayCore
public import KafkaClient
public import KafkaSink
public import Logging
public import MSKIAMAuth

extension SinkRegistration {
    /// The Kafka sink, when the configuration has a `kafka:` section. The sink is its own service: it drives its
    /// retries and closes its producer after its dispatcher drained and flushed it.
    static let kafka = SinkRegistration(
        id: .kafka,
        isConfigured: { $0.kafka != nil },
        problems: { configuration in configuration.kafka.map(KafkaProducerSettings.validate) ?? [] },
        httpConnections: { configuration in configuration.kafka.map(KafkaProducerSettings.usesMSKIAM) == true ? 8 : nil },
        make: { wiring throws(GatewayStartupError) in
            guard let kafka = wiring.configuration.kafka else { throw GatewayStartupError(message: "kafka: the section is missing") }
            let region = AWSRegionResolver.resolve(configured: nil, environment: wiring.environment)
            let credentials = wiring.httpClient.map {
                DefaultCredentialChain(environment: wiring.environment, httpClient: $0, region: region, logger: wiring.logger)
            }
            let sink: KafkaSink
            do throws(KafkaSettingsError) {
                sink = try KafkaSink(
                    configuration: kafka, credentials: credentials, region: region, logger: wiring.logger, metricsFactory: wiring.metrics,
                    clock: ElapsedClock(wiring.clock))
            } catch {
                throw GatewayStartupError(message: "\(error.path): \(error.message)")
            }
            return WiredSink(sink: sink, services: [sink])
        }
    )
}

/// Why the `kafka:` section cannot be used: a setting librdkafka (or the sink) does not accept, missing AWS
/// credentials for MSK IAM, or a producer that could not be created. Secrets are never included.
public struct KafkaSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is, in the configuration file's terms: `kafka.security.protocol`,
    /// `kafka.properties["linger.ms"]`, or `kafka` for the section as a whole.
    public var path: String
    /// What is wrong, for a person.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

extension KafkaSink {
    /// The sink for the `kafka:` section (see ``KafkaSinkConfiguration/init(_:)``).
    /// - Throws: ``KafkaSettingsError`` naming the configuration key.
    public convenience init(
        configuration kafka: KafkaConfiguration, credentials: (any AWSCredentialProvider)?, region: String, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory, clock: ElapsedClock = ElapsedClock()
    ) throws(KafkaSettingsError) {
        let configuration = try KafkaSinkConfiguration(kafka)
        do throws(KafkaConfigurationError) {
            try self.init(
                configuration: configuration, credentials: credentials, region: region, logger: logger, metricsFactory: metricsFactory,
                clock: clock)
        } catch {
            let path = KafkaProducerSettings.path(of: error.property, in: kafka)
            throw KafkaSettingsError(path: path, message: error.property == "sasl.mechanism" ? error.message : "librdkafka says \(error.message)")
        }
    }
}

extension KafkaConnectionConfiguration {
    /// The brokers and security of the `kafka:` section: `bootstrap_servers`, `security.protocol`,
    /// `security.sasl_mechanism` (required with a `sasl_*` protocol), `username`, `password`, `ca_file`, `cert_file`,
    /// `key_file`.
    /// - Throws: ``KafkaSettingsError`` for missing servers, an unsupported protocol or mechanism, or a SASL protocol
    ///   without mechanism.
    public init(_ kafka: KafkaConfiguration) throws(KafkaSettingsError) {
        let servers = kafka.bootstrapServers.trimmingSpaces
        guard !servers.isEmpty else {
            throw KafkaSettingsError(path: "kafka.bootstrap_servers", message: "missing (a comma-separated host:port list)")
        }
        let security = kafka.security
        guard let securityProtocol = SecurityProtocol(name: security.securityProtocol) else {
            throw KafkaSettingsError(
                path: "kafka.security.protocol",
                message: "unsupported protocol '\(security.securityProtocol)' (one of \(SecurityProtocol.names.joined(separator: ", ")))")
        }
        var mechanism: SASLMechanism?
        if securityProtocol.usesSASL {
            guard let name = security.saslMechanism else {
                throw KafkaSettingsError(
                    path: "kafka.security.sasl_mechanism", message: "missing (required when protocol is '\(securityProtocol)')")
            }
            guard let parsed = SASLMechanism(name: name) else {
                throw KafkaSettingsError(
                    path: "kafka.security.sasl_mechanism",
                    message: "unsupported SASL mechanism '\(name.uppercased())' (one of \(SASLMechanism.names.joined(separator: ", ")))")
            }
            mechanism = parsed
        }
        self.init(
            bootstrapServers: servers, securityProtocol: securityProtocol, saslMechanism: mechanism, username: security.username,
            password: security.password, caFile: security.caFile, certFile: security.certFile, keyFile: security.keyFile)
    }
}

extension KafkaSinkConfiguration {
    /// The sink's configuration from the `kafka:` section: the connection (``KafkaConnectionConfiguration/init(_:)``),
    /// `acks`, `compression`, `linger_ms`, `batch_size`, `message_max_bytes` and the pass-through `properties`.
    /// - Throws: ``KafkaSettingsError`` naming the key of an unsupported value.
    public init(_ kafka: KafkaConfiguration) throws(KafkaSettingsError) {
        self.init(connection: try KafkaConnectionConfiguration(kafka))
        guard let acks = Acks(name: kafka.acks) else {
            throw KafkaSettingsError(path: "kafka.acks", message: "unsupported value '\(kafka.acks)' (one of all, 1, 0)")
        }
        self.acks = acks
        guard let compression = Compression(name: kafka.compression) else {
            throw KafkaSettingsError(
                path: "kafka.compression",
                message: "unsupported compression '\(kafka.compression)' (one of \(Compression.names.joined(separator: ", ")))")
        }
        self.compression = compression
        linger = .milliseconds(kafka.lingerMs)
        batchSize = kafka.batchSize
        messageMaxBytes = kafka.messageMaxBytes
        properties = kafka.properties
    }
}

extension KafkaProducerSettings {
    /// The librdkafka producer properties for the `kafka:` section (see ``KafkaProducerSettings``).
    /// - Throws: ``KafkaSettingsError`` naming the key of an unsupported value.
    public static func properties(for kafka: KafkaConfiguration) throws(KafkaSettingsError) -> [String: String] {
        KafkaProducerSettings(configuration: try KafkaSinkConfiguration(kafka)).properties
    }

    /// Whether the `kafka:` section authenticates with Amazon MSK IAM.
    public static func usesMSKIAM(_ kafka: KafkaConfiguration) -> Bool {
        SASLMechanismName.isMSKIAM(kafka)
    }

    /// Every problem in the `kafka:` section, as lines for `sluice check-config` and start-up, each naming its key:
    /// `kafka.properties["linger.ms"]: librdkafka says …` (or the mapped setting's path, e.g.
    /// `kafka.security.ca_file`, or `kafka` when librdkafka refuses the combination). Empty when a producer can be
    /// created.
    public static func validate(_ kafka: KafkaConfiguration) -> [String] {
        let settings: KafkaProducerSettings
        do {
            settings = KafkaProducerSettings(configuration: try KafkaSinkConfiguration(kafka))
        } catch {
            return [error.description]
        }
        return settings.problems().map { problem in "\(path(of: problem.property, in: kafka)): librdkafka says \(problem.message)" }
    }

    /// The configuration path a librdkafka property came from.
    static func path(of property: String?, in kafka: KafkaConfiguration) -> String {
        guard let property else { return "kafka" }
        if kafka.properties[property] != nil { return "kafka.properties" + propertyKey(property) }
        return mappedPaths[property] ?? ("kafka.properties" + propertyKey(property))
    }

    /// `["name"]`, the way the configuration decoder prints a free-form key.
    static func propertyKey(_ name: String) -> String {
        var escaped = ""
        for character in name {
            if character == "\\" || character == "\"" { escaped.append("\\") }
            escaped.append(character)
        }
        return "[\"\(escaped)\"]"
    }

    static let mappedPaths: [String: String] = [
        "bootstrap.servers": "kafka.bootstrap_servers",
        "security.protocol": "kafka.security.protocol",
        "sasl.mechanism": "kafka.security.sasl_mechanism",
        "sasl.username": "kafka.security.username",
        "sasl.password": "kafka.security.password",
        "ssl.ca.location": "kafka.security.ca_file",
        "ssl.certificate.location": "kafka.security.cert_file",
        "ssl.key.location": "kafka.security.key_file",
        "acks": "kafka.acks",
        "compression.type": "kafka.compression",
        "linger.ms": "kafka.linger_ms",
        "batch.size": "kafka.batch_size",
        "message.max.bytes": "kafka.message_max_bytes",
    ]
}

extension MSKIAMTokenProvider {
    /// The provider the `kafka:` section needs (``MSKIAMTokenProvider/make(for:credentials:region:logger:)``, the one
    /// factory), nil without MSK IAM. Not started.
    /// - Throws: ``KafkaSettingsError`` at `kafka.security.sasl_mechanism` when MSK IAM has no credentials or the
    ///   region is unusable, or the section's own problem.
    public static func forKafka(
        _ kafka: KafkaConfiguration, credentials: (any AWSCredentialProvider)?, region: String, logger: Logger
    ) throws(KafkaSettingsError) -> MSKIAMTokenProvider? {
        let connection = try KafkaConnectionConfiguration(kafka)
        do throws(MSKIAMAuthError) {
            return try make(for: connection, credentials: credentials, region: region, logger: logger)
        } catch {
            let message = error.message.hasPrefix("AWS_MSK_IAM") ? error.message : "AWS_MSK_IAM: \(error.message)"
            throw KafkaSettingsError(path: "kafka.security.sasl_mechanism", message: message)
        }
    }
}

/// Reads MSK IAM off the raw section without validating the rest (for sizing the HTTP client).
private enum SASLMechanismName {
    static func isMSKIAM(_ kafka: KafkaConfiguration) -> Bool {
        KafkaConnectionConfiguration.SecurityProtocol(name: kafka.security.securityProtocol)?.usesSASL == true
            && kafka.security.saslMechanism.flatMap(KafkaConnectionConfiguration.SASLMechanism.init(name:)) == .awsMSKIAM
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (no Foundation).
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
