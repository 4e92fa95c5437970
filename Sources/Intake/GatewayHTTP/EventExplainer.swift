import EdgeAccess
import EnvelopeScanner
import GatewayConfig
import GatewayCore
import JSONSchema
import Routing

/// `POST /v1/events/explain`: every decision the gateway would make for one event, without writing it or taking
/// from a rate limit (docs/edge.md#explain).
struct EventExplainer: Sendable {
    let ingestor: EventIngestor
    let streams: [StreamConfiguration]
    /// The archive object prefix an event of `team/app` received at `millis` goes under; nil without an archive.
    let archivePath: @Sendable (_ team: String, _ app: String, _ millis: Int64) -> String?

    /// The JSON answer. Throws only for a body that is not one envelope (400, as `POST /v1/events`).
    func explain(_ bytes: UnsafeRawBufferPointer, receivedAtMillis: Int64, principal: Principal) throws(ProblemDetails) -> String {
        let envelope: ScannedEnvelope
        do {
            envelope = try EnvelopeScanner.scanEnvelope(bytes, maxDepth: ingestor.maxDepth)
        } catch {
            throw EventIngestor.problem(for: error)
        }
        var fields: [String] = []
        let access = ingestor.access
        let stream: StreamReference
        do {
            stream = try ingestor.router.stream(team: envelope.team, app: envelope.app)
        } catch {
            let problem = EventIngestor.problem(for: error)
            let verdict = access.policy.decide(principal, .ingest, team: envelope.team ?? "", app: envelope.app ?? "")
            fields.append(#""stream":null"#)
            fields.append(Self.authJSON(principal, verdict))
            // An unknown stream is named only to callers who could use it (as `POST /v1/events` does).
            fields.append(#""stream_problem":"# + (verdict == .allowed ? problem.json : "null"))
            return "{" + fields.joined(separator: ",") + "}"
        }
        fields.append(#""stream":{"team":\#(EnvelopeWriter.jsonString(stream.team)),"app":\#(EnvelopeWriter.jsonString(stream.app))}"#)
        let verdict = access.policy.decide(principal, .ingest, team: stream.team, app: stream.app)
        fields.append(Self.authJSON(principal, verdict))
        guard verdict == .allowed else { return "{" + fields.joined(separator: ",") + "}" }

        let payload = UnsafeRawBufferPointer(rebasing: bytes[envelope.payload])
        if let policy = ingestor.schemas[stream] {
            let violations = EventIngestor.violations(of: payload, against: policy.schema)
            let items = violations.map { ProblemDetails.FieldError($0).json }.joined(separator: ",")
            fields.append(
                #""schema":{"verdict":"\#(violations.isEmpty ? "valid" : "invalid")","on_invalid":"\#(policy.onInvalid.rawValue)","violations":[\#(items)]}"#
            )
        } else {
            fields.append(#""schema":{"verdict":"none"}"#)
        }
        let eventID = envelope.eventID ?? "(generated at intake)"
        let partitionKey = envelope.partitionKey ?? envelope.eventID
        let recordBytes = EnvelopeWriter.envelope(
            eventID: envelope.eventID ?? EventID.makeUUIDv7(millis: receivedAtMillis), team: stream.team, app: stream.app,
            partitionKey: partitionKey ?? "", receivedAtMillis: receivedAtMillis, payload: payload
        ).count
        do {
            let decision = try ingestor.router.decide(
                stream: stream, payloadBytes: payload.count, recordBytes: recordBytes, largeMessage: envelope.largeMessage ?? false)
            fields.append(
                #""size":{"payload_bytes":\#(payload.count),"record_bytes":\#(recordBytes),"class":"\#(decision.isLarge ? "large" : "small")","max_record_bytes":\#(decision.maxRecordBytes)}"#
            )
            fields.append(
                #""route":{"name":\#(EnvelopeWriter.jsonString(decision.route.name)),"destination":\#(EnvelopeWriter.jsonString(decision.route.destination)),"saturated":\#(ingestor.isSaturated(decision.route.sink))}"#
            )
        } catch {
            fields.append(#""size":{"payload_bytes":\#(payload.count),"record_bytes":\#(recordBytes)}"#)
            fields.append(#""route":null,"route_problem":\#(EventIngestor.problem(for: error).json)"#)
        }
        fields.append(#""event_id":\#(EnvelopeWriter.jsonString(eventID))"#)
        fields.append(#""partition_key":\#(partitionKey.map(EnvelopeWriter.jsonString) ?? #""(the event id)""#)"#)
        let archived = streams.first { $0.team == stream.team && $0.app == stream.app }?.archive ?? true
        let path = archived ? archivePath(stream.team, stream.app, receivedAtMillis) : nil
        fields.append(#""archive":\#(path.map { #"{"path":\#(EnvelopeWriter.jsonString($0))}"# } ?? "null")"#)
        let key: String? =
            switch principal {
            case .apiKey(let name): name
            case .anonymous, .token: nil
            }
        let limits = access.limiter.limits(team: stream.team, app: stream.app, key: key).map { "\"\($0)\"" }.joined(separator: ",")
        var limitJSON = #""limits":{"apply":[\#(limits)]"#
        switch access.limiter.peek(team: stream.team, app: stream.app, key: key, bytes: payload.count) {
        case .admitted(let status):
            limitJSON += #","verdict":"admitted""#
            if let status { limitJSON += #","remaining":\#(status.remaining)"# }
        case .limited(let retryAfter, let limit, _):
            limitJSON += #","verdict":"limited","limit":"\#(limit)","retry_after_ms":\#(Int(retryAfter.milliseconds.rounded(.up)))"#
        }
        fields.append(limitJSON + "}")
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func authJSON(_ principal: Principal, _ decision: AccessDecision) -> String {
        let verdict =
            switch decision {
            case .allowed: "allowed"
            case .credentialsRequired: "credentials_required"
            case .forbidden: "forbidden"
            }
        return #""auth":{"principal":\#(EnvelopeWriter.jsonString(principal.label)),"scope":"ingest","verdict":"\#(verdict)"}"#
    }
}
