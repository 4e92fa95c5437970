import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One request as the stub server saw it.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var headers: HTTPHeaders
    var body: String
}

/// What the stub answers; `nil` from the handler means "never answer" (for timeout tests).
struct StubResponse: Sendable {
    var status: HTTPResponseStatus
    var body: String
    var contentType = "text/plain"
}

/// A minimal HTTP/1.1 server on 127.0.0.1 with a free port, answering with a closure and
/// recording every request.
final class StubHTTPServer: Sendable {
    typealias Handler = @Sendable (RecordedRequest) -> StubResponse?

    private let channel: any Channel
    private let recorder: Recorder

    final class Recorder: Sendable {
        let requests = Mutex<[RecordedRequest]>([])
    }

    var port: Int { channel.localAddress?.port ?? 0 }
    var endpoint: String { "http://127.0.0.1:\(port)" }
    var requests: [RecordedRequest] { recorder.requests.withLock { $0 } }

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    static func start(_ handler: @escaping Handler) async throws -> StubHTTPServer {
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StubHandler(handler: handler, recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return StubHTTPServer(channel: channel, recorder: recorder)
    }

    func shutdown() async throws {
        try await channel.close()
    }
}

private final class StubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let handler: StubHTTPServer.Handler
    let recorder: StubHTTPServer.Recorder
    var head: HTTPRequestHead?
    var body = ""

    init(handler: @escaping StubHTTPServer.Handler, recorder: StubHTTPServer.Recorder) {
        self.handler = handler
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            guard let head else { return }
            let request = RecordedRequest(method: head.method.rawValue, path: head.uri, headers: head.headers, body: body)
            recorder.requests.withLock { $0.append(request) }
            guard let response = handler(request) else { return } // never answer
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(response.body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
