import GatewayCore
import HTTPHeaderParsing
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The HTTP edge of one connection, between NIO's HTTP/1.1 codec and Hummingbird's request handling.
///
/// It enforces ``EdgeLimits`` on every request before the router sees it: request-target length (414), header
/// count and bytes (431), a declared body over `max_body_kb` (413, before any body byte is read, also under
/// `Expect: 100-continue`), bad `Content-Length` framing (400), the shared in-flight byte budget (503), the open
/// connection limit (503), and two read deadlines: one for a request's headers, armed by its first byte (the
/// ``EdgeByteObserver`` in front of the decoder reports bytes), and one for its body, armed by the headers (408).
/// NIO's parse errors become problem+json answers instead of a bare 400.
///
/// A refusal the router has not seen yet is answered here and the connection is closed; a failure while a body is
/// streaming into a handler is fired into that body stream as an ``EdgeRequestError``, so the handler's read throws
/// and the middleware answers it. All state lives on the channel's event loop.
final class EdgeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum Phase {
        /// Between requests: the next thing expected is a request head.
        case awaitingHead
        /// A head went to the router; its body is arriving.
        case receivingBody
        /// The edge answered or failed a request: input is dropped until the connection closes.
        case refusing
    }

    let limits: EdgeLimits
    let counters: EdgeCounters
    let metrics: EdgeMetrics?
    private var phase = Phase.awaitingHead
    private var context: ChannelHandlerContext?
    private var isCounted = false
    /// The one read deadline running (at most one is: idle, then headers, then body, then idle again).
    private var deadline: (kind: DeadlineKind, at: NIODeadline)?
    /// The timer that checks ``deadline``: armed once and re-armed only when it fires, so a keep-alive request
    /// costs a clock read per deadline instead of scheduling and cancelling three timers (docs/benchmarks.md).
    private var deadlineTimer: Scheduled<Void>?
    private var lingerDeadline: Scheduled<Void>?
    /// Bytes of the in-flight budget this connection holds.
    private var reservedBytes = 0
    /// Body bytes of the request being received, and how many of them were reserved when its head arrived.
    private var bodyBytes = 0
    private var bodyBytesReserved = 0
    /// Heads passed to the router whose response has not ended yet.
    private var responsesOutstanding = 0

    init(limits: EdgeLimits, counters: EdgeCounters, metrics: EdgeMetrics? = nil) {
        self.limits = limits
        self.counters = counters
        self.metrics = metrics
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            try context.pipeline.syncOperations.addHandler(EdgeByteObserver(owner: self), position: .first)
        } catch {
            context.close(promise: nil)
        }
        if context.channel.isActive { connectionBecameActive(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cleanUp()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        connectionBecameActive(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cleanUp()
        context.fireChannelInactive()
    }

    private func connectionBecameActive(context: ChannelHandlerContext) {
        guard !isCounted, phase != .refusing else { return }
        if counters.openConnection(limit: limits.maxConnections) {
            isCounted = true
            metrics?.openConnections(counters.openConnections)
            armIdleDeadline(context: context)
        } else {
            // Not counted, so not lingering either: a flood past the limit must not hold descriptors.
            refuse(.tooManyConnections(limits.maxConnections), context: context, lingers: false)
        }
    }

    private func cleanUp() {
        if isCounted {
            counters.closeConnection()
            isCounted = false
            metrics?.openConnections(counters.openConnections)
        }
        counters.release(reservedBytes)
        reservedBytes = 0
        deadline = nil
        deadlineTimer?.cancel()
        deadlineTimer = nil
        lingerDeadline?.cancel()
        lingerDeadline = nil
    }

    // MARK: Inbound

    /// Called by the ``EdgeByteObserver`` for every read: the first byte of a request ends the connection's idle
    /// time and arms the request's header deadline.
    func bytesArrived() {
        clearDeadline(.idle)
        guard phase == .awaitingHead, deadline?.kind != .header, let context else { return }
        setDeadline(.header, in: limits.readTimeout, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch phase {
        case .refusing:
            return
        case .awaitingHead:
            guard case .head(let request) = part else {
                // Body or end of a request whose head was refused by the codec: dropped.
                return
            }
            clearDeadline(.header)
            admit(request, context: context)
        case .receivingBody:
            switch part {
            case .head:
                context.fireChannelRead(data)
            case .body(let buffer):
                bodyBytes += buffer.readableBytes
                if bodyBytes > limits.maxBodyBytes {
                    failStreamingRequest(
                        EdgeRequestError(
                            code: .bodyTooLarge,
                            message: "the request body is larger than server.max_body_kb (\(limits.maxBodyBytes) bytes)"
                        ),
                        context: context
                    )
                    return
                }
                let unreserved = bodyBytes - bodyBytesReserved
                if unreserved > 0 {
                    guard counters.reserve(unreserved, limit: limits.maxInflightBytes) else {
                        failStreamingRequest(EdgeRequestError(code: .inflightLimit, message: Self.inflightMessage(limits)), context: context)
                        return
                    }
                    reservedBytes += unreserved
                    bodyBytesReserved = bodyBytes
                }
                context.fireChannelRead(data)
            case .end:
                clearDeadline(.body)
                phase = .awaitingHead
                releaseIfIdle()
                context.fireChannelRead(data)
            }
        }
    }

    /// Checks a request head against the limits; passes it on, or answers it here.
    private func admit(_ request: HTTPRequest, context: ChannelHandlerContext) {
        if let problem = Self.headProblem(request, limits: limits) {
            refuse(problem, context: context)
            return
        }
        let declared: Int64?
        do {
            declared = try ContentLengthHeader.length(request.headerFields[values: .contentLength])
        } catch {
            refuse(.malformedHTTP("Content-Length must be one non-negative decimal number (\(error))"), context: context)
            return
        }
        if declared != nil, request.headerFields[.transferEncoding] != nil {
            refuse(.malformedHTTP("a request may not have both Content-Length and Transfer-Encoding"), context: context)
            return
        }
        if let declared, declared > Int64(limits.maxBodyBytes) {
            refuse(
                .bodyTooLarge(
                    "the request declares \(declared) body bytes; server.max_body_kb allows \(limits.maxBodyBytes)",
                    limitBytes: limits.maxBodyBytes
                ),
                context: context
            )
            return
        }
        let reservation = Int(declared ?? 0)
        guard counters.reserve(reservation, limit: limits.maxInflightBytes) else {
            refuse(.inflightLimit(Self.inflightMessage(limits)), context: context)
            return
        }
        reservedBytes += reservation
        bodyBytes = 0
        bodyBytesReserved = reservation
        phase = .receivingBody
        responsesOutstanding += 1
        setDeadline(.body, in: limits.readTimeout, context: context)
        if let expect = request.headerFields[.expect], expect.lowercased() == "100-continue" {
            context.write(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            context.flush()
        }
        context.fireChannelRead(wrapInboundOut(.head(request)))
    }

    /// The problem with a head's target and header section, if any.
    static func headProblem(_ request: HTTPRequest, limits: EdgeLimits) -> ProblemDetails? {
        let targetBytes = request.path?.utf8.count ?? 0
        if targetBytes > limits.maxURIBytes {
            return .uriTooLong("the request target is \(targetBytes) bytes; server.max_uri_bytes allows \(limits.maxURIBytes)")
        }
        let fields = request.headerFields
        if fields.count > limits.maxHeaderCount {
            return .headersTooLarge("the request has \(fields.count) header fields; server.max_header_count allows \(limits.maxHeaderCount)")
        }
        var headerBytes = 0
        for field in fields {
            headerBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4
            if headerBytes > limits.maxHeaderBytes {
                return .headersTooLarge("the request's header fields pass server.max_header_kb (\(limits.maxHeaderBytes) bytes)")
            }
        }
        return nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch phase {
        case .refusing:
            return
        case .awaitingHead:
            if let parseError = error as? HTTPParserError {
                refuse(.parseError(parseError), context: context)
            } else if error is IOError || error is ChannelError {
                context.fireErrorCaught(error)
            } else {
                refuse(.malformedHTTP("the request head cannot be read (\(error)); the connection is closed"), context: context)
            }
        case .receivingBody:
            if let parseError = error as? HTTPParserError {
                failStreamingRequest(
                    EdgeRequestError(code: .malformedFraming, message: "the request body is not valid HTTP/1.1 framing (\(parseError))"),
                    context: context
                )
            } else {
                context.fireErrorCaught(error)
            }
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        responsesOutstanding = max(0, responsesOutstanding - 1)
        releaseIfIdle()
        armIdleDeadline(context: context)
        if phase == .refusing && responsesOutstanding == 0 {
            let written = context.eventLoop.makePromise(of: Void.self)
            context.write(data, promise: written)
            written.futureResult.cascade(to: promise)
            written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
                self?.closeGracefully()
            }
        } else {
            context.write(data, promise: promise)
        }
    }

    // MARK: Deadlines and refusals

    /// Arms the keep-alive idle deadline when the connection has nothing in progress: no request being received,
    /// no response pending and no bytes of a next request seen. The edge owns this timer (not Hummingbird's idle
    /// handler, which sees only decoded parts and would take a slowly arriving header section for idleness).
    private func armIdleDeadline(context: ChannelHandlerContext) {
        guard phase == .awaitingHead, responsesOutstanding == 0, deadline == nil else { return }
        setDeadline(.idle, in: limits.idleTimeout, context: context)
    }

    /// The read deadlines of a connection.
    enum DeadlineKind {
        /// Keep-alive: nothing in progress, waiting for a next request's first byte.
        case idle
        /// A request's first byte arrived; its header section must follow.
        case header
        /// A request's head was admitted; its body must follow.
        case body
    }

    /// Starts `kind`'s deadline, replacing the running one. Arms the timer only when none is armed: it fires at
    /// most `min(read, idle timeout)` from its arming, which is never after a deadline set later (each is at least
    /// that far from its start), and re-arms itself while a deadline is still ahead.
    private func setDeadline(_ kind: DeadlineKind, in duration: Duration, context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        deadline = (kind, now + TimeAmount(duration))
        if deadlineTimer == nil { armDeadlineTimer(at: now + deadlineTimerReach, context: context) }
    }

    private func clearDeadline(_ kind: DeadlineKind) {
        if deadline?.kind == kind { deadline = nil }
    }

    /// The farthest the timer is ever armed ahead: the shortest deadline a connection can start.
    private var deadlineTimerReach: TimeAmount {
        TimeAmount(min(limits.readTimeout, limits.idleTimeout))
    }

    private func armDeadlineTimer(at instant: NIODeadline, context: ChannelHandlerContext) {
        deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: instant) { [weak self] in
            self?.deadlineTimerFired()
        }
    }

    private func deadlineTimerFired() {
        deadlineTimer = nil
        guard let running = deadline, let context else { return }
        let now = context.eventLoop.now
        guard now >= running.at else {
            armDeadlineTimer(at: min(running.at, now + deadlineTimerReach), context: context)
            return
        }
        deadline = nil
        switch running.kind {
        case .idle: idleDeadlinePassed(context: context)
        case .header: headerDeadlinePassed(context: context)
        case .body: bodyDeadlinePassed(context: context)
        }
    }

    private func idleDeadlinePassed(context: ChannelHandlerContext) {
        guard phase == .awaitingHead, responsesOutstanding == 0 else { return }
        context.close(promise: nil)
    }

    private func headerDeadlinePassed(context: ChannelHandlerContext) {
        guard phase == .awaitingHead else { return }
        refuse(
            .requestTimeout("the request's headers did not arrive within server.read_timeout_s (\(limits.readTimeout))"),
            context: context
        )
    }

    private func bodyDeadlinePassed(context: ChannelHandlerContext) {
        guard phase == .receivingBody else { return }
        failStreamingRequest(
            EdgeRequestError(code: .readTimeout, message: "the request body did not arrive within server.read_timeout_s (\(limits.readTimeout))"),
            context: context
        )
    }

    /// Fails the request whose body is streaming into a handler: the handler's read throws `error`, and input
    /// is dropped until the response is written and the connection closes.
    private func failStreamingRequest(_ error: EdgeRequestError, context: ChannelHandlerContext) {
        phase = .refusing
        metrics?.refused(error.problem.type.replacingPrefix("urn:sluice:problem:"))
        clearDeadline(.body)
        context.fireErrorCaught(error)
        if responsesOutstanding == 0 { closeGracefully() }
    }

    /// Answers `problem` on this connection (when no other response is pending on it) and closes it: at once, or
    /// (`lingers`) after giving the client a moment to read the answer.
    private func refuse(_ problem: ProblemDetails, context: ChannelHandlerContext, lingers: Bool = true) {
        phase = .refusing
        metrics?.refused(problem.type.replacingPrefix("urn:sluice:problem:"))
        clearDeadline(.header)
        clearDeadline(.body)
        guard responsesOutstanding == 0 else {
            // A response of the router's is still being written; two answers cannot interleave.
            context.close(promise: nil)
            return
        }
        let body = ByteBuffer(string: problem.json)
        var fields = problem.headers
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = "\(body.readableBytes)"
        fields[.connection] = "close"
        fields[.requestID] = EventID.makeUUIDv7(millis: Timestamp.nowMillis())
        fields[.processingLatency] = "0.00ms"
        fields[.serverTiming] = "app;dur=0.00"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: problem.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let channel = context.channel
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            if lingers {
                self?.closeGracefully()
            } else {
                channel.close(promise: nil)
            }
        }
    }

    /// Closes the connection's output (the client reads the answer to its end), then the whole connection once
    /// the client closes or after a short linger, so a client still sending a body sees the answer, not a reset.
    private func closeGracefully() {
        guard let context, lingerDeadline == nil else { return }
        let channel = context.channel
        lingerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            channel.close(promise: nil)
        }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: halfClosed)
        halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
    }

    private func releaseIfIdle() {
        guard phase != .receivingBody, responsesOutstanding == 0, reservedBytes > 0 else { return }
        counters.release(reservedBytes)
        reservedBytes = 0
    }

    static func inflightMessage(_ limits: EdgeLimits) -> String {
        "the gateway is buffering its maximum of request bytes (server.max_inflight_mb: \(limits.maxInflightBytes / (1024 * 1024)) MiB); retry later"
    }
}

/// Sits in front of the HTTP decoder and tells the ``EdgeGuard`` when bytes arrive, so a request's header deadline
/// starts with its first byte (an idle keep-alive connection is the idle timeout's business, not a slow request).
final class EdgeByteObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private weak var owner: EdgeGuard?

    init(owner: EdgeGuard) {
        self.owner = owner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner?.bytesArrived()
        context.fireChannelRead(data)
    }
}

extension String {
    /// `self` without `prefix`, when it starts with it.
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
