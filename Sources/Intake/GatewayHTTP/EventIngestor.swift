import CoreMetrics
import Delivery
import EdgeAccess
import EnvelopeScanner
import GatewayConfig
import GatewayCore
import GatewayLog
import HTTPTypes
import Routing

/// An event that passed validation and routing, ready to append.
struct PreparedEvent: Sendable {
    var record: EventRecord
    var decision: RouteDecision
    var payloadBytes: Int
    /// What the rate limits that applied have left (`RateLimit-*`); nil when none applies.
    var rateLimit: RateLimitStatus?
}

/// Who sends an event, and the scope its endpoint needs (`ingest` or `confirmed`).
struct IngestCaller: Sendable {
    var principal: Principal
    var scope: AccessScope
}

/// Turns request bytes into routed ``EventRecord``s: one pass of the byte scanner (no object tree for the payload),
/// envelope checks, the router, and the versioned envelope built around the payload bytes as received.
struct EventIngestor: Sendable {
    /// Longest accepted `event_id`, `partition_key`, `team` and `app`, in bytes (Kinesis allows 256 for partition keys).
    static let maxIdentifierBytes = 256

    let router: Router
    let maxDepth: Int
    let metrics: IngestMetrics
    /// Authorisation per event and the rate limits (docs/edge.md).
    var access: EdgeAccessControl = .open
    /// Whether a route's backend holds as many records as it may (its producer's `max_outstanding_records`):
    /// new events for it get 503 until it drains.
    var isSaturated: @Sendable (SinkID) -> Bool = { _ in false }

    /// Validates and routes one envelope.
    /// - Throws: ``ProblemDetails`` (400 malformed/invalid, 401/403 not granted, 404 unknown stream, 413 too large,
    ///   429 rate limited, 503 backend saturated).
    func prepare(_ bytes: UnsafeRawBufferPointer, receivedAtMillis: Int64, waiterToken: UInt64, caller: IngestCaller) throws(ProblemDetails)
        -> PreparedEvent
    {
        do {
            return try prepareUnchecked(bytes, receivedAtMillis: receivedAtMillis, waiterToken: waiterToken, caller: caller)
        } catch {
            metrics.rejected.increment()
            throw error
        }
    }

    private func prepareUnchecked(
        _ bytes: UnsafeRawBufferPointer, receivedAtMillis: Int64, waiterToken: UInt64, caller: IngestCaller
    ) throws(ProblemDetails) -> PreparedEvent {
        let envelope: ScannedEnvelope
        do {
            envelope = try EnvelopeScanner.scanEnvelope(bytes, maxDepth: maxDepth)
        } catch {
            throw Self.problem(for: error)
        }
        for (field, value) in [
            ("team", envelope.team), ("app", envelope.app), ("event_id", envelope.eventID), ("partition_key", envelope.partitionKey),
        ] {
            guard let value else { continue }
            if value.isEmpty {
                throw ProblemDetails.invalidEnvelope("field '\(field)' must not be empty", field: field)
            }
            if value.utf8.count > Self.maxIdentifierBytes {
                throw ProblemDetails.invalidEnvelope(
                    "field '\(field)' is \(value.utf8.count) bytes long; the limit is \(Self.maxIdentifierBytes)", field: field
                )
            }
        }
        let stream: StreamReference
        do {
            stream = try router.stream(team: envelope.team, app: envelope.app)
        } catch {
            // Whether a stream exists is told only to callers who could use it.
            if error.code == .unknownStream, access.policy.isEnabled {
                try access.require(caller.principal, caller.scope, team: envelope.team ?? "", app: envelope.app ?? "")
            }
            throw Self.problem(for: error)
        }
        try access.require(caller.principal, caller.scope, team: stream.team, app: stream.app)
        let eventID = envelope.eventID ?? EventID.makeUUIDv7(millis: receivedAtMillis)
        let partitionKey = envelope.partitionKey ?? eventID
        let payload = UnsafeRawBufferPointer(rebasing: bytes[envelope.payload])
        let envelopeBytes = EnvelopeWriter.envelope(
            eventID: eventID, team: stream.team, app: stream.app, partitionKey: partitionKey,
            receivedAtMillis: receivedAtMillis, payload: payload
        )
        let decision: RouteDecision
        do {
            decision = try router.decide(
                stream: stream, payloadBytes: payload.count, recordBytes: envelopeBytes.count,
                largeMessage: envelope.largeMessage ?? false
            )
        } catch {
            throw Self.problem(for: error)
        }
        if isSaturated(decision.route.sink) {
            throw ProblemDetails.backendSaturated(decision.route)
        }
        let rateLimit = try access.admit(caller.principal, team: stream.team, app: stream.app, bytes: payload.count)
        metrics.routed(team: stream.team, app: stream.app, route: decision.route.name, isLarge: decision.isLarge, bytes: payload.count)
        let record = EventRecord(
            eventID: eventID, team: stream.team, app: stream.app, partitionKey: partitionKey,
            receivedAtMillis: receivedAtMillis, route: decision.route, copies: decision.copies,
            waiterToken: waiterToken, envelope: envelopeBytes
        )
        return PreparedEvent(record: record, decision: decision, payloadBytes: payload.count, rateLimit: rateLimit)
    }

    static func problem(for error: EnvelopeError) -> ProblemDetails {
        switch error.code {
        case .emptyBody:
            ProblemDetails(
                status: .badRequest, type: "empty-body", title: "Empty body", detail: "the request body is empty; send one JSON event envelope")
        case .invalidJSON, .invalidUTF8, .trailingData, .tooDeep:
            .malformedJSON(error.message, offset: error.offset)
        default:
            .invalidEnvelope(error.message, field: error.field)
        }
    }

    static func problem(for error: RoutingError) -> ProblemDetails {
        switch error.code {
        case .unknownStream:
            ProblemDetails(status: .notFound, type: "unknown-stream", title: "Unknown stream", detail: error.message)
        case .tooLarge:
            ProblemDetails(
                status: .contentTooLarge, type: "event-too-large", title: "Event too large", detail: error.message,
                extensions: error.limitBytes.map { [("limit_bytes", "\($0)")] } ?? []
            )
        default:
            ProblemDetails(
                status: .badRequest, type: "missing-stream", title: "Missing stream", detail: error.message,
                errors: [.init(field: "team", message: error.message)]
            )
        }
    }

    static func problem(for error: EventLogError) -> ProblemDetails {
        switch error.code {
        case .full: .logFull(error.message)
        case .closed: .shuttingDown()
        default: .logUnavailable(error.message)
        }
    }
}
