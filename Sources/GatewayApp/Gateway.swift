import ArchiveSink
import AsyncHTTPClient
import AWSCredentials
import CoreMetrics
public import Delivery
import Foundation
public import GatewayConfig
import GatewayCore
public import GatewayHTTP
public import Hummingbird
import KafkaSink
import KinesisProducer
public import Logging
import NIOCore
public import Prometheus
import Routing
import ServiceLifecycle
import WriteAheadLog

/// The assembled gateway: the HTTP application and the parts tests and operators look at.
public struct Gateway: Sendable {
    /// The Hummingbird application to run (it runs the log and dispatcher services too).
    public var application: Application<RouterResponder<IngestRequestContext>>
    /// The log between the router and the sinks.
    public var log: any EventLog
    /// One dispatcher per sink.
    public var dispatchers: [SinkDispatcher]
    /// Where metrics are registered (served on `/metrics`).
    public var prometheus: PrometheusCollectorRegistry
    /// The archive's root directory.
    public var archiveDirectory: String
}

/// Why the gateway cannot start with a configuration.
public struct GatewayStartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Builds the gateway from a validated configuration. `sluice serve` and the tests both call this.
///
/// - Parameters:
///   - configuration: the loaded configuration.
///   - logger: the root logger.
///   - onServerRunning: called with the bound port once the listener is up.
/// - Throws: ``GatewayStartupError`` when the configuration asks for something this build cannot do, or the log
///   cannot be opened.
public func buildGateway(
    configuration: Configuration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> Gateway {
    if let problem = startupProblems(configuration: configuration).first {
        throw GatewayStartupError(message: problem)
    }
    let prometheus = PrometheusCollectorRegistry()
    let metrics = PrometheusMetricsFactory(registry: prometheus)
    var sinks: [SinkID] = [.archive]
    if configuration.kinesis != nil { sinks.append(.kinesis) }
    if configuration.kafka != nil { sinks.append(.kafka) }

    let log: any EventLog
    let maxBytes = configuration.durability.maxDiskMB.mebibytesClamped
    switch configuration.durability.mode {
    case .memory:
        log = MemoryLog(sinks: sinks, maxBytes: maxBytes)
    case .disk:
        var walConfiguration = WALConfiguration(directory: configuration.durability.directory, cursorNames: sinks.map(\.description))
        walConfiguration.segmentSizeBytes = configuration.durability.segmentSizeMB.mebibytesClamped
        walConfiguration.maxDiskBytes = maxBytes
        walConfiguration.fsync =
            switch configuration.durability.fsync {
            case .always: .always
            case .interval: .interval(.milliseconds(configuration.durability.fsyncIntervalMs))
            case .never: .never
            }
        let wal: WriteAheadLog
        do {
            wal = try WriteAheadLog.open(walConfiguration)
        } catch {
            throw GatewayStartupError(message: "durability.dir: cannot open the write-ahead log: \(error)")
        }
        let recovery = wal.recovery
        if recovery.truncatedBytes > 0 {
            logger.warning(
                "write-ahead log recovery truncated a damaged tail",
                metadata: [
                    "sluice.truncated_bytes": "\(recovery.truncatedBytes)",
                    "sluice.segment": "\(recovery.truncatedSegment.map(String.init) ?? "-")",
                    "sluice.reason": "\(recovery.reason ?? "-")",
                ]
            )
        }
        logger.info(
            "write-ahead log opened",
            metadata: ["sluice.records_recovered": "\(recovery.recordsRecovered)", LoggingKeys.path: "\(walConfiguration.directory)"]
        )
        CoreMetrics.Counter(label: "sluice_log_recovery_truncated_bytes_total", factory: metrics).increment(by: recovery.truncatedBytes)
        log = WriteAheadEventLog(wal: wal, maxBytes: maxBytes)
    }

    let archiveDirectory = try archiveDirectory(from: configuration.archive.url)
    let template: PartitionTemplate
    do {
        template = try PartitionTemplate(configuration.archive.partitionTemplate)
    } catch {
        throw GatewayStartupError(message: "archive.partition_template: \(error)")
    }
    let archive = ArchiveSink(
        configuration: ArchiveSinkConfiguration(
            directory: archiveDirectory,
            bufferBytes: configuration.archive.bufferSizeMB.mebibytesClamped,
            bufferInterval: configuration.archive.bufferIntervalSeconds.secondsClamped,
            partitionTemplate: template,
            errorPrefix: configuration.archive.errorPrefix,
            compressionLevel: configuration.archive.compressionLevel
        ),
        metricsFactory: metrics
    )
    let registry = ConfirmationRegistry()
    var dispatchers = [
        SinkDispatcher(sink: archive, log: log, registry: registry, deadLetters: archive, logger: logger, metricsFactory: metrics)
    ]
    var backendServices: [any Service] = []
    var kinesisProducer: KinesisProducer?
    let environment = ProcessInfo.processInfo.environment
    // One HTTP client for the AWS calls of every backend (Kinesis, STS and instance metadata for credentials).
    var httpClient: HTTPClient?
    if configuration.kinesis != nil || configuration.kafka.map(KafkaProducerSettings.usesMSKIAM) == true {
        var clientConfiguration = HTTPClient.Configuration()
        let connections = configuration.kinesis.map { KinesisProducerConfiguration($0).maxConnections } ?? 8
        clientConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        httpClient = client
        backendServices.append(HTTPClientService(client: client))
    }
    if let kinesis = configuration.kinesis, let httpClient {
        let producerConfiguration = KinesisProducerConfiguration(kinesis)
        let api = KinesisAPI.configured(
            kinesis, httpClient: httpClient, environment: environment, timeout: producerConfiguration.requestTimeout,
            logger: logger)
        let producer = KinesisProducer(configuration: producerConfiguration, api: api, logger: logger, metricsFactory: metrics)
        kinesisProducer = producer
        let sink = KinesisSink(producer: producer, flushTimeout: min(producerConfiguration.recordTTL, .seconds(10)))
        dispatchers.append(
            SinkDispatcher(sink: sink, log: log, registry: registry, deadLetters: archive, logger: logger, metricsFactory: metrics)
        )
        backendServices.append(producer)
    }
    if let kafka = configuration.kafka {
        let region = AWSRegionResolver.resolve(configured: nil, environment: environment)
        let credentials = httpClient.map {
            DefaultCredentialChain(environment: environment, httpClient: $0, region: region, logger: logger)
        }
        let sink: KafkaSink
        do {
            sink = try KafkaSink(
                configuration: kafka, credentials: credentials, region: region, logger: logger, metricsFactory: metrics
            )
        } catch {
            // Nothing runs yet: the HTTP client must still be shut down before it goes away.
            try? httpClient?.syncShutdown()
            throw GatewayStartupError(message: "\(error.path): \(error.message)")
        }
        dispatchers.append(
            SinkDispatcher(sink: sink, log: log, registry: registry, deadLetters: archive, logger: logger, metricsFactory: metrics)
        )
        backendServices.append(KafkaSinkService(sink: sink))
    }
    let router = HTTPAPI.makeRouter(
        HTTPAPI.Dependencies(
            configuration: configuration,
            router: Routing.Router(configuration: configuration),
            log: log,
            registry: registry,
            dispatchers: dispatchers,
            prometheus: prometheus,
            isSaturated: { [kinesisProducer] kind in kind == .kinesis && kinesisProducer?.isSaturated == true }
        )
    )
    // Shutdown runs in reverse: dispatchers drain first, then producers and their clients, the log last.
    var services: [any Service] = [LogService(log: log)]
    services.append(contentsOf: backendServices)
    services.append(contentsOf: dispatchers as [any Service])
    let application = Application(
        router: router,
        server: HTTPAPI.makeServer(EdgeLimits(configuration.server), metrics: EdgeMetrics(factory: metrics)),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.server.host, port: configuration.server.port),
            serverName: "sluice"
        ),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    return Gateway(
        application: application, log: log, dispatchers: dispatchers, prometheus: prometheus, archiveDirectory: archiveDirectory
    )
}

/// The benchmark ceiling application: the gateway's HTTP server answering 202 to `POST /v1/events` without reading
/// the body (see `docs/benchmarks.md`).
public func buildCeilingApplication(
    configuration: Configuration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> Application<RouterResponder<IngestRequestContext>> {
    Application(
        router: HTTPAPI.makeCeilingRouter(prometheus: PrometheusCollectorRegistry()),
        server: HTTPAPI.makeServer(EdgeLimits(configuration.server)),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.server.host, port: configuration.server.port),
            serverName: "sluice"
        ),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}

/// What a valid configuration asks for that this build cannot do; `sluice check-config` reports these as errors
/// and `sluice serve` refuses to start with them.
public func startupProblems(configuration: Configuration) -> [String] {
    var problems: [String] = []
    if let kafka = configuration.kafka {
        problems += KafkaProducerSettings.validate(kafka)
    }
    do {
        _ = try archiveDirectory(from: configuration.archive.url)
    } catch {
        problems.append(error.message)
    }
    do {
        _ = try PartitionTemplate(configuration.archive.partitionTemplate)
    } catch {
        problems.append("archive.partition_template: \(error)")
    }
    return problems
}

/// The local directory of a `file://` archive url (`file://./data/archive`, `file:///var/lib/sluice`).
func archiveDirectory(from url: String) throws(GatewayStartupError) -> String {
    guard url.hasPrefix("file://") else {
        throw GatewayStartupError(message: "archive.url: only file:// archives are available in this version (got '\(url)')")
    }
    let path = String(url.dropFirst("file://".count))
    guard !path.isEmpty else { throw GatewayStartupError(message: "archive.url: the file:// url names no directory") }
    return path
}

extension Int {
    /// `self` MiB in bytes, or `Int.max` when that overflows (the configuration's ranges keep it far below).
    var mebibytesClamped: Int {
        let (bytes, overflow) = multipliedReportingOverflow(by: 1024 * 1024)
        return overflow ? .max : bytes
    }
}

extension Double {
    /// `self` MiB in whole bytes, clamped to `0...Int.max` (a NaN is 0).
    var mebibytesClamped: Int {
        let bytes = (self * 1024 * 1024).rounded(.down)
        guard bytes.isFinite, bytes > 0 else { return 0 }
        return bytes >= Double(Int.max) ? .max : Int(bytes)
    }

    /// `self` seconds as a `Duration` (whole milliseconds), clamped to 0 …  one year.
    var secondsClamped: Duration {
        guard isFinite, self > 0 else { return .zero }
        return .milliseconds(Int64((Swift.min(self, 31_536_000) * 1000).rounded(.down)))
    }
}
