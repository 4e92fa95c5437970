public import GatewayCore
public import ServiceLifecycle

/// A sink the fixture built, with what runs beside it and what it exposes to the harness.
public struct SinkUnderTest: Sendable {
    /// The sink.
    public var sink: any Sink
    /// Long-lived parts the sink needs running (its producer loop); run in a service group of their own that shuts
    /// down gracefully after the dispatcher stopped, as the application's `ServiceGroup` orders it.
    public var services: [any Service]
    /// Whether the sink is at capacity (the edge answers 503 for its routes); nil when the sink has no such gate.
    public var isSaturated: (@Sendable () -> Bool)?
    /// Called once the services stopped (closes clients).
    public var close: @Sendable () async -> Void

    public init(
        sink: any Sink, services: [any Service] = [], isSaturated: (@Sendable () -> Bool)? = nil,
        close: @escaping @Sendable () async -> Void = {}
    ) {
        self.sink = sink
        self.services = services
        self.isSaturated = isSaturated
        self.close = close
    }
}
