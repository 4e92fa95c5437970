import ArchiveSink
import AsyncHTTPClient
public import Delivery
import EdgeAccess
public import Foundation
public import GatewayConfig
import GatewayCore
public import GatewayHTTP
public import GatewayLog
public import Hummingbird
public import Logging
import Metrics
public import Prometheus
import ServiceLifecycle

/// The assembled gateway: the HTTP application and the parts tests and operators look at.
public struct Gateway: Sendable {
    /// The Hummingbird application to run (it runs the log, clients and dispatcher services too).
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
    /// What is wrong, naming the configuration key.
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Builds the gateway from a validated configuration: the one wiring site, which `sluice serve` and the tests call.
///
/// Every component takes its own configuration struct; this is the only place the configuration file's model is
/// mapped onto them (the `make…` factories beside this file). Sinks are built from ``registeredSinks``.
///
/// ```swift
/// let gateway = try buildApplication(configuration: try ConfigurationLoader.load(path: "sluice.yaml"), logger: logger)
/// try await gateway.application.runService()
/// ```
///
/// - Parameters:
///   - configuration: the loaded configuration.
///   - environment: the process environment (AWS credentials, endpoints, region); tests pass their own.
///   - clock: where every dispatcher's tick timer and backoff sleeps run; tests pass a `ManualClock`.
///   - logger: the root logger.
///   - onServerRunning: called with the bound port once the listener is up.
/// - Throws: ``GatewayStartupError`` when the configuration asks for something this build cannot do, or the log
///   cannot be opened.
public func buildApplication(
    configuration: Configuration,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    clock: any Clock<Duration> = ContinuousClock(),
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws(GatewayStartupError) -> Gateway {
    if let problem = startupProblems(configuration: configuration).first {
        throw GatewayStartupError(message: problem)
    }
    let tls: ServerTLSContext?
    do throws(TLSListenerError) {
        tls = try configuration.server.tls.map { files throws(TLSListenerError) in try ServerTLSContext(configuration: files) }
    } catch {
        throw GatewayStartupError(message: error.message)
    }
    let prometheus = PrometheusCollectorRegistry()
    let metrics = PrometheusMetricsFactory(registry: prometheus)
    let sinks = registeredSinks.filter { $0.isConfigured(configuration) }
    let log = try makeEventLog(configuration: configuration, sinks: sinks.map(\.id), logger: logger, metrics: metrics)
    let registry = ConfirmationRegistry()

    // One HTTP client for the AWS calls of every sink (Kinesis, STS and instance metadata for credentials), and of the
    // subscriptions (Kinesis dead letters, MSK IAM): their sections configure those sinks, so the client exists for them.
    let httpConnections = sinks.compactMap { $0.httpConnections(configuration) }.max()
    let httpClient = httpConnections.map(makeHTTPClient(connections:))
    var wiring = SinkWiring(
        configuration: configuration, environment: environment, logger: logger, metrics: metrics, clock: clock,
        httpClient: httpClient
    )
    var dispatchers: [SinkDispatcher] = []
    var sinkServices: [any Service] = []
    var saturation: [SinkID: @Sendable () -> Bool] = [:]
    for registration in sinks {
        let wired: WiredSink
        do {
            wired = try registration.make(&wiring)
        } catch {
            // Nothing runs yet: the HTTP client must still be shut down before it goes away.
            try? httpClient?.syncShutdown()
            throw error
        }
        if let deadLetters = wired.deadLetters { wiring.deadLetters = deadLetters }
        dispatchers.append(
            SinkDispatcher(
                sink: wired.sink, log: log, registry: registry, deadLetters: wiring.deadLetters, clock: clock,
                logger: logger, metricsFactory: metrics
            )
        )
        sinkServices += wired.services
        saturation[registration.id] = wired.isSaturated
    }
    let subscriptions: WiredSubscriptions
    do {
        subscriptions = try makeSubscriptions(
            configuration: configuration,
            wiring: SubscriptionWiring(
                log: log, clock: clock, metrics: metrics, logger: logger, environment: environment, httpClient: httpClient,
                archiveDeadLetters: wiring.subscriptionDeadLetters))
    } catch {
        try? httpClient?.syncShutdown()
        throw error
    }
    var dependencies = HTTPAPI.Dependencies(
        configuration: configuration,
        router: makeRouter(configuration: configuration),
        log: log,
        registry: registry,
        dispatchers: dispatchers,
        prometheus: prometheus,
        isSaturated: { [saturation] sink in saturation[sink]?() ?? false },
        subscriptions: subscriptions.subscriptions,
        access: makeEdgeAccess(configuration: configuration, environment: environment, clock: clock, metrics: metrics, logger: logger)
    )
    if configuration.archive.enabled, let template = try? PartitionTemplate(configuration.archive.partitionTemplate) {
        dependencies.archivePath = { team, app, millis in template.render(team: team, app: app, millis: millis) }
    }
    let router = HTTPAPI.makeRouter(dependencies)
    // Services start in this order and shut down in reverse: the HTTP server first, then the subscriptions stop
    // (abandoning the call in flight) and their handlers' clients close, every dispatcher drains, then the sinks'
    // producers and the shared client, the live broadcaster, and the log last (persisting every cursor).
    var services: [any Service] = [EventLogService(log: log), dependencies.liveBroadcaster]
    if let tokens = dependencies.access.policy.tokens { services.append(tokens) }
    if let tls { services.append(TLSReloadService(tls: tls, logger: logger)) }
    if let httpClient { services.append(HTTPClientService(client: httpClient)) }
    services += sinkServices
    services += dispatchers as [any Service]
    if let resources = subscriptions.resourcesService { services.append(resources) }
    services += subscriptions.subscriptions as [any Service]
    let application = Application(
        router: router,
        server: HTTPAPI.makeServer(
            EdgeLimits(configuration.server), metrics: EdgeMetrics(factory: metrics),
            webSocket: configuration.live.websocket ? HTTPAPI.makeWebSocketRouter(dependencies) : nil, tls: tls),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.server.host, port: configuration.server.port),
            serverName: "sluice"
        ),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    return Gateway(
        application: application, log: log, dispatchers: dispatchers, prometheus: prometheus,
        archiveDirectory: wiring.archiveDirectory
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

/// What a valid configuration asks for that this build cannot do: the one validation path after the loader's.
/// `sluice check-config` reports these as errors and `sluice serve` refuses to start with them.
public func startupProblems(configuration: Configuration) -> [String] {
    ServerTLSContext.problems(configuration.server.tls)
        + registeredSinks.filter { $0.isConfigured(configuration) }.flatMap { $0.problems(configuration) }
}

/// The shared HTTP client for the AWS calls of every sink.
func makeHTTPClient(connections: Int) -> HTTPClient {
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
}

/// Keeps the shared HTTP client alive for the sinks and shuts it down after them.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
