import AWSCredentials
import AWSSigV4
import GatewayApp
import GatewayConfig
import KafkaClient
import KafkaSink
import MSKIAMAuth
import Testing

/// `kafka:` configuration → librdkafka properties, and `validate` through librdkafka itself.
@Suite struct SettingsTests {
    static func configuration() -> KafkaConfiguration {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = "b-1.example:9092,b-2.example:9092"
        return configuration
    }

    @Test func defaultsMapToProperties() throws {
        let properties = try KafkaProducerSettings.properties(for: Self.configuration())
        #expect(
            properties == [
                "bootstrap.servers": "b-1.example:9092,b-2.example:9092",
                "security.protocol": "plaintext",
                "acks": "all",
                "compression.type": "none",
                "linger.ms": "5",
                "batch.size": "1000000",
                "message.max.bytes": "8388608",
                "enable.idempotence": "true",
                "statistics.interval.ms": "5000",
                "queue.buffering.max.kbytes": "32768",
            ])
        #expect(KafkaProducerSettings.validate(Self.configuration()) == [])
    }

    @Test func everyConfigurationKeyMapsToItsProperty() throws {
        var configuration = Self.configuration()
        configuration.security.securityProtocol = "sasl_ssl"
        configuration.security.saslMechanism = "SCRAM-SHA-512"
        configuration.security.username = "alice"
        configuration.security.password = "s3cret"
        configuration.security.caFile = "/etc/ca.pem"
        configuration.security.certFile = "/etc/client.pem"
        configuration.security.keyFile = "/etc/client.key"
        configuration.acks = "1"
        configuration.compression = "zstd"
        configuration.lingerMs = 20
        configuration.batchSize = 65536
        configuration.messageMaxBytes = 2_000_000
        let properties = try KafkaProducerSettings.properties(for: configuration)
        #expect(properties["security.protocol"] == "sasl_ssl")
        #expect(properties["sasl.mechanism"] == "SCRAM-SHA-512")
        #expect(properties["sasl.username"] == "alice")
        #expect(properties["sasl.password"] == "s3cret")
        #expect(properties["ssl.ca.location"] == "/etc/ca.pem")
        #expect(properties["ssl.certificate.location"] == "/etc/client.pem")
        #expect(properties["ssl.key.location"] == "/etc/client.key")
        #expect(properties["acks"] == "1")
        #expect(properties["enable.idempotence"] == "false", "idempotence needs acks=all")
        #expect(properties["compression.type"] == "zstd")
        #expect(properties["linger.ms"] == "20")
        #expect(properties["batch.size"] == "65536")
        #expect(properties["message.max.bytes"] == "2000000")

        for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
            configuration.security.saslMechanism = mechanism
            #expect(try KafkaProducerSettings.properties(for: configuration)["sasl.mechanism"] == mechanism)
        }
        for compression in ["none", "gzip", "snappy", "lz4", "zstd"] {
            configuration.compression = compression
            #expect(try KafkaProducerSettings.properties(for: configuration)["compression.type"] == compression)
        }
        for securityProtocol in ["plaintext", "ssl"] {
            configuration.security.securityProtocol = securityProtocol
            let plain = try KafkaProducerSettings.properties(for: configuration)
            #expect(plain["security.protocol"] == securityProtocol)
            #expect(plain["sasl.mechanism"] == nil, "no SASL without a sasl_* protocol")
        }
    }

    @Test func mskIAMUsesOAuthBearer() throws {
        var configuration = Self.configuration()
        configuration.security.securityProtocol = "sasl_ssl"
        configuration.security.saslMechanism = "AWS_MSK_IAM"
        let settings = KafkaProducerSettings(configuration: try KafkaSinkConfiguration(configuration))
        #expect(settings.usesMSKIAM)
        #expect(settings.properties["sasl.mechanism"] == "OAUTHBEARER")
        #expect(settings.properties["sasl.username"] == nil)
        #expect(KafkaProducerSettings.validate(configuration) == [])

        #expect(throws: KafkaSettingsError.self) {
            _ = try KafkaSink(configuration: configuration, credentials: nil, region: "eu-west-1", logger: SinkTestEnvironment.logger)
        }
    }

    @Test func userPropertiesWin() throws {
        var configuration = Self.configuration()
        configuration.lingerMs = 5
        configuration.properties = [
            "linger.ms": "50", "enable.idempotence": "false", "statistics.interval.ms": "0", "client.id": "sluice-test",
        ]
        let properties = try KafkaProducerSettings.properties(for: configuration)
        #expect(properties["linger.ms"] == "50")
        #expect(properties["enable.idempotence"] == "false")
        #expect(properties["statistics.interval.ms"] == "0")
        #expect(properties["client.id"] == "sluice-test")
    }

    @Test func missingBootstrapServersIsAnError() {
        #expect(throws: KafkaSettingsError(path: "kafka.bootstrap_servers", message: "missing (a comma-separated host:port list)")) {
            _ = try KafkaProducerSettings.properties(for: KafkaConfiguration())
        }
    }

    @Test func validateNamesUnknownAndInvalidProperties() {
        var configuration = Self.configuration()
        configuration.properties = ["no.such.property": "1", "linger.ms": "not-a-number", "client.id": "fine"]
        let problems = KafkaProducerSettings.validate(configuration)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("kafka.properties[\"no.such.property\"]: librdkafka says ") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("kafka.properties[\"linger.ms\"]: librdkafka says ") }, "\(problems)")
        #expect(!problems.joined().contains("fine"))
    }

    @Test func validateReportsConflictingCombinations() {
        var configuration = Self.configuration()
        configuration.properties = ["enable.idempotence": "true", "acks": "1"]
        let problems = KafkaProducerSettings.validate(configuration)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.hasPrefix("kafka: librdkafka says ") == true, "\(problems)")

        var mapped = Self.configuration()
        mapped.security.securityProtocol = "ssl"
        mapped.security.caFile = "/nonexistent/ca.pem"
        let sslProblems = KafkaProducerSettings.validate(mapped)
        #expect(sslProblems.count == 1, "\(sslProblems)")
    }

    @Test func mskTokenProviderBuildsAndReusesTokens() async throws {
        let credential = AWSCredential(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session")
        let provider = try MSKIAMTokenProvider(
            region: "eu-west-1", credentials: StaticCredentialProvider(credential), logger: SinkTestEnvironment.logger)
        #expect(await provider.refreshCredential())
        let first = try provider.token().get()
        let second = try provider.token().get()
        #expect(first == second, "the token is reused while most of its lifetime remains")
        #expect(first.principal == MSKIAMTokenProvider.principal)
        // The token is what the builder produces for that credential and signing time.
        let builder = try MSKIAMTokenBuilder(region: "eu-west-1")
        let signedAt = first.lifetimeMs / 1000 - Int64(MSKIAMTokenBuilder.expirySeconds)
        let expected = try builder.token(credential: credential, date: UnixTime(seconds: signedAt))
        #expect(first.value == expected.value)
        #expect(first.lifetimeMs == expected.expiresAtMs)
    }

    @Test func mskTokenProviderFailsWithoutCredentials() throws {
        struct Failing: AWSCredentialProvider {
            func credential() async throws(AWSCredentialError) -> AWSCredential {
                throw AWSCredentialError(source: "test", message: "no credentials")
            }
        }
        let provider = try MSKIAMTokenProvider(
            region: "eu-west-1", credentials: Failing(), firstCredentialWait: .milliseconds(1), logger: SinkTestEnvironment.logger)
        #expect(throws: (any Error).self) { try provider.token().get() }
    }
}
