import AsyncHTTPClient
import CoreMetrics
import GatewayConfig
import GatewayCore
import Logging
import ServiceLifecycle
import Subscriptions

/// Every sink this build knows, in the order they are built (the archive first: it is the others' dead-letter
/// destination). Adding a sink is its own folder under `Sources/Sinks/`, a `<Sink>+Wiring.swift` beside this file,
/// and one line here.
let registeredSinks: [SinkRegistration] = [
    .archive,
    .kinesis,
    .kafka,
]

/// One sink as the wiring knows it: its identity, whether the configuration asks for it, what the configuration
/// gets wrong for it, and how to build it.
struct SinkRegistration: Sendable {
    /// The sink's identity (name, slot, route name), declared in the sink's module.
    var id: SinkID
    /// Whether the configuration switches the sink on.
    var isConfigured: @Sendable (Configuration) -> Bool
    /// What the configuration asks of the sink that this build cannot do (startup problems, naming the key).
    var problems: @Sendable (Configuration) -> [String] = { _ in [] }
    /// How many connections per host the sink wants on the shared HTTP client, nil when it needs none.
    var httpConnections: @Sendable (Configuration) -> Int? = { _ in nil }
    /// Builds the sink from the configuration.
    var make: @Sendable (inout SinkWiring) throws(GatewayStartupError) -> WiredSink
}

/// What a sink's factory gets: the configuration, the injected environment, the shared clients, and what earlier
/// sinks provided.
struct SinkWiring {
    var configuration: Configuration
    var environment: [String: String]
    var logger: Logger
    var metrics: any MetricsFactory
    /// The clock every timed part runs on (tests pass a `ManualClock`).
    var clock: any Clock<Duration>
    /// The shared HTTP client, when some sink asked for connections.
    var httpClient: HTTPClient?
    /// Where rejected records go (the archive's error prefix), once the archive is built.
    var deadLetters: (any DeadLetterDestination)?
    /// The archive's root directory, once the archive is built.
    var archiveDirectory = ""
    /// Where `on_failure: {archive: {}}` sends a subscription's dead letters, once the archive is built.
    var subscriptionDeadLetters: (any DeadLetterForwarder)?
}

/// A built sink: the sink its dispatcher feeds, the services it needs run, and its backpressure signal.
struct WiredSink {
    var sink: any Sink
    /// Long-lived parts of the sink (a producer's loop, a client to close after the dispatcher drained).
    var services: [any Service] = []
    /// Whether the sink holds its maximum of outstanding records (intake answers 503 with `Retry-After`).
    var isSaturated: @Sendable () -> Bool = { false }
    /// Set by a sink that is the dead-letter destination for the sinks after it.
    var deadLetters: (any DeadLetterDestination)?
}
