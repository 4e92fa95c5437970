import GatewayConfig
import GatewayCore
public import HTTPTypes
public import Hummingbird
public import JSONSchema
import NIOCore

/// An error answered as `application/problem+json` (RFC 9457): `{"type","title","status","detail"}`, plus
/// `errors` (field-level validation messages) and any extra members (attempt history, limits).
public struct ProblemDetails: HTTPResponseError, Sendable, CustomStringConvertible {
    /// One field-level problem: an envelope field, or a schema violation (`instance_path` and `schema_path`).
    public struct FieldError: Sendable, Equatable {
        public var field: String
        public var message: String
        /// The JSON Pointer into the payload of a schema violation.
        public var instancePath: String?
        /// The JSON Pointer to the schema keyword that failed.
        public var schemaPath: String?

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public init(_ violation: SchemaViolation) {
            self.init(instancePath: violation.instancePath, schemaPath: violation.schemaPath, message: violation.message)
        }

        public init(instancePath: String, schemaPath: String, message: String) {
            self.field = "payload" + instancePath
            self.message = message
            self.instancePath = instancePath
            self.schemaPath = schemaPath
        }

        var json: String {
            var out = "{\"field\":\(EnvelopeWriter.jsonString(field))"
            if let instancePath { out += ",\"instance_path\":\(EnvelopeWriter.jsonString(instancePath))" }
            if let schemaPath { out += ",\"schema_path\":\(EnvelopeWriter.jsonString(schemaPath))" }
            return out + ",\"message\":\(EnvelopeWriter.jsonString(message))}"
        }
    }

    public var status: HTTPResponse.Status
    /// A URN naming the kind of problem, e.g. `urn:sluice:problem:malformed-json`.
    public var type: String
    public var title: String
    public var detail: String
    public var errors: [FieldError]
    /// Extra members, as already-encoded JSON values keyed by name.
    public var extensions: [(String, String)]
    /// Extra response headers (`Retry-After`).
    public var headers: HTTPFields

    public init(
        status: HTTPResponse.Status,
        type: String,
        title: String,
        detail: String,
        errors: [FieldError] = [],
        extensions: [(String, String)] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.type = "urn:sluice:problem:" + type
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    public var description: String { "\(status.code) \(title): \(detail)" }

    /// The JSON body.
    public var json: String {
        var out = "{\"type\":\(EnvelopeWriter.jsonString(type)),\"title\":\(EnvelopeWriter.jsonString(title))"
        out += ",\"status\":\(status.code),\"detail\":\(EnvelopeWriter.jsonString(detail))"
        if !errors.isEmpty {
            out += ",\"errors\":["
            out += errors.map(\.json).joined(separator: ",")
            out += "]"
        }
        for (name, value) in extensions { out += ",\(EnvelopeWriter.jsonString(name)):\(value)" }
        out += "}"
        return out
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
}

extension ProblemDetails {
    static func malformedJSON(_ detail: String, offset: Int?) -> ProblemDetails {
        ProblemDetails(
            status: .badRequest, type: "malformed-json", title: "Malformed JSON", detail: detail,
            extensions: offset.map { [("offset", "\($0)")] } ?? []
        )
    }

    static func invalidEnvelope(_ detail: String, field: String?) -> ProblemDetails {
        ProblemDetails(
            status: .badRequest, type: "invalid-envelope", title: "Invalid event envelope", detail: detail,
            errors: field.map { [FieldError(field: $0, message: detail)] } ?? []
        )
    }

    static func schemaViolation(stream: StreamReference, violations: [SchemaViolation]) -> ProblemDetails {
        let first = violations.first.map { ": \($0.message) at \($0.instancePath.isEmpty ? "the payload's root" : "'\($0.instancePath)'")" } ?? ""
        return ProblemDetails(
            status: .badRequest, type: "schema-violation", title: "Event does not match its schema",
            detail: "the payload does not match the schema of stream '\(stream.team)/\(stream.app)'"
                + " (\(violations.count) violation\(violations.count == 1 ? "" : "s"))\(first)",
            errors: violations.map(FieldError.init))
    }

    static func logFull(_ detail: String) -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "backpressure", title: "Intake paused",
            detail: "the gateway's log is full until sinks catch up (\(detail)); retry later",
            headers: [.retryAfter: "1"]
        )
    }

    static func backendSaturated(_ route: Route) -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "backpressure", title: "Backend saturated",
            detail: "the \(route.name) producer holds its maximum of outstanding records for '\(route.destination)' "
                + "(max_outstanding_records); retry later",
            headers: [.retryAfter: "1"]
        )
    }

    static func shuttingDown() -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "shutting-down", title: "Shutting down",
            detail: "the gateway is shutting down; retry on another instance", headers: [.retryAfter: "1"]
        )
    }

    static func logUnavailable(_ detail: String) -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "log-unavailable", title: "Log unavailable",
            detail: "the event could not be written to the log: \(detail)", headers: [.retryAfter: "1"]
        )
    }
}
