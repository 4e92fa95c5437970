public import GatewayConfig
internal import KafkaClient

/// Why the Kafka sink could not be set up from its configuration: a setting librdkafka (or the
/// sink) does not accept, missing AWS credentials for MSK IAM, or a producer that could not be
/// created. Secrets are never included.
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

/// The librdkafka producer properties derived from the `kafka:` configuration section.
///
/// Mapping, in order (later entries override earlier ones):
/// - `bootstrap_servers` → `bootstrap.servers`;
/// - `security.protocol` → `security.protocol` (`plaintext`, `ssl`, `sasl_plaintext`, `sasl_ssl`);
/// - with a `sasl_*` protocol: `sasl_mechanism` `PLAIN` / `SCRAM-SHA-256` / `SCRAM-SHA-512` →
///   `sasl.mechanism` with `sasl.username` / `sasl.password`; `AWS_MSK_IAM` →
///   `sasl.mechanism=OAUTHBEARER` (tokens from ``MSKIAMTokenProvider``);
/// - `ca_file` / `cert_file` / `key_file` → `ssl.ca.location` / `ssl.certificate.location` /
///   `ssl.key.location`;
/// - `acks`, `compression` → `compression.type`, `linger_ms` → `linger.ms`, `batch_size` →
///   `batch.size`, `message_max_bytes` → `message.max.bytes`;
/// - `enable.idempotence=true` (when `acks` is `all`, which idempotence requires; `false`
///   otherwise), `statistics.interval.ms=5000` (the sink's broker metrics) and
///   `queue.buffering.max.kbytes=32768` (librdkafka's own default is 1 GiB: the queue is bounded to 32 MiB so large
///   events wait in the log, not in memory);
/// - finally every entry of `properties`, as is: the user's value wins.
public struct KafkaProducerSettings: Sendable, Equatable {
    /// The librdkafka properties the producer is created with.
    public var properties: [String: String]
    /// Whether SASL/OAUTHBEARER with Amazon MSK IAM tokens is used (needs AWS credentials).
    public var usesMSKIAM: Bool

    /// The default `statistics.interval.ms` (the statistics feed the broker RTT and queue gauges).
    public static let defaultStatisticsIntervalMs = 5000
    /// The default `queue.buffering.max.kbytes`: what librdkafka may hold in memory (32 MiB; 64 MiB measured the same
    /// throughput on Tansu with 120 MiB more peak RSS, see docs/kafka.md).
    public static let defaultQueueKilobytes = 32768

    /// Derives the settings from `configuration`.
    public init(configuration: KafkaConfiguration) throws(KafkaSettingsError) {
        properties = try Self.properties(for: configuration)
        usesMSKIAM = Self.usesMSKIAM(configuration)
    }

    /// Whether `configuration` authenticates with Amazon MSK IAM.
    public static func usesMSKIAM(_ configuration: KafkaConfiguration) -> Bool {
        configuration.security.securityProtocol.lowercased().hasPrefix("sasl_")
            && configuration.security.saslMechanism?.uppercased() == "AWS_MSK_IAM"
    }

    /// The librdkafka producer properties for `configuration` (see the type's documentation).
    ///
    /// - Throws: ``KafkaSettingsError`` for a missing `bootstrap_servers`, an unsupported
    ///   protocol, SASL mechanism, `acks` or compression, or a SASL protocol without mechanism.
    public static func properties(for configuration: KafkaConfiguration) throws(KafkaSettingsError) -> [String: String] {
        var properties: [String: String] = [:]
        let servers = configuration.bootstrapServers.trimmingSpaces
        guard !servers.isEmpty else {
            throw KafkaSettingsError(path: "kafka.bootstrap_servers", message: "missing (a comma-separated host:port list)")
        }
        properties["bootstrap.servers"] = servers

        let security = configuration.security
        let securityProtocol = security.securityProtocol.lowercased()
        guard Self.securityProtocols.contains(securityProtocol) else {
            throw KafkaSettingsError(
                path: "kafka.security.protocol",
                message: "unsupported protocol '\(security.securityProtocol)' (one of \(Self.securityProtocols.joined(separator: ", ")))")
        }
        properties["security.protocol"] = securityProtocol
        if securityProtocol.hasPrefix("sasl_") {
            guard let mechanism = security.saslMechanism?.uppercased() else {
                throw KafkaSettingsError(
                    path: "kafka.security.sasl_mechanism", message: "missing (required when protocol is '\(securityProtocol)')")
            }
            switch mechanism {
            case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
                properties["sasl.mechanism"] = mechanism
                if let username = security.username { properties["sasl.username"] = username }
                if let password = security.password { properties["sasl.password"] = password }
            case "AWS_MSK_IAM":
                properties["sasl.mechanism"] = "OAUTHBEARER"
            default:
                throw KafkaSettingsError(
                    path: "kafka.security.sasl_mechanism",
                    message: "unsupported SASL mechanism '\(mechanism)' (one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, AWS_MSK_IAM)")
            }
        }
        if let caFile = security.caFile { properties["ssl.ca.location"] = caFile }
        if let certFile = security.certFile { properties["ssl.certificate.location"] = certFile }
        if let keyFile = security.keyFile { properties["ssl.key.location"] = keyFile }

        let acks = configuration.acks == "-1" ? "all" : configuration.acks.lowercased()
        guard ["all", "1", "0"].contains(acks) else {
            throw KafkaSettingsError(path: "kafka.acks", message: "unsupported value '\(configuration.acks)' (one of all, 1, 0)")
        }
        properties["acks"] = acks
        let compression = configuration.compression.lowercased()
        guard Self.compressions.contains(compression) else {
            throw KafkaSettingsError(
                path: "kafka.compression",
                message: "unsupported compression '\(configuration.compression)' (one of \(Self.compressions.joined(separator: ", ")))")
        }
        properties["compression.type"] = compression
        properties["linger.ms"] = String(configuration.lingerMs)
        properties["batch.size"] = String(configuration.batchSize)
        properties["message.max.bytes"] = String(configuration.messageMaxBytes)
        // Idempotence (no duplicates from librdkafka's own retries, order kept) requires acks=all.
        properties["enable.idempotence"] = acks == "all" ? "true" : "false"
        properties["statistics.interval.ms"] = String(Self.defaultStatisticsIntervalMs)
        properties["queue.buffering.max.kbytes"] = String(Self.defaultQueueKilobytes)

        for (name, value) in configuration.properties {
            properties[name] = value
        }
        return properties
    }

    /// Every problem librdkafka finds in the properties derived from `configuration`, as lines
    /// for `sluice check-config` and start-up: `kafka.properties["linger.ms"]: librdkafka says …`
    /// (or the mapped setting's path, e.g. `kafka.security.ca_file`, or `kafka` when librdkafka
    /// refuses the combination). Empty when a producer can be created.
    ///
    /// The properties are really applied to an `rd_kafka_conf_t` (one at a time, so every bad
    /// property is named), then a producer is created without brokers and destroyed.
    public static func validate(_ configuration: KafkaConfiguration) -> [String] {
        let properties: [String: String]
        do {
            properties = try Self.properties(for: configuration)
        } catch {
            return [error.description]
        }
        return KafkaConfigurationCheck.problems(producerProperties: properties).map { problem in
            "\(path(of: problem.property, in: configuration)): librdkafka says \(problem.message)"
        }
    }

    /// The configuration path a librdkafka property came from.
    static func path(of property: String?, in configuration: KafkaConfiguration) -> String {
        guard let property else { return "kafka" }
        if configuration.properties[property] != nil { return "kafka.properties" + propertyKey(property) }
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

    static let securityProtocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]
    static let compressions = ["none", "gzip", "snappy", "lz4", "zstd"]
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

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (no Foundation).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
