import HTTPTypes
import NIOHTTP1

/// Why the edge stopped reading a request that had already reached the router. The edge fires it into the
/// request's body stream, so the handler reading the body throws it and ``RequestTimingMiddleware`` answers it.
public struct EdgeRequestError: Error, Sendable, CustomStringConvertible {
    /// What went wrong (an opaque code; new codes break no `switch`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: Sendable, Hashable { case readTimeout, inflightLimit, malformedFraming, bodyTooLarge }
        let value: Value
        /// The body did not arrive within `server.read_timeout_s`.
        public static let readTimeout = Code(value: .readTimeout)
        /// Buffering the body would pass `server.max_inflight_mb`.
        public static let inflightLimit = Code(value: .inflightLimit)
        /// The body's framing is broken (bad chunk size, connection closed early, …).
        public static let malformedFraming = Code(value: .malformedFraming)
        /// The body is longer than `server.max_body_kb`.
        public static let bodyTooLarge = Code(value: .bodyTooLarge)
        public var description: String { "\(value)" }
    }

    public var code: Code
    /// What a client needs to know.
    public var message: String

    public var description: String { "\(code): \(message)" }

    /// The problem+json answer for this error.
    var problem: ProblemDetails {
        switch code.value {
        case .readTimeout: .requestTimeout(message)
        case .inflightLimit: .inflightLimit(message)
        case .malformedFraming: .malformedHTTP(message)
        case .bodyTooLarge: .bodyTooLarge(message)
        }
    }
}

extension ProblemDetails {
    static func requestTimeout(_ detail: String) -> ProblemDetails {
        ProblemDetails(status: .requestTimeout, type: "request-timeout", title: "Request timeout", detail: detail, headers: [.connection: "close"])
    }

    static func inflightLimit(_ detail: String) -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "inflight-limit", title: "Too many request bytes in flight", detail: detail,
            headers: [.retryAfter: "1"]
        )
    }

    static func malformedHTTP(_ detail: String) -> ProblemDetails {
        ProblemDetails(status: .badRequest, type: "malformed-http", title: "Malformed HTTP request", detail: detail, headers: [.connection: "close"])
    }

    static func bodyTooLarge(_ detail: String, limitBytes: Int? = nil) -> ProblemDetails {
        ProblemDetails(
            status: .contentTooLarge, type: "body-too-large", title: "Body too large", detail: detail,
            extensions: limitBytes.map { [("limit_bytes", "\($0)")] } ?? []
        )
    }

    static func uriTooLong(_ detail: String) -> ProblemDetails {
        ProblemDetails(status: .uriTooLong, type: "uri-too-long", title: "URI too long", detail: detail)
    }

    static func headersTooLarge(_ detail: String) -> ProblemDetails {
        ProblemDetails(
            status: HTTPResponse.Status(code: 431, reasonPhrase: "Request Header Fields Too Large"), type: "headers-too-large",
            title: "Request header fields too large", detail: detail
        )
    }

    static func tooManyConnections(_ limit: Int) -> ProblemDetails {
        ProblemDetails(
            status: .serviceUnavailable, type: "too-many-connections", title: "Too many connections",
            detail: "the gateway holds its maximum of \(limit) open connections (server.max_connections); retry later",
            headers: [.retryAfter: "1"]
        )
    }

    /// The answer to an HTTP/1.1 parse error from NIO's decoder.
    static func parseError(_ error: HTTPParserError) -> ProblemDetails {
        switch error {
        case .headerOverflow:
            .headersTooLarge("the request's header section is larger than the gateway accepts (server.max_header_kb)")
        default:
            .malformedHTTP("the request is not valid HTTP/1.1 (\(error)); the connection is closed")
        }
    }
}
