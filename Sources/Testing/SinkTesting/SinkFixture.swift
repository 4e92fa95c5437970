public import CoreMetrics
public import GatewayCore
public import Logging

/// How the harness wants a sink built for one check.
public struct SinkFixtureOptions: Sendable {
    /// Hold records until ``Sink/flush(reporter:)`` (large size and age limits), so the graceful-shutdown check can
    /// see that only the shutdown path delivers them.
    public var buffersUntilFlush: Bool
    /// Hold at most this many records (the sink's capacity), for the backpressure check; nil: the sink's default.
    public var capacity: Int?

    public init(buffersUntilFlush: Bool = false, capacity: Int? = nil) {
        self.buffersUntilFlush = buffersUntilFlush
        self.capacity = capacity
    }
}

/// Everything one sink brings to the compliance suite: how to make it against a working and against a failing
/// destination, how to read back what the destination holds, its retry samples and the metrics it must emit.
///
/// Each sink's test target has one fixture; calls to the sink's constructor stay in ``makeSink(for:options:metrics:logger:)``.
/// A check that cannot apply to a sink is declared in ``inapplicability(of:)`` with the reason, never skipped silently.
public protocol SinkFixture: Sendable {
    /// A destination the fixture prepared (a directory, a stream on a peer, a topic on a broker).
    associatedtype Destination: Sendable

    /// The sink's identity.
    var sinkID: SinkID { get }
    /// The key of the receipts the sink gives (`log`, `kinesis`, `kafka`).
    var receiptKey: String { get }
    /// Labels of the sink's own metrics that must have a value once it delivered records.
    var requiredMetricLabels: [String] { get }
    /// Sample failures with the kind the sink's retry logic must give each.
    var retrySamples: [RetrySample] { get }
    /// Whether reading back may find an event twice (an at-least-once sink after a retry); false: exactly once.
    var mayStoreDuplicates: Bool { get }

    /// Why `check` does not apply to this sink, or nil when it does.
    func inapplicability(of check: SinkComplianceCheck) -> String?

    /// A fresh destination that works; `name` is unique per check (use it for streams, topics, directories).
    func makeDestination(name: String) async throws -> Destination
    /// A fresh destination that refuses every write (a closed port, a path that cannot be created) until ``heal(_:)``.
    func makeFailingDestination(name: String) async throws -> Destination
    /// Makes a failing destination work (removes the obstacle, starts the peer on the closed port).
    func heal(_ destination: Destination) async throws
    /// The route records take to `destination`.
    func route(to destination: Destination) -> Route
    /// The sink writing to `destination`, with its metrics on `metrics` and its log on `logger`.
    func makeSink(
        for destination: Destination, options: SinkFixtureOptions, metrics: any MetricsFactory, logger: Logger
    ) async throws -> SinkUnderTest
    /// The event ids `destination` holds, each as often as it is stored; `expected` is how many the harness
    /// delivered (readers of a stream may stop there).
    func readBack(_ destination: Destination, expected: Int) async throws -> [String]
    /// Releases the destination (stops peers, removes files). Called after every check, also after a failure.
    func tearDown(_ destination: Destination) async
}

extension SinkFixture {
    public var mayStoreDuplicates: Bool { false }
    public func inapplicability(of check: SinkComplianceCheck) -> String? { nil }
}
