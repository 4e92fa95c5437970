import CoreMetrics
public import Delivery
import EdgeAccess
public import GatewayConfig
public import GatewayCore
public import GatewayLog
public import Hummingbird
public import HummingbirdCore
import HummingbirdWebSocket
public import Idempotency
public import LiveStreams
import NIOCore
public import Prometheus
public import Routing
public import Subscriptions

/// Builds the gateway's HTTP router: the events endpoints under `/v1`, and `/health`, `/ready`, `/metrics`.
public enum HTTPAPI {
    /// Everything the HTTP layer talks to.
    public struct Dependencies: Sendable {
        public var configuration: Configuration
        public var router: Routing.Router
        public var log: any EventLog
        public var registry: ConfirmationRegistry
        public var dispatchers: [SinkDispatcher]
        public var prometheus: PrometheusCollectorRegistry
        /// Whether a backend is saturated (new events for it get 503 + `Retry-After`).
        public var isSaturated: @Sendable (SinkID) -> Bool = { _ in false }
        /// The configured subscriptions (`/v1/subscriptions…`, `/health`, `/metrics`).
        public var subscriptions: [Subscription] = []
        /// The open live connections, SSE and WebSocket together, against `live.max_connections`.
        public let liveLimit: LiveConnectionLimit
        /// The one reader of the log's tail that live connections share once they have caught up (a service the
        /// application runs).
        public let liveBroadcaster: LiveBroadcaster
        /// Authentication, authorisation and rate limits (`auth:`, `limits:`, `rate_limit:`).
        public var access: EdgeAccessControl
        /// The `Idempotency-Key` index (`idempotency:`; in `durability.dir/idempotency` with a disk log).
        public let idempotency: IdempotencyIndex
        /// The archive object prefix of an event (`POST /v1/events/explain`); the wiring sets it from the archive's
        /// partition template.
        public var archivePath: @Sendable (_ team: String, _ app: String, _ millis: Int64) -> String? = { _, _, _ in nil }

        public init(
            configuration: Configuration, router: Routing.Router, log: any EventLog, registry: ConfirmationRegistry,
            dispatchers: [SinkDispatcher], prometheus: PrometheusCollectorRegistry,
            isSaturated: @escaping @Sendable (SinkID) -> Bool = { _ in false }, subscriptions: [Subscription] = [],
            access: EdgeAccessControl = .open
        ) {
            self.access = access
            let durability = configuration.durability
            self.idempotency = IdempotencyIndex(
                window: .seconds(configuration.idempotency.windowHours * 3600), maxKeys: configuration.idempotency.maxKeys,
                directory: durability.mode == .disk ? durability.directory + "/idempotency" : nil)
            self.subscriptions = subscriptions
            self.isSaturated = isSaturated
            self.configuration = configuration
            self.router = router
            self.log = log
            self.registry = registry
            self.dispatchers = dispatchers
            self.prometheus = prometheus
            self.liveLimit = LiveConnectionLimit(maximum: configuration.live.maxConnections)
            self.liveBroadcaster = LiveBroadcaster(log: log, readInterval: .milliseconds(configuration.live.readIntervalMs))
        }

        /// The live streams' routes on this gateway's log.
        var live: LiveController {
            LiveController(
                streams: configuration.streams, log: log, broadcaster: liveBroadcaster, limit: liveLimit, access: access,
                pingInterval: .seconds(configuration.live.pingIntervalSeconds))
        }
    }

    /// The router with every route and middleware.
    public static func makeRouter(_ dependencies: Dependencies) -> Hummingbird.Router<IngestRequestContext> {
        let factory = PrometheusMetricsFactory(registry: dependencies.prometheus)
        let server = dependencies.configuration.server
        let router = Hummingbird.Router(context: IngestRequestContext.self)
        router.middlewares.add(RequestTimingMiddleware(metrics: HTTPMetrics(factory: factory)))
        if let cors = server.cors { router.middlewares.add(CrossOriginMiddleware(cors)) }
        router.middlewares.add(AuthenticationMiddleware(access: dependencies.access))
        let ingestor = EventIngestor(
            router: dependencies.router, maxDepth: server.maxJSONDepth, metrics: IngestMetrics(factory: factory),
            access: dependencies.access, schemas: StreamSchemaPolicy.policies(dependencies.configuration.streams),
            isSaturated: dependencies.isSaturated
        )
        EventsController(
            ingestor: ingestor,
            log: dependencies.log,
            registry: dependencies.registry,
            maxBodyBytes: server.maxBodyKB.multipliedClamped(by: 1024),
            maxBatchEvents: server.maxBatchEvents,
            confirmedTimeout: .milliseconds(server.confirmedTimeoutMs),
            idempotency: dependencies.idempotency,
            explainer: EventExplainer(
                ingestor: ingestor, streams: dependencies.configuration.streams, archivePath: dependencies.archivePath)
        ).addRoutes(to: router.group("v1"))
        SubscriptionsController(subscriptions: dependencies.subscriptions, access: dependencies.access).addRoutes(to: router.group("v1"))
        dependencies.live.addRoutes(to: router.group("v1"))
        router.get("dashboard") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.dashboard_html)))
        }
        OpenAPIDocument.addRoute(to: router)
        OperationsController(
            log: dependencies.log,
            dispatchers: dependencies.dispatchers,
            registry: dependencies.registry,
            prometheus: dependencies.prometheus,
            subscriptions: dependencies.subscriptions,
            access: dependencies.access,
            gauges: OperationsGauges(factory: factory, sinks: dependencies.dispatchers.map(\.sinkID))
        ).addRoutes(to: router)
        return router
    }

    /// The HTTP/1.1 server with the edge in front of every request: ``EdgeGuard`` on each connection (limits,
    /// deadlines, the keep-alive idle timeout) and NIO's decoder limits just above the edge's own (so the edge
    /// answers first, with problem+json).
    ///
    /// With `webSocket` (the routes of ``makeWebSocketRouter(_:)``, when `live.websocket` is on), the server is
    /// hummingbird-websocket's upgradable HTTP/1.1 channel with the edge moved in front of its upgrade handler
    /// (``GuardedWebSocketChannel``), so the edge still sees every request, the first one included.
    ///
    /// With `tls` (`server.tls`), each connection speaks TLS first, with the context current when it opens.
    public static func makeServer(
        _ limits: EdgeLimits, counters: EdgeCounters = EdgeCounters(), metrics: EdgeMetrics? = nil,
        webSocket: Hummingbird.Router<LiveWebSocketContext>? = nil, tls: ServerTLSContext? = nil
    ) -> HTTPServerBuilder {
        let headerSection = limits.maxHeaderBytes.addingClamped(limits.maxURIBytes).addingClamped(8192)
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: headerSection, maxHeaderListSize: headerSection,
            maxHeaderFieldCount: limits.maxHeaderCount.addingClamped(16)
        )
        if let webSocket {
            let responder = webSocket.buildResponder()
            return HTTPServerBuilder { http in
                ServerTLSContext.wrap(
                    GuardedWebSocketChannel(
                        upgrade: HTTP1WebSocketUpgradeChannel(
                            responder: http, webSocketResponder: responder,
                            configuration: .init(
                                http1: HTTP1Channel.Configuration(idleTimeout: nil, httpDecoderConfiguration: decoder),
                                ws: WebSocketServerConfiguration(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(15))))),
                        makeGuard: { EdgeGuard(limits: limits, counters: counters, metrics: metrics) }), in: tls)
            }
        }
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [EdgeGuard(limits: limits, counters: counters, metrics: metrics)],
            // The edge owns the keep-alive idle timeout (it sees raw bytes; Hummingbird's handler does not).
            idleTimeout: nil,
            httpDecoderConfiguration: decoder
        )
        // `.http1(configuration:)`, with TLS in front when `server.tls` is set (``ServerTLSContext``).
        return HTTPServerBuilder { http in ServerTLSContext.wrap(HTTP1Channel(responder: http, configuration: configuration), in: tls) }
    }

    /// The WebSocket routes: `GET /v1/streams/{team}/{app}/live` with an upgrade (docs/live.md).
    public static func makeWebSocketRouter(_ dependencies: Dependencies) -> Hummingbird.Router<LiveWebSocketContext> {
        let router = Hummingbird.Router(context: LiveWebSocketContext.self)
        dependencies.live.addWebSocketRoutes(to: router.group("v1"))
        return router
    }

    /// The benchmark ceiling: the same server and middleware, with `POST /v1/events` answering 202 without reading
    /// the body. Used by `sluice serve --ceiling` to measure what the HTTP stack alone costs.
    public static func makeCeilingRouter(prometheus: PrometheusCollectorRegistry) -> Hummingbird.Router<IngestRequestContext> {
        let router = Hummingbird.Router(context: IngestRequestContext.self)
        router.middlewares.add(RequestTimingMiddleware(metrics: HTTPMetrics(factory: PrometheusMetricsFactory(registry: prometheus))))
        router.post("v1/events") { _, _ in
            EventsController.json("{}", status: .accepted)
        }
        return router
    }
}
