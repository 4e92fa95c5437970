import AsyncAlgorithms
import EdgeAccess
import GatewayConfig
import GatewayCore
import GatewayLog
import HTTPTypes
public import Hummingbird
import HummingbirdCore
public import HummingbirdWebSocket
import LiveStreams
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOWebSocket
import ServiceLifecycle

/// The request context of the WebSocket upgrade routes (a router of its own, so ordinary requests keep the lighter
/// ``IngestRequestContext``).
public struct LiveWebSocketContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection's channel (the live broadcaster writes frames to it once upgraded).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// hummingbird-websocket's upgradable HTTP/1.1 channel with the edge in front of its upgrade handler.
///
/// That channel adds its HTTP handlers (and so the edge) only once the upgrade handler has seen a first request
/// that is not an upgrade, which would leave a connection's first request without the edge's header deadline,
/// limits and problem+json answers. Here the edge sits right after the HTTP/1 decoder from the start, between two
/// codecs (HTTP/1 parts to HTTP types and back, since the upgrade handler speaks HTTP/1 parts), and an
/// ``EdgeUpgradeWatcher`` takes the three out of the pipeline when the upgrade's `101` goes out, before the
/// WebSocket frame codecs are installed behind them.
struct GuardedWebSocketChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let upgrade: HTTP1WebSocketUpgradeChannel
    let makeGuard: @Sendable () -> EdgeGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        upgrade.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let toHTTPTypes = HTTP1ToHTTPServerCodec(secure: false)
            let edge = makeGuard()
            let toHTTP1 = HTTPToHTTP1ServerCodec()
            let watcher = EdgeUpgradeWatcher(handlers: [toHTTPTypes, edge, toHTTP1])
            try pipeline.addHandlers([watcher, toHTTPTypes, edge, toHTTP1], position: .after(decoder.handler))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await upgrade.handle(value: value, logger: logger)
    }
}

/// Watches the responses on their way to the HTTP/1 encoder: when a `101 Switching Protocols` has passed, it takes
/// the edge and its two codecs, and itself, out of the pipeline (what follows is WebSocket frames).
final class EdgeUpgradeWatcher: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var handlers: [any RemovableChannelHandler]

    init(handlers: [any RemovableChannelHandler]) {
        self.handlers = handlers
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(let head) = unwrapOutboundIn(data), head.status == .switchingProtocols, !handlers.isEmpty else {
            context.write(data, promise: promise)
            return
        }
        // The handlers leave once the 101 is written, before the upgrade handler (which waits for the same write)
        // installs the frame codecs: this callback is registered first, so it runs first.
        let written = context.eventLoop.makePromise(of: Void.self)
        let handlers = self.handlers
        self.handlers = []
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            let pipeline = context.pipeline.syncOperations
            for handler in handlers { pipeline.removeHandler(handler, promise: nil) }
            if self != nil { pipeline.removeHandler(context: context, promise: nil) }
            try? pipeline.addHandler(FlushCoalescer(), position: .first)
        }
        written.futureResult.cascade(to: promise)
        context.write(data, promise: written)
    }
}

/// Merges the flushes of one event-loop tick into one, at the socket end of an upgraded WebSocket's pipeline.
///
/// hummingbird-websocket flushes after every frame, so a live stream sending one message per event would make one
/// `writev` per event per connection; the writes queued on the event loop meanwhile now go out together. A flush
/// waits at most until the tasks already queued on the loop have run.
final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny

    private var scheduled = false

    func flush(context: ChannelHandlerContext) {
        guard !scheduled else { return }
        scheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.scheduled = false
            context.flush()
        }
    }
}

extension LiveController {
    /// `GET /v1/streams/{team}/{app}/live` as a WebSocket: the same stream, filters and resume (`?from=`; browsers
    /// cannot set `Last-Event-ID` on a WebSocket) as the SSE route, one text message per event (the events API's
    /// JSON) and `{"type":"lagged",…}` for a gap. A request that cannot be served is refused before the upgrade
    /// (hummingbird-websocket answers it `400`); the SSE and events routes answer the same mistakes with problem+json.
    func addWebSocketRoutes(to group: RouterGroup<LiveWebSocketContext>) {
        group.ws(
            "streams/:team/:app/live",
            // Every upgrade is accepted, and a request that cannot be served is then closed with 1008 and a reason
            // naming the problem: a refused upgrade could only be hummingbird-websocket's bare 400, and a browser's
            // WebSocket shows its page the close code and reason, never an HTTP answer.
            shouldUpgrade: { _, _ in .upgrade([:]) },
            onUpgrade: { inbound, outbound, context in
                let request = context.request
                let team = context.requestContext.parameters.get("team") ?? ""
                let app = context.requestContext.parameters.get("app") ?? ""
                let filter: LiveFilter
                let start: UInt64
                do {
                    try access.require(try await access.authenticate(request), .read, team: team, app: app)
                    _ = try stream(team: team, app: app)
                    filter = try Self.filter(request)
                    start = try Self.startSequence(request) ?? log.nextSequence
                } catch let problem as ProblemDetails {
                    try await outbound.close(.policyViolation, reason: Self.closeReason(problem))
                    return
                }
                guard limit.acquire() else {
                    try await outbound.close(.unexpectedServerError, reason: "too many live connections (live.max_connections)")
                    return
                }
                defer { limit.release() }
                let subscription = try LiveSubscription(
                    broadcaster: broadcaster, team: team, app: app, filter: filter, format: .webSocket, from: start,
                    direct: Self.directOutput(webSocket: context.requestContext.channel))
                let first = log.firstSequence
                if start < first {
                    try await outbound.write(.custom(Self.textFrame(LiveMessage.lagged(start...(first - 1), resumeFrom: first))))
                }
                let stop = LiveStop()
                try await withGracefulShutdownHandler {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        // The client's frames are read (and dropped) so its close and pongs are seen; when it closes,
                        // the stream ends.
                        group.addTask { for try await _ in inbound {} }
                        group.addTask { try await Self.stream(subscription, to: outbound) }
                        group.addTask { await stop.wait() }
                        _ = try await group.next()
                        group.cancelAll()
                    }
                } onGracefulShutdown: {
                    stop.stop()
                }
                try? await outbound.close(.goingAway, reason: "the gateway is shutting down")
            })
    }

    /// Sends the subscription's events, one text message each (the broadcaster's shared bytes when it has them),
    /// until cancelled or the log ends.
    static func stream(_ subscription: LiveSubscription, to outbound: WebSocketOutboundWriter) async throws {
        var subscription = subscription
        defer { subscription.close() }
        while let delivery = try await subscription.next() {
            if let skipped = delivery.skipped {
                try await outbound.write(.custom(textFrame(LiveMessage.lagged(skipped, resumeFrom: skipped.upperBound + 1))))
            }
            if let messages = delivery.shared?.webSocketMessages {
                for message in messages { try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: message))) }
                continue
            }
            for record in delivery.events {
                var message: [UInt8] = []
                LiveMessage.append(record, to: &message)
                try await outbound.write(.custom(textFrame(message)))
            }
        }
    }

    /// The broadcaster's way onto an upgraded connection: the read's frames, already encoded (the same bytes for
    /// every connection), written below NIO's frame encoder as its own output would be, then one flush. No
    /// WebSocket extension is negotiated on this route, so frames go out as they are.
    static func directOutput(webSocket channel: any Channel) -> LiveDirectOutput {
        LiveDirectOutput(
            eventLoop: channel.eventLoop, isWritable: { channel.isActive && channel.isWritable },
            write: { buffers in
                guard let encoder = try? channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self) else {
                    return // closing: the frame codecs are gone
                }
                for buffer in buffers { encoder.write(NIOAny(buffer), promise: nil) }
                encoder.flush()
            })
    }

    /// A close reason for `problem`: its type's last part and its detail (`unknown-stream: no stream …`), within the
    /// 123 bytes a close frame has room for.
    static func closeReason(_ problem: ProblemDetails) -> String {
        var reason = "\(problem.type.split(separator: ":").last ?? ""): \(problem.detail)"
        while reason.utf8.count > 123 { reason.removeLast() }
        return reason
    }

    static func textFrame(_ bytes: [UInt8]) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes))
    }
}
