import AWSCredentials
import ArgumentParser
import AsyncHTTPClient
import Foundation
import GatewayApp
import GatewayConfig
import KafkaClient
import KinesisAPI
import LoadGenerator
import Logging
import MSKIAMAuth
import Verification

/// `sluice verify --ids FILE [--archive DIR] [--kinesis STREAM] [--kafka TOPIC]`: checks that every acknowledged event
/// reached its destination, exactly once.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit delivery: every id in --ids must be in the archive and/or the Kinesis streams and Kafka topics.",
        discussion: """
            --archive reads every GZIP NDJSON file under the directory (skipping .staging/); files under the error \
            prefix are dead letters, reported separately. --kinesis reads every shard of the stream from TRIM_HORIZON \
            (KPL-aggregated records taken apart); --kafka reads every partition of the topic from its earliest offset to \
            its end. Both connect as `sluice serve` would with --config (endpoint, region, \
            AWS credential chain, Kafka security); --bootstrap-servers replaces kafka.bootstrap_servers.

            The archive receives every event and is audited on its own. Streams and topics are audited together, as \
            one destination: routing sends each event to exactly one of them (small ones to Kinesis, large ones to \
            Kafka). Exit status: 0 when every expected id was found in each audit and nothing is corrupt; 1 when an id \
            is missing or dead-lettered, a record or file is corrupt, or (with --fail-on-duplicates) an id appears more \
            than once; 2 when a source cannot be read; 64 for bad options. See docs/bench.md.
            """
    )

    @Option(name: .long, help: "The expected ids, one per line (sluice bench --ids writes it).")
    var ids: String

    @Option(name: .long, help: "The local archive's root directory (archive.root; ./data/archive by default).")
    var archive: String?

    @Option(name: .long, help: "The archive's error prefix, relative to the root (archive.error_prefix).")
    var errorPrefix: String = "errors/"

    @Option(name: .long, help: "A Kinesis data stream to read back (repeatable).")
    var kinesis: [String] = []

    @Option(name: .long, help: "A Kafka topic to read back (repeatable).")
    var kafka: [String] = []

    @Option(name: .long, help: "The gateway's configuration file: its kinesis: and kafka: sections say how to connect.")
    var config: String?

    @Option(name: .long, help: "Kafka bootstrap servers (host:port,…), replacing kafka.bootstrap_servers.")
    var bootstrapServers: String?

    @Option(name: .long, help: "How long reading the streams and topics may take, e.g. 2m (default 5m).", transform: DurationParser.parse)
    var timeout: Duration = .seconds(300)

    @Option(name: .long, help: "Only consider records whose id starts with this (one bench run's prefix); others are skipped.")
    var idPrefix: String?

    @Flag(name: .long, help: "Fail (exit 1) when an id appears more than once.")
    var failOnDuplicates = false

    @Option(name: .long, help: "How many ids each list shows.")
    var show: Int = 20

    @Option(name: .long, help: "Write the report as JSON to this file (an array of reports when there are two audits).")
    var json: String?

    func validate() throws {
        guard show >= 0 else { throw ValidationError("--show must not be negative") }
        guard archive != nil || !kinesis.isEmpty || !kafka.isEmpty else {
            throw ValidationError("name at least one destination: --archive DIR, --kinesis STREAM or --kafka TOPIC")
        }
        guard kafka.isEmpty || config != nil || bootstrapServers != nil else {
            throw ValidationError("--kafka needs the brokers: --config FILE (its kafka: section) or --bootstrap-servers")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let reports: [VerificationReport]
        do {
            reports = try await audit()
        } catch {
            FileHandle.standardError.write(Data("sluice verify: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        for report in reports { print(report.text(), terminator: "") }
        if let json {
            do {
                let text: String
                if reports.count == 1 {
                    text = try reports[0].json()
                } else {
                    text = "[\n" + (try reports.map { try $0.json() }).joined(separator: ",\n") + "]\n"
                }
                try Data(text.utf8).write(to: URL(fileURLWithPath: json))
            } catch {
                FileHandle.standardError.write(Data("sluice verify: cannot write \(json): \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        if let failed = reports.first(where: { $0.exitCode != 0 }) { throw ExitCode(failed.exitCode) }
    }

    /// Reads the ids and every source, and compares: the archive in one audit, the streams and topics in another.
    func audit() async throws(VerifyError) -> [VerificationReport] {
        let expected = try IDsFile.read(ids)
        var reports: [VerificationReport] = []
        if let archive {
            let source = LocalArchiveSource(root: archive, errorPrefix: errorPrefix)
            var audit = DeliveryAudit(expected: expected, idPrefix: idPrefix)
            try await source.scan(into: &audit)
            reports.append(audit.report(sources: [source.name], idsFile: ids, failOnDuplicates: failOnDuplicates, sampleSize: show))
        }
        if !kinesis.isEmpty || !kafka.isEmpty {
            var audit = DeliveryAudit(expected: expected, idPrefix: idPrefix)
            let names = try await scanBackends(into: &audit)
            reports.append(
                audit.report(
                    sources: names, idsFile: ids, failOnDuplicates: failOnDuplicates, sampleSize: show,
                    containerNoun: kafka.isEmpty ? "shard" : kinesis.isEmpty ? "partition" : "shard/partition"))
        }
        return reports
    }

    /// Reads every stream and topic into `audit`; returns their names.
    private func scanBackends(into audit: inout DeliveryAudit) async throws(VerifyError) -> [String] {
        let environment = ProcessInfo.processInfo.environment
        let logger = Logger(label: "sluice.verify")
        var configuration = Configuration.embeddedDefault
        if let config {
            let report = Configuration.load(contentsOfFile: config, environment: environment)
            guard let loaded = report.configuration, report.errors.isEmpty else {
                let problems = report.errors.map(\.description).joined(separator: "; ")
                throw VerifyError(.source, "\(config): \(problems)")
            }
            configuration = loaded
        }
        if let bootstrapServers {
            var kafkaConfiguration = configuration.kafka ?? KafkaConfiguration()
            kafkaConfiguration.bootstrapServers = bootstrapServers
            configuration.kafka = kafkaConfiguration
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        var names: [String] = []
        var failure: VerifyError?
        do throws(VerifyError) {
            for stream in kinesis {
                let api = KinesisAPI.configured(
                    configuration.kinesis, httpClient: httpClient, environment: environment, timeout: .seconds(30), logger: logger)
                let source = KinesisStreamSource(stream: stream, api: api, timeout: timeout)
                try await source.scan(into: &audit)
                names.append(source.name)
            }
            for topic in kafka {
                guard let kafkaConfiguration = configuration.kafka else {
                    throw VerifyError(
                        .source, "--kafka \(topic) needs the brokers: --config FILE with a kafka: section, or --bootstrap-servers")
                }
                let connection = try Self.kafkaSource(
                    topic: topic, configuration: kafkaConfiguration, httpClient: httpClient, environment: environment,
                    timeout: timeout, logger: logger)
                defer { connection.stop() }
                try await connection.source.scan(into: &audit)
                names.append(connection.source.name)
            }
        } catch {
            failure = error
        }
        try? await httpClient.shutdown()
        if let failure { throw failure }
        return names
    }
}

extension Verify {
    /// A source reading `topic` with the `kafka:` settings, connected as the sink's producer connects (the same
    /// ``KafkaConnectionConfiguration``, then the pass-through `properties`); with `sasl_mechanism: AWS_MSK_IAM`,
    /// tokens come from the one token-provider factory and the AWS credential chain, as they do for the sink. Call
    /// `stop` after the read (it ends the token refreshes).
    static func kafkaSource(
        topic: String, configuration: KafkaConfiguration, httpClient: HTTPClient, environment: [String: String],
        timeout: Duration, logger: Logger
    ) throws(VerifyError) -> (source: KafkaTopicSource, stop: @Sendable () -> Void) {
        let connection: KafkaConnectionConfiguration
        do {
            connection = try KafkaConnectionConfiguration(configuration) // the mapping `serve` uses (GatewayApp)
        } catch {
            throw VerifyError(.source, "\(error)")
        }
        let region = AWSRegionResolver.resolve(configured: nil, environment: environment)
        let credentials = DefaultCredentialChain(environment: environment, httpClient: httpClient, region: region, logger: logger)
        let provider: MSKIAMTokenProvider?
        do {
            provider = try MSKIAMTokenProvider.make(for: connection, credentials: credentials, region: region, logger: logger)
        } catch {
            throw VerifyError(.source, "kafka.security: \(error.message)")
        }
        provider?.start()
        return (
            KafkaTopicSource(
                topic: topic, properties: KafkaTopicSource.readerProperties(connection: connection, passThrough: configuration.properties),
                timeout: timeout, logger: logger, oauthBearerToken: provider?.oauthBearerHandler),
            { provider?.stop() }
        )
    }
}
