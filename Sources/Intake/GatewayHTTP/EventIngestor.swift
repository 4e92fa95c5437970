import CoreMetrics
import Delivery
import EdgeAccess
import EnvelopeScanner
import GatewayConfig
import GatewayCore
import GatewayLog
import HTTPTypes
import JSONSchema
import Routing

/// An event that passed validation and routing, ready to append.
struct PreparedEvent: Sendable {
    var record: EventRecord
    var decision: RouteDecision
    var payloadBytes: Int
    /// What the rate limits that applied have left (`RateLimit-*`); nil when none applies.
    var rateLimit: RateLimitStatus?
    /// The payload failed its stream's schema and the event went to the errors stream (`on_invalid: dead_letter`).
    var deadLettered = false
}

/// A stream's `schema`, `on_invalid` and `errors_stream`.
struct StreamSchemaPolicy: Sendable {
    var schema: CompiledSchema
    var onInvalid: InvalidEventAction
    var errorsStream: StreamReference?

    /// The policies of every stream with a schema.
    static func policies(_ streams: [StreamConfiguration]) -> [StreamReference: StreamSchemaPolicy] {
        var policies: [StreamReference: StreamSchemaPolicy] = [:]
        for stream in streams {
            guard let schema = stream.schema else { continue }
            policies[StreamReference(team: stream.team, app: stream.app)] = StreamSchemaPolicy(
                schema: schema.compiled, onInvalid: stream.onInvalid, errorsStream: stream.errorsStream)
        }
        return policies
    }
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
    /// The JSON Schemas of the streams that have one.
    var schemas: [StreamReference: StreamSchemaPolicy] = [:]
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
        var stream: StreamReference
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
        let requested = stream
        var deadLetterPayload: [UInt8]?
        if let policy = schemas[stream] {
            let violations = Self.violations(of: payload, against: policy.schema)
            if !violations.isEmpty {
                metrics.schemaInvalid(team: stream.team, app: stream.app, action: policy.onInvalid.rawValue)
                guard policy.onInvalid == .deadLetter, let errors = policy.errorsStream else {
                    throw ProblemDetails.schemaViolation(stream: stream, violations: violations)
                }
                deadLetterPayload = Self.deadLetterPayload(stream: stream, eventID: eventID, violations: violations, payload: payload)
                stream = errors
            }
        }
        let envelopeBytes =
            deadLetterPayload.map { wrapped in
                wrapped.withUnsafeBytes { wrapped in
                    EnvelopeWriter.envelope(
                        eventID: eventID, team: stream.team, app: stream.app, partitionKey: partitionKey,
                        receivedAtMillis: receivedAtMillis, payload: wrapped)
                }
            }
            ?? EnvelopeWriter.envelope(
                eventID: eventID, team: stream.team, app: stream.app, partitionKey: partitionKey,
                receivedAtMillis: receivedAtMillis, payload: payload
            )
        let payloadBytes = deadLetterPayload?.count ?? payload.count
        let decision: RouteDecision
        do {
            decision = try router.decide(
                stream: stream, payloadBytes: payloadBytes, recordBytes: envelopeBytes.count,
                largeMessage: envelope.largeMessage ?? false
            )
        } catch {
            throw Self.problem(for: error)
        }
        if isSaturated(decision.route.sink) {
            throw ProblemDetails.backendSaturated(decision.route)
        }
        let rateLimit = try access.admit(caller.principal, team: requested.team, app: requested.app, bytes: payload.count)
        metrics.routed(team: stream.team, app: stream.app, route: decision.route.name, isLarge: decision.isLarge, bytes: payloadBytes)
        let record = EventRecord(
            eventID: eventID, team: stream.team, app: stream.app, partitionKey: partitionKey,
            receivedAtMillis: receivedAtMillis, route: decision.route, copies: decision.copies,
            waiterToken: waiterToken, envelope: envelopeBytes
        )
        return PreparedEvent(
            record: record, decision: decision, payloadBytes: payloadBytes, rateLimit: rateLimit, deadLettered: deadLetterPayload != nil)
    }

    /// The violations of `payload` (bytes the scanner validated); a fast valid-or-not check first.
    static func violations(of payload: UnsafeRawBufferPointer, against schema: CompiledSchema) -> [SchemaViolation] {
        do {
            if try schema.isValid(validatedBytes: payload) { return [] }
            return try schema.validate(validatedBytes: payload)
        } catch {
            return [SchemaViolation(instancePath: "", schemaPath: "", message: error.message)]
        }
    }

    /// The payload of a dead-lettered event: `{"error":{"type","stream","violations"},"event_id","payload"}`, the
    /// original payload byte for byte.
    static func deadLetterPayload(
        stream: StreamReference, eventID: String, violations: [SchemaViolation], payload: UnsafeRawBufferPointer
    ) -> [UInt8] {
        var out = Array(#"{"error":{"type":"urn:sluice:problem:schema-violation","stream":{"team":"#.utf8)
        EnvelopeWriter.appendJSONString(stream.team, to: &out)
        out += Array(#","app":"#.utf8)
        EnvelopeWriter.appendJSONString(stream.app, to: &out)
        out += Array(#"},"violations":["#.utf8)
        for (index, violation) in violations.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(ProblemDetails.FieldError(violation).json.utf8)
        }
        out += Array(#"]},"event_id":"#.utf8)
        EnvelopeWriter.appendJSONString(eventID, to: &out)
        out += Array(#","payload":"#.utf8)
        out += payload
        out.append(UInt8(ascii: "}"))
        return out
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
