import EdgeAccess
import EnvelopeScanner
import GatewayConfig
import GatewayCore
import HTTPTypes
import Hummingbird
import NIOCore
import Subscriptions

/// `/v1/subscriptions…`: state, positions, lag and counts; pause, resume, replay; dead letters and redrive.
struct SubscriptionsController: Sendable {
    let subscriptions: [Subscription]
    let access: EdgeAccessControl

    func addRoutes(to parent: RouterGroup<IngestRequestContext>) {
        let group = parent.group().add(middleware: ScopeMiddleware(access: access, scope: .admin))
        group.get("subscriptions") { _, _ in
            EventsController.json("{\"subscriptions\":[" + subscriptions.map(Self.statusJSON).joined(separator: ",") + "]}", status: .ok)
        }
        group.get("subscriptions/:name") { _, context in
            EventsController.json(Self.statusJSON(try find(context)), status: .ok)
        }
        group.post("subscriptions/:name/pause") { _, context in
            let subscription = try find(context)
            subscription.pause()
            return EventsController.json(Self.statusJSON(subscription), status: .ok)
        }
        group.post("subscriptions/:name/resume") { _, context in
            let subscription = try find(context)
            subscription.resume()
            return EventsController.json(Self.statusJSON(subscription), status: .ok)
        }
        group.post("subscriptions/:name/replay") { request, context in
            let subscription = try find(context)
            let body = try await request.body.collect(upTo: 64 * 1024)
            let target = try Self.replayTarget(Array(body.readableBytesView), topic: subscription.source.kafkaTopic)
            subscription.replay(to: target)
            let description =
                switch target {
                case .timestamp(let millis): "{\"timestamp\":\(EnvelopeWriter.jsonString(Timestamp.rfc3339(millis: millis)))}"
                case .sequence(let sequence): "{\"sequence\":\(sequence)}"
                case .offsets(let offsets):
                    "{\"offset\":{\"partitions\":["
                        + offsets.map { "{\"topic\":\(EnvelopeWriter.jsonString($0.topic)),\"partition\":\($0.partition),\"offset\":\($0.next)}" }
                        .joined(separator: ",") + "]}}"
                }
            return EventsController.json(
                "{\"subscription\":\(EnvelopeWriter.jsonString(subscription.name)),\"replay\":\(description)}", status: .accepted)
        }
        group.get("subscriptions/:name/dead-letters") { request, context in
            let subscription = try find(context)
            var letters = await subscription.deadLetters.list()
            let limit = try Self.limit(request)
            if let id = request.uri.queryParameters["id"] {
                letters = letters.filter { $0.id == String(id) }
                guard let letter = letters.first else { throw Self.unknownDeadLetter(String(id), subscription.name) }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: letter.json)))
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: DeadLetter.listJSON(Array(letters.prefix(limit)), total: letters.count))))
        }
        group.post("subscriptions/:name/dead-letters/redrive") { request, context in
            let subscription = try find(context)
            var letters = await subscription.deadLetters.list()
            let limit = try Self.limit(request)
            if let id = request.uri.queryParameters["id"] {
                letters = letters.filter { $0.id == String(id) }
                if letters.isEmpty { throw Self.unknownDeadLetter(String(id), subscription.name) }
            }
            let remaining = max(0, letters.count - limit)
            letters = Array(letters.prefix(limit))
            var redriven: [String] = []
            var failed: [String] = []
            for letter in letters {
                if let failure = await subscription.redrive(letter) {
                    failed.append("{\"id\":\(EnvelopeWriter.jsonString(letter.id)),\"error\":\(EnvelopeWriter.jsonString(failure.description))}")
                } else {
                    redriven.append(EnvelopeWriter.jsonString(letter.id))
                }
            }
            let json =
                "{\"subscription\":\(EnvelopeWriter.jsonString(subscription.name)),\"redriven\":[\(redriven.joined(separator: ","))],"
                + "\"failed\":[\(failed.joined(separator: ","))],\"remaining\":\(remaining)}"
            return EventsController.json(json, status: .accepted)
        }
    }

    private func find(_ context: IngestRequestContext) throws -> Subscription {
        let name = context.parameters.get("name") ?? ""
        guard let subscription = subscriptions.first(where: { $0.name == name }) else {
            throw ProblemDetails(
                status: .notFound, type: "unknown-subscription", title: "Unknown subscription",
                detail: "no subscription named '\(name)' (configured: \(subscriptions.map(\.name).joined(separator: ", ")))")
        }
        return subscription
    }

    /// The most dead letters one request lists or redrives.
    static let maximumLimit = 1000

    /// `?limit=N`: 1…1000, 100 by default.
    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return 100 }
        guard let value = Int(String(text)), (1...maximumLimit).contains(value) else {
            throw ProblemDetails(
                status: .badRequest, type: "invalid-limit", title: "Invalid limit",
                detail: "limit must be an integer from 1 to \(maximumLimit), got '\(text)'")
        }
        return value
    }

    private static func unknownDeadLetter(_ id: String, _ subscription: String) -> ProblemDetails {
        ProblemDetails(
            status: .notFound, type: "unknown-dead-letter", title: "Unknown dead letter",
            detail: "subscription '\(subscription)' has no dead letter '\(id)' (already redriven, or never there)")
    }

    /// `{"from":{"timestamp":"RFC 3339"}}`, `{"from":{"sequence":N}}`, or the same members at the top level; for a
    /// Kafka source also `{"from":{"offset":{"topic":T,"partitions":[{"partition":P,"offset":O},…]}}}`.
    static func replayTarget(_ body: [UInt8], topic: String?) throws -> ReplayTarget {
        func invalid(_ detail: String) -> ProblemDetails {
            ProblemDetails(status: .badRequest, type: "invalid-replay", title: "Invalid replay request", detail: detail)
        }
        let usage = #"expected {"from":{"timestamp":"2026-12-01T10:00:00Z"}} or {"from":{"sequence":123}}"#
        guard var members = try? EnvelopeScanner.objectMembers(body, keys: ["from", "timestamp", "sequence", "offset"]) else {
            throw invalid("the body is not a JSON object: " + usage)
        }
        var object = body
        if let from = members["from"] {
            object = Array(body[from])
            guard let inner = try? EnvelopeScanner.objectMembers(object, keys: ["timestamp", "sequence", "offset"]) else {
                throw invalid("'from' is not an object: " + usage)
            }
            members = inner
        }
        if let range = members["offset"] {
            return try offsets(Array(object[range]), topic: topic, invalid: invalid)
        }
        if let range = members["timestamp"] {
            guard let text = EnvelopeScanner.decodeString(object, range: range), let millis = RFC3339.parseMillis(text) else {
                throw invalid("'timestamp' is not an RFC 3339 timestamp: " + usage)
            }
            return .timestamp(millis)
        }
        if let range = members["sequence"] {
            let value =
                object.withUnsafeBytes { EnvelopeScanner.decodeInteger($0, range: range) }
                ?? EnvelopeScanner.decodeString(object, range: range).flatMap { Int($0) }
            guard let value, value >= 0 else { throw invalid("'sequence' is not a non-negative integer: " + usage) }
            return .sequence(UInt64(value))
        }
        throw invalid("no 'timestamp' or 'sequence': " + usage)
    }

    /// `{"topic":T,"partitions":[{"partition":P,"offset":O},…]}` (the topic defaults to the source's).
    private static func offsets(_ object: [UInt8], topic: String?, invalid: (String) -> ProblemDetails) throws -> ReplayTarget {
        let usage = #"expected {"from":{"offset":{"partitions":[{"partition":0,"offset":15}]}}} for a kafka source"#
        guard let sourceTopic = topic else { throw invalid("only a kafka source replays to offsets") }
        guard let members = try? EnvelopeScanner.objectMembers(object, keys: ["topic", "partitions"]),
            let list = members["partitions"], let elements = try? EnvelopeScanner.arrayElements(Array(object[list]))
        else { throw invalid(usage) }
        let named = members["topic"].flatMap { EnvelopeScanner.decodeString(object, range: $0) } ?? sourceTopic
        let items = Array(object[list])
        var offsets: [PartitionOffset] = []
        for element in elements {
            let item = Array(items[element])
            guard let fields = try? EnvelopeScanner.objectMembers(item, keys: ["partition", "offset"]),
                let partition = fields["partition"].flatMap({ range in item.withUnsafeBytes { EnvelopeScanner.decodeInteger($0, range: range) } }),
                let offset = fields["offset"].flatMap({ range in item.withUnsafeBytes { EnvelopeScanner.decodeInteger($0, range: range) } }),
                let partition32 = Int32(exactly: partition), partition32 >= 0, offset >= 0
            else { throw invalid(usage) }
            offsets.append(PartitionOffset(topic: named, partition: partition32, next: Int64(offset)))
        }
        guard !offsets.isEmpty else { throw invalid(usage) }
        return .offsets(offsets)
    }

    static func statusJSON(_ subscription: Subscription) -> String {
        let status = subscription.status
        var json = "{\"name\":\(EnvelopeWriter.jsonString(subscription.name))"
        let progress = subscription.source.progress
        json += ",\"source\":\(subscription.source.descriptionJSON)"
        json += ",\"handler\":\(subscription.handlerJSON)"
        json += ",\"state\":\"\(status.state.rawValue)\""
        json += ",\"positions\":\(progress.positionsJSON)"
        json += ",\"lag\":{\"records\":\(progress.lagRecords),\"age_seconds\":\(subscription.iteratorAgeSeconds)}"
        json += ",\"counts\":{\"delivered\":\(status.delivered),\"calls\":\(status.calls),\"failed_calls\":\(status.failedCalls)"
        json += ",\"dead_lettered\":\(status.deadLettered),\"retention_gap_records\":\(status.retentionGapRecords)}"
        json += ",\"consecutive_failures\":\(status.consecutiveFailures)"
        if let error = status.lastError {
            json += ",\"last_error\":{\"kind\":\(EnvelopeWriter.jsonString(error.kind)),\"status\":\(error.status.map(String.init) ?? "null")"
            json += ",\"message\":\(EnvelopeWriter.jsonString(error.message))"
            json += ",\"body_excerpt\":\(error.bodyExcerpt.map(EnvelopeWriter.jsonString) ?? "null")"
            json += ",\"at\":\(EnvelopeWriter.jsonString(Timestamp.rfc3339(millis: error.at)))}"
        } else {
            json += ",\"last_error\":null"
        }
        json += "}"
        return json
    }
}
