import CoreMetrics
import Delivery
import EdgeAccess
import EnvelopeScanner
import GatewayCore
import GatewayLog
import HTTPHeaderParsing
import HTTPTypes
import Hummingbird
import Idempotency
import Logging
import NIOCore

/// `POST /v1/events`, `POST /v1/events/confirmed` and `POST /v1/events/batch`.
struct EventsController: Sendable {
    let ingestor: EventIngestor
    let log: any EventLog
    let registry: ConfirmationRegistry
    let maxBodyBytes: Int
    let maxBatchEvents: Int
    let confirmedTimeout: Duration
    /// The `Idempotency-Key` index; nil: the header is ignored.
    var idempotency: IdempotencyIndex?
    /// `POST /v1/events/explain`.
    var explainer: EventExplainer?

    func addRoutes(to group: RouterGroup<IngestRequestContext>) {
        group.post("events") { request, context in
            try await self.single(request, context: context, isConfirmed: false)
        }
        group.post("events/confirmed") { request, context in
            try await self.single(request, context: context, isConfirmed: true)
        }
        group.post("events/batch") { request, context in
            try await self.batch(request, context: context)
        }
        if let explainer {
            group.post("events/explain") { request, context in
                _ = try bodyKind(of: request, allowNDJSON: false)
                let body = try await collectBody(request)
                let json = try body.withUnsafeReadableBytes { bytes throws(ProblemDetails) in
                    try explainer.explain(bytes, receivedAtMillis: context.arrivedAtMillis, principal: context.principal)
                }
                return Self.json(json, status: .ok)
            }
        }
        for path in ["events", "events/confirmed", "events/batch", "events/explain"] {
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                group.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw ProblemDetails(
                        status: .methodNotAllowed, type: "method-not-allowed", title: "Method not allowed",
                        detail: "/v1/\(path) accepts POST only", headers: [.allow: "POST"]
                    )
                }
            }
        }
    }

    enum BodyKind { case json, ndjson }

    /// The body's media type: JSON when absent; 415 for anything but JSON (and NDJSON where allowed).
    func bodyKind(of request: Request, allowNDJSON: Bool) throws(ProblemDetails) -> BodyKind {
        guard let value = request.headers[.contentType] else { return .json }
        if value == "application/json" { return .json }
        let accepted =
            allowNDJSON ? "application/json, application/x-ndjson or text/plain holding JSON" : "application/json or text/plain holding JSON"
        guard let contentType = ContentTypeHeader.parse(value) else {
            throw ProblemDetails(
                status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type",
                detail: "Content-Type is not a media type; send \(accepted)"
            )
        }
        guard contentType.isUTF8 else {
            throw ProblemDetails(
                status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type",
                detail: "events must be UTF-8; got charset '\(contentType.charset.map { String($0.prefix(64)) } ?? "")'"
            )
        }
        switch contentType.mediaType {
        // text/plain: what `navigator.sendBeacon` sends for a string (and a CORS-safelisted type, so no preflight).
        case "application/json", "text/plain": return .json
        case "application/x-ndjson" where allowNDJSON, "application/ndjson" where allowNDJSON: return .ndjson
        default:
            throw ProblemDetails(
                status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type",
                detail: "Content-Type '\(contentType.mediaType.prefix(128))' is not accepted here; send \(accepted)"
            )
        }
    }

    /// Collects the body, refusing it while reading once it passes the limit, and undoes its `Content-Encoding`:
    /// the decoded size is what `max_body_kb` limits, so a compression bomb stops at the limit.
    func collectBody(_ request: Request) async throws -> ByteBuffer {
        let tooLarge = ProblemDetails.bodyTooLarge(
            "the request body is larger than server.max_body_kb (\(maxBodyBytes) bytes)", limitBytes: maxBodyBytes
        )
        let coding: ContentCoding?
        do {
            coding = try ContentEncodingHeader.coding(request.headers[values: .contentEncoding])
        } catch {
            throw ProblemDetails.unsupportedContentEncoding(error)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { throw tooLarge }
        let received: ByteBuffer
        do {
            received = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
        guard let coding else { return received }
        do {
            return try BodyDecoder.decode(received, coding: coding, maxBytes: maxBodyBytes)
        } catch {
            switch error {
            case .tooLarge: throw tooLarge
            case .corrupt(let detail):
                throw ProblemDetails(
                    status: .badRequest, type: "invalid-content-encoding", title: "Invalid content encoding",
                    detail: "the body is not valid \(coding.rawValue) data (\(detail))"
                )
            }
        }
    }

    /// How long a confirmed request waits: `server.confirmed_timeout_ms`, or less when `X-Deadline-Ms` asks for it.
    func confirmationWait(_ request: Request) throws(ProblemDetails) -> Duration {
        guard let value = request.headers[Self.deadlineHeader] else { return confirmedTimeout }
        guard let milliseconds = Int(value.filter { $0 != " " }), milliseconds > 0 else {
            throw ProblemDetails(
                status: .badRequest, type: "invalid-header", title: "Invalid header",
                detail: "X-Deadline-Ms must be a positive whole number of milliseconds, got '\(value.prefix(64))'",
                errors: [.init(field: "X-Deadline-Ms", message: "expected a positive integer")])
        }
        return min(confirmedTimeout, .milliseconds(min(milliseconds, 86_400_000)))
    }

    static let deadlineHeader = HTTPField.Name("X-Deadline-Ms") ?? .contentLength

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key") ?? .contentLength
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed") ?? .contentLength

    /// Answers a request carrying `Idempotency-Key` seen before (same caller, endpoint and body) with the first
    /// answer and `Idempotent-Replayed: true`, appending nothing; otherwise runs `answer` and keeps what it returned
    /// when the events were appended (2xx, and 504: in the log, still to be delivered).
    func idempotently(
        _ request: Request, context: IngestRequestContext, body: ByteBuffer, _ answer: () async throws -> Response
    ) async throws -> Response {
        guard let index = idempotency, let raw = request.headers[Self.idempotencyKeyHeader] else { return try await answer() }
        guard !raw.isEmpty, raw.utf8.count <= 255 else {
            throw ProblemDetails(
                status: .badRequest, type: "invalid-header", title: "Invalid header",
                detail: "Idempotency-Key must be 1 to 255 characters", errors: [.init(field: "Idempotency-Key", message: "1 to 255 characters")])
        }
        let key = IdempotencyIndex.scoped(request.uri.path + " " + raw, caller: context.principal.label)
        let digest = body.withUnsafeReadableBytes { IdempotencyIndex.digest($0) }
        switch index.begin(key, bodyDigest: digest) {
        case .replay(let stored):
            return Response(
                status: HTTPResponse.Status(code: stored.status),
                headers: [.contentType: stored.contentType, Self.replayedHeader: "true"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored.body)))
        case .inProgress:
            throw ProblemDetails(
                status: .conflict, type: "idempotency-key-in-use", title: "Idempotency key in use",
                detail: "a request with this Idempotency-Key is still being answered; retry when it is done", headers: [.retryAfter: "1"])
        case .differentBody:
            throw ProblemDetails(
                status: .unprocessableContent, type: "idempotency-key-reused", title: "Idempotency key reused",
                detail: "this Idempotency-Key was used for a request with a different body; use a new key for a new request")
        case .proceed:
            break
        }
        do {
            let response = try await answer()
            guard (200..<300).contains(response.status.code) else {
                index.abandon(key)
                return response
            }
            let collector = CollectedBody()
            try await response.body.write(collector)
            let bytes = collector.bytes
            index.complete(
                key, with: StoredAnswer(status: response.status.code, contentType: response.headers[.contentType] ?? "application/json", body: bytes))
            return Response(status: response.status, headers: response.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        } catch let problem as ProblemDetails where problem.status == .gatewayTimeout {
            index.complete(
                key, with: StoredAnswer(status: problem.status.code, contentType: "application/problem+json", body: Array(problem.json.utf8)))
            throw problem
        } catch {
            index.abandon(key)
            throw error
        }
    }

    func single(_ request: Request, context: IngestRequestContext, isConfirmed: Bool) async throws -> Response {
        _ = try bodyKind(of: request, allowNDJSON: false)
        let wait = isConfirmed ? try confirmationWait(request) : confirmedTimeout
        let body = try await collectBody(request)
        return try await idempotently(request, context: context, body: body) {
            try await single(request, body: body, context: context, isConfirmed: isConfirmed, wait: wait)
        }
    }

    private func single(
        _ request: Request, body: ByteBuffer, context: IngestRequestContext, isConfirmed: Bool, wait: Duration
    ) async throws -> Response {
        let token = isConfirmed ? registry.register() : 0
        let prepared: PreparedEvent
        do {
            prepared = try body.withUnsafeReadableBytes { bytes throws(ProblemDetails) in
                try ingestor.prepare(
                    bytes, receivedAtMillis: context.arrivedAtMillis, waiterToken: token,
                    caller: IngestCaller(principal: context.principal, scope: isConfirmed ? .confirmed : .ingest))
            }
        } catch {
            if isConfirmed { registry.cancel(token) }
            throw error
        }
        let position: LogPosition
        do {
            guard let first = try await log.append([prepared.record]).first else {
                throw ProblemDetails.logUnavailable("the log returned no position")
            }
            position = first
        } catch let error as EventLogError {
            if isConfirmed { registry.cancel(token) }
            if error.code == .full { ingestor.metrics.refused.increment() }
            throw EventIngestor.problem(for: error)
        }
        let record = prepared.record
        var headers: HTTPFields = [.contentType: "application/json"]
        if let status = prepared.rateLimit { headers.append(contentsOf: EdgeAccessControl.headers(status)) }
        guard isConfirmed else {
            return Response(
                status: .accepted, headers: headers,
                body: ResponseBody(byteBuffer: Self.acceptedBody(record, position: position, deadLettered: prepared.deadLettered)))
        }
        switch await registry.wait(for: token, timeout: wait) {
        case .accepted(let receipt, let attempts):
            var json = "{" + Self.eventFields(record)
            json += "," + Self.receiptJSON(receipt) + ",\"attempts\":\(attempts)}"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
        case .rejected(let failure):
            throw ProblemDetails(
                status: .badGateway, type: "delivery-failed", title: "Delivery failed",
                detail: "the \(record.route.name) backend rejected the event after \(failure.attempts.count) attempt(s): \(failure.message)",
                extensions: [
                    ("event_id", EnvelopeWriter.jsonString(record.eventID)),
                    ("route", EnvelopeWriter.jsonString(record.route.name)),
                    ("error_code", EnvelopeWriter.jsonString(failure.code)),
                    ("attempts", Self.attemptsJSON(failure.attempts)),
                ]
            )
        case nil:
            throw ProblemDetails(
                status: .gatewayTimeout, type: "confirmation-timeout", title: "Confirmation timed out",
                detail: "the backend did not confirm the event within \(wait)"
                    + (wait < confirmedTimeout ? " (X-Deadline-Ms)" : "") + "; it is in the log and will still be delivered",
                extensions: [
                    ("event_id", EnvelopeWriter.jsonString(record.eventID)),
                    ("route", EnvelopeWriter.jsonString(record.route.name)),
                    ("log", Self.positionJSON(position)),
                ]
            )
        }
    }

    func batch(_ request: Request, context: IngestRequestContext) async throws -> Response {
        let kind = try bodyKind(of: request, allowNDJSON: true)
        let body = try await collectBody(request)
        return try await idempotently(request, context: context, body: body) { try await batch(body, kind: kind, context: context) }
    }

    private func batch(_ body: ByteBuffer, kind: BodyKind, context: IngestRequestContext) async throws -> Response {
        enum Item {
            case prepared(PreparedEvent, line: Int?)
            case problem(ProblemDetails, line: Int?)
        }
        let items: [Item] = try body.withUnsafeReadableBytes { bytes throws(ProblemDetails) -> [Item] in
            let ranges: [(Range<Int>, Int?)]
            switch kind {
            case .json:
                do throws(EnvelopeError) {
                    ranges = try EnvelopeScanner.arrayElements(bytes, maxDepth: ingestor.maxDepth + 1).map { ($0, nil) }
                } catch {
                    if error.code == .notAnArray {
                        throw ProblemDetails.invalidEnvelope(
                            "a batch is a JSON array of event envelopes, or NDJSON with Content-Type application/x-ndjson", field: nil
                        )
                    }
                    throw EventIngestor.problem(for: error)
                }
            case .ndjson:
                ranges = EnvelopeScanner.ndjsonLines(bytes).map { ($0.range, $0.number) }
            }
            if ranges.isEmpty {
                throw ProblemDetails(status: .badRequest, type: "empty-batch", title: "Empty batch", detail: "the batch holds no events")
            }
            if ranges.count > maxBatchEvents {
                throw ProblemDetails(
                    status: .contentTooLarge, type: "batch-too-large", title: "Batch too large",
                    detail: "the batch holds \(ranges.count) events; server.max_batch_events is \(maxBatchEvents)",
                    extensions: [("limit_events", "\(maxBatchEvents)")]
                )
            }
            return ranges.map { range, line in
                do throws(ProblemDetails) {
                    let prepared = try ingestor.prepare(
                        UnsafeRawBufferPointer(rebasing: bytes[range]), receivedAtMillis: context.arrivedAtMillis, waiterToken: 0,
                        caller: IngestCaller(principal: context.principal, scope: .ingest)
                    )
                    return .prepared(prepared, line: line)
                } catch {
                    return .problem(error, line: line)
                }
            }
        }
        let records = items.compactMap { item -> EventRecord? in
            if case .prepared(let prepared, _) = item { return prepared.record }
            return nil
        }
        var positions: [LogPosition] = []
        if !records.isEmpty {
            do {
                positions = try await log.append(records)
            } catch {
                if error.code == .full { ingestor.metrics.refused.increment(by: records.count) }
                throw EventIngestor.problem(for: error)
            }
        }
        var results: [String] = []
        var accepted = 0
        for (index, item) in items.enumerated() {
            switch item {
            case .prepared(let prepared, let line):
                var json = "{\"index\":\(index),"
                if let line { json += "\"line\":\(line)," }
                json += "\"status\":202," + Self.eventFields(prepared.record) + (prepared.deadLettered ? ",\"schema\":\"invalid\"" : "")
                if accepted < positions.count { json += ",\"log\":\(Self.positionJSON(positions[accepted]))" }
                results.append(json + "}")
                accepted += 1
            case .problem(let problem, let line):
                var json = "{\"index\":\(index),"
                if let line { json += "\"line\":\(line)," }
                json += "\"status\":\(problem.status.code),\"error\":\(problem.json)}"
                results.append(json)
            }
        }
        let rejected = items.count - accepted
        let json = "{\"accepted\":\(accepted),\"rejected\":\(rejected),\"results\":[\(results.joined(separator: ","))]}"
        var response = Self.json(json, status: rejected == 0 ? .ok : HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status"))
        // Events refused by a rate limit say when to send them again, as a 429 would.
        let retryAfter = items.compactMap { item -> Int? in
            guard case .problem(let problem, _) = item, problem.status == .tooManyRequests else { return nil }
            return problem.headers[.retryAfter].flatMap { Int($0) }
        }.max()
        if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
        return response
    }

    /// The 202 body, written straight into a buffer (the hot path):
    /// `{"event_id":…,"route":…,"stream":{"team":…,"app":…},"log":{"sequence":…,"segment":…,"offset":…}}`, with
    /// `"schema":"invalid"` when the event went to its stream's errors stream.
    static func acceptedBody(_ record: EventRecord, position: LogPosition, deadLettered: Bool = false) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + record.eventID.utf8.count + record.team.utf8.count + record.app.utf8.count)
        bytes.append(contentsOf: #"{"event_id":"#.utf8)
        EnvelopeWriter.appendJSONString(record.eventID, to: &bytes)
        bytes.append(contentsOf: #","route":""#.utf8)
        bytes.append(contentsOf: record.route.name.utf8)
        bytes.append(contentsOf: #"","stream":{"team":"#.utf8)
        EnvelopeWriter.appendJSONString(record.team, to: &bytes)
        bytes.append(contentsOf: #","app":"#.utf8)
        EnvelopeWriter.appendJSONString(record.app, to: &bytes)
        bytes.append(contentsOf: #"},"log":{"sequence":"#.utf8)
        bytes.append(contentsOf: String(position.sequence).utf8)
        bytes.append(contentsOf: #","segment":"#.utf8)
        bytes.append(contentsOf: String(position.segment).utf8)
        bytes.append(contentsOf: #","offset":"#.utf8)
        bytes.append(contentsOf: String(position.offset).utf8)
        bytes.append(contentsOf: (deadLettered ? #"},"schema":"invalid"}"# : "}}").utf8)
        return ByteBuffer(bytes: bytes)
    }

    static func eventFields(_ record: EventRecord) -> String {
        "\"event_id\":\(EnvelopeWriter.jsonString(record.eventID)),\"route\":\(EnvelopeWriter.jsonString(record.route.name))"
            + ",\"stream\":{\"team\":\(EnvelopeWriter.jsonString(record.team)),\"app\":\(EnvelopeWriter.jsonString(record.app))}"
    }

    static func positionJSON(_ position: LogPosition) -> String {
        "{\"sequence\":\(position.sequence),\"segment\":\(position.segment),\"offset\":\(position.offset)}"
    }

    static func receiptJSON(_ receipt: Receipt) -> String {
        let fields = receipt.fields.map { field in
            let value =
                switch field.value {
                case .string(let string): EnvelopeWriter.jsonString(string)
                case .integer(let integer): String(integer)
                }
            return EnvelopeWriter.jsonString(field.name) + ":" + value
        }
        return EnvelopeWriter.jsonString(receipt.key) + ":{" + fields.joined(separator: ",") + "}"
    }

    static func attemptsJSON(_ attempts: [DeliveryAttempt]) -> String {
        "["
            + attempts.map { attempt in
                "{\"started_at\":\"\(Timestamp.rfc3339(millis: attempt.startedAtMillis))\",\"duration_ms\":\(attempt.durationMillis)"
                    + ",\"error_code\":\(EnvelopeWriter.jsonString(attempt.errorCode ?? ""))"
                    + ",\"error_message\":\(EnvelopeWriter.jsonString(attempt.errorMessage ?? ""))}"
            }.joined(separator: ",") + "]"
    }

    static func json(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A response body written into memory (to keep an idempotent answer).
private final class CollectedBody: ResponseBodyWriter {
    private(set) var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytesView }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
