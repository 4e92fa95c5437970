import AsyncAlgorithms
import EdgeAccess
import GatewayConfig
import GatewayCore
import GatewayLog
import HTTPTypes
import Hummingbird
import LiveStreams
import NIOCore
import NIOHTTPTypes
import ServiceLifecycle

/// `/v1/streams…`: the configured streams, a stream's recent events from the log (cursor-paginated), and its live
/// events as server-sent events (docs/live.md).
struct LiveController: Sendable {
    let streams: [StreamConfiguration]
    let log: any EventLog
    let broadcaster: LiveBroadcaster
    let limit: LiveConnectionLimit
    let access: EdgeAccessControl
    let pingInterval: Duration

    /// Largest `limit` of one events page.
    static let maxPageEvents = 1000
    /// Records one events page reads at most, matching or not (a page may end short of `limit`; `next` continues).
    static let maxPageScan = 10_000

    func addRoutes(to group: RouterGroup<IngestRequestContext>) {
        group.get("streams") { _, context in
            try access.requireAnywhere(context.principal, .read)
            let readable = streams.filter { access.policy.decide(context.principal, .read, team: $0.team, app: $0.app) == .allowed }
            let items = readable.map { "{\"team\":\(EnvelopeWriter.jsonString($0.team)),\"app\":\(EnvelopeWriter.jsonString($0.app))}" }
            return EventsController.json(
                "{\"streams\":[" + items.joined(separator: ",") + "],\"first_sequence\":\(log.firstSequence),\"next_sequence\":\(log.nextSequence)}",
                status: .ok)
        }
        group.get("streams/:team/:app/events") { request, context in
            let (team, app) = try stream(context)
            let query = request.uri.queryParameters
            let filter = try Self.filter(request)
            let from = try Self.sequence(query["from"].map(String.init), parameter: "from") ?? log.firstSequence
            let pageLimit = try Self.pageLimit(query["limit"].map(String.init))
            return try await page(team: team, app: app, filter: filter, from: from, limit: pageLimit)
        }
        group.get("streams/:team/:app/live") { request, context in
            let (team, app) = try stream(context)
            if request.headers[.upgrade]?.lowercased() == "websocket" {
                throw ProblemDetails(
                    status: .notImplemented, type: "websocket-not-supported", title: "WebSocket is off on this gateway",
                    detail: "live.websocket is false here: live events are server-sent events ('Accept: text/event-stream')")
            }
            guard request.headers[.accept]?.contains("text/event-stream") == true else {
                throw ProblemDetails(
                    status: .notAcceptable, type: "live-needs-event-stream", title: "Ask for an event stream",
                    detail: "live events are server-sent events: send 'Accept: text/event-stream'")
            }
            let filter = try Self.filter(request)
            let start = try Self.startSequence(request) ?? log.nextSequence
            guard limit.acquire() else {
                throw ProblemDetails(
                    status: .serviceUnavailable, type: "too-many-live-connections", title: "Too many live connections",
                    detail: "\(limit.maximum) live connections are open (live.max_connections); retry later",
                    headers: [.retryAfter: "5"])
            }
            let subscription: LiveSubscription
            do {
                subscription = try LiveSubscription(
                    broadcaster: broadcaster, team: team, app: app, filter: filter, format: .serverSentEvents, from: start,
                    direct: Self.directOutput(serverSentEvents: context.channel))
            } catch {
                limit.release()
                throw ProblemDetails(
                    status: .serviceUnavailable, type: "log-unavailable", title: "Log unavailable",
                    detail: "the log cannot be read: \(error)", headers: [.retryAfter: "1"])
            }
            let first = log.firstSequence
            var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
            if let buffering = HTTPField.Name("X-Accel-Buffering") { headers[buffering] = "no" } // no proxy buffering
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { [limit, pingInterval] writer in
                    defer { limit.release() }
                    var opening = Array("retry: 2000\n: live from \(max(start, first))\n\n".utf8)
                    if start < first {
                        // Asked to resume from records the log no longer holds.
                        ServerSentEvents.appendLagged(start...(first - 1), resumeFrom: first, to: &opening)
                    }
                    try await writer.write(ByteBuffer(bytes: opening))
                    let stop = LiveStop()
                    try await withGracefulShutdownHandler {
                        try await Self.stream(subscription, to: &writer, pingInterval: pingInterval, stop: stop)
                    } onGracefulShutdown: {
                        stop.stop()
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// What ends one wait of a live connection.
    enum Step: Sendable {
        case read(LiveDelivery)
        case ping
        case stop
    }

    /// Writes the subscription's events as they arrive, a ping every `pingInterval`, until `stop` (graceful
    /// shutdown), cancellation, the log's end, or a failed write (the client went away).
    ///
    /// Three child tasks live as long as the connection (the subscription's reader, the ping timer, the stop
    /// signal) and hand their steps to this task through a channel whose `send` waits until the step was taken. A
    /// client that does not read fills its own queue at the broadcaster and is then moved to a reader of its own,
    /// which it holds back (one read, at most 500 records or 4 MiB); never the log or other clients.
    static func stream(
        _ subscription: LiveSubscription, to writer: inout any ResponseBodyWriter, pingInterval: Duration, stop: LiveStop
    ) async throws {
        let steps = AsyncThrowingChannel<Step, any Error>()
        // The writer's word that a read's events were written: the reader asks for more only then, since the
        // broadcaster may write the next ones onto the channel itself (LiveSubscription's direct output).
        let written = AsyncChannel<Void>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var subscription = subscription
                defer { subscription.close() }
                do {
                    while let delivery = try await subscription.next() {
                        await steps.send(.read(delivery))
                        var acknowledgements = written.makeAsyncIterator()
                        guard await acknowledgements.next() != nil else { break }
                    }
                    await steps.send(.stop)
                } catch {
                    steps.fail(error)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: pingInterval)
                    await steps.send(.ping)
                }
            }
            group.addTask {
                await stop.wait()
                await steps.send(.stop)
            }
            defer { group.cancelAll() }
            for try await step in steps {
                let delivery: LiveDelivery
                switch step {
                case .stop: return
                case .ping:
                    try await writer.write(ByteBuffer(bytes: ServerSentEvents.ping))
                    continue
                case .read(let value): delivery = value
                }
                var out: [UInt8] = []
                if let skipped = delivery.skipped {
                    ServerSentEvents.appendLagged(skipped, resumeFrom: skipped.upperBound + 1, to: &out)
                }
                if let shared = delivery.shared?.serverSentEvents {
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                    try await writer.write(shared)
                } else {
                    for record in delivery.events { ServerSentEvents.append(record, to: &out) }
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                }
                await written.send(())
            }
        }
    }

    /// The broadcaster's way onto an SSE response: each buffer as a body part (a chunk), then one flush, entering the
    /// pipeline at its tail as the response writer's parts do. It is used only while the response streams: the
    /// subscription joins at its first read, after the opening was written, and leaves before the response ends.
    static func directOutput(serverSentEvents channel: any Channel) -> LiveDirectOutput {
        LiveDirectOutput(
            eventLoop: channel.eventLoop, isWritable: { channel.isActive && channel.isWritable },
            write: { buffers in
                let pipeline = channel.pipeline.syncOperations
                for buffer in buffers { pipeline.write(NIOAny(HTTPResponsePart.body(buffer)), promise: nil) }
                pipeline.flush()
            })
    }

    /// One page of `team/app`'s events from `from`: at most `limit` events, reading at most ``maxPageScan`` records
    /// and never waiting for new ones.
    func page(team: String, app: String, filter: LiveFilter, from: UInt64, limit: Int) async throws -> Response {
        let end = log.nextSequence
        let first = log.firstSequence
        var events: [SinkRecord] = []
        var next = max(from, first)
        if next < end {
            let feed: LiveFeed
            do {
                feed = try LiveFeed(log: log, team: team, app: app, filter: filter, from: next)
            } catch {
                throw ProblemDetails(
                    status: .serviceUnavailable, type: "log-unavailable", title: "Log unavailable",
                    detail: "the log cannot be read: \(error)", headers: [.retryAfter: "1"])
            }
            var scanned = 0
            while events.count < limit, next < end, scanned < Self.maxPageScan {
                let wanted = min(Self.maxPageScan - scanned, Int(clamping: end - next))
                let read = try await feed.next(maxRecords: max(1, wanted))
                guard read.next > next else { break } // the log closed
                scanned += Int(clamping: read.next - next)
                for record in read.events where record.sequence < end {
                    if events.count == limit {
                        break
                    }
                    events.append(record)
                }
                next = events.count == limit ? (events.last.map { $0.sequence + 1 } ?? read.next) : min(read.next, end)
            }
        }
        var out = Array(#"{"team":"#.utf8) + Array(EnvelopeWriter.jsonString(team).utf8)
        out += Array(#","app":"#.utf8) + Array(EnvelopeWriter.jsonString(app).utf8)
        out += Array(#","events":["#.utf8)
        for (index, record) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            LiveMessage.append(record, to: &out)
        }
        out += Array(#"],"next":\#(next),"first_sequence":\#(first),"next_sequence":\#(end)"#.utf8)
        if from < first { out += Array(#","skipped":{"from":\#(from),"to":\#(first - 1)}"#.utf8) }
        out.append(UInt8(ascii: "}"))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: out)))
    }

    /// The `team/app` of the path, when it is a configured stream.
    /// The route's `team/app`, when it is a configured stream the principal may read.
    func stream(_ context: IngestRequestContext) throws -> (String, String) {
        let team = context.parameters.get("team") ?? ""
        let app = context.parameters.get("app") ?? ""
        try access.require(context.principal, .read, team: team, app: app)
        return try stream(team: team, app: app)
    }

    /// `team/app`, when it is a configured stream.
    func stream(team: String, app: String) throws(ProblemDetails) -> (String, String) {
        guard streams.contains(where: { $0.team == team && $0.app == app }) else {
            throw ProblemDetails(
                status: .notFound, type: "unknown-stream", title: "Unknown stream",
                detail: "no stream '\(team)/\(app)' is configured (GET /v1/streams lists them)")
        }
        return (team, app)
    }

    /// Where a live connection starts: after `Last-Event-ID`, or at `?from=`; nil for "from now on".
    static func startSequence(_ request: Request) throws -> UInt64? {
        if let name = HTTPField.Name("Last-Event-ID"), let lastID = request.headers[name], !lastID.isEmpty {
            guard let sequence = UInt64(lastID), sequence < UInt64.max else {
                throw badRequest("Last-Event-ID", "'\(lastID)' is not an event id of this stream (a sequence number)")
            }
            return sequence + 1
        }
        return try sequence(request.uri.queryParameters["from"].map(String.init), parameter: "from")
    }

    static func sequence(_ text: String?, parameter: String) throws -> UInt64? {
        guard let text else { return nil }
        guard let value = UInt64(text) else { throw badRequest(parameter, "'\(text)' is not a sequence number (0 or more)") }
        return value
    }

    static func pageLimit(_ text: String?) throws -> Int {
        guard let text else { return 100 }
        guard let value = Int(text), value >= 1, value <= maxPageEvents else {
            throw badRequest("limit", "'\(text)' is not 1…\(maxPageEvents)")
        }
        return value
    }

    static func filter(_ request: Request) throws -> LiveFilter {
        let query = request.uri.queryParameters
        do {
            return try LiveFilter(
                partitionKey: query["partition_key"].map(String.init), pointer: query["pointer"].map(String.init),
                value: query["value"].map(String.init))
        } catch {
            throw badRequest(error.parameter, error.message)
        }
    }

    static func badRequest(_ parameter: String, _ message: String) -> ProblemDetails {
        ProblemDetails(
            status: .badRequest, type: "invalid-parameter", title: "Invalid parameter", detail: "\(parameter): \(message)",
            errors: [.init(field: parameter, message: message)])
    }
}
