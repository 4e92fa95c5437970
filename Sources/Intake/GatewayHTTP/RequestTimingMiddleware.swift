import GatewayCore
import HTTPHeaderParsing
import HTTPTypes
public import Hummingbird
import Logging
import Metrics
import NIOCore

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let processingLatency = Self("X-Processing-Latency")!
    static let networkLatency = Self("X-Network-Latency")!
    static let clientSentAt = Self("X-Client-Sent-At")!
    static let serverTiming = Self("Server-Timing")!
}

/// Gives every response `X-Request-Id`, `X-Processing-Latency`, `Server-Timing` and, when the client sent
/// `X-Client-Sent-At` (Unix epoch milliseconds), `X-Network-Latency`; turns every error into problem+json; counts requests.
public struct RequestTimingMiddleware: RouterMiddleware {
    public typealias Context = IngestRequestContext

    let metrics: HTTPMetrics

    init(metrics: HTTPMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.arrivedAt = .now
        context.arrivedAtMillis = Timestamp.nowMillis()
        context.requestID = Self.requestID(from: request) ?? EventID.makeUUIDv7(millis: context.arrivedAtMillis)
        // The request id goes into each of this middleware's log lines, not into the context's logger: setting logger
        // metadata copies the logger's storage on every request (a measurable share of the hot path's allocations).

        var response: Response
        do {
            response = try await next(request, context)
        } catch let problem as ProblemDetails {
            response = try problem.response(from: request, context: context)
        } catch let error as EdgeRequestError {
            response = try error.problem.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try Self.problem(for: error).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: [LoggingKeys.requestID: "\(context.requestID)", LoggingKeys.error: "\(error)"])
            response = try ProblemDetails(
                status: .internalServerError, type: "internal", title: "Internal error",
                detail: "the gateway failed to handle the request; it was logged with request id \(context.requestID)"
            ).response(from: request, context: context)
        }

        let elapsed = ContinuousClock.now - context.arrivedAt
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let processing = Self.format(millis)
        response.headers[.requestID] = context.requestID
        response.headers[.processingLatency] = processing + "ms"
        var timing = "app;dur=\(processing)"
        if let sent = request.headers[.clientSentAt],
            let latency = ClientSentAt.networkLatencyMillis(sent, nowMillis: context.arrivedAtMillis)
        {
            let network = Self.format(Double(latency))
            response.headers[.networkLatency] = network + "ms"
            timing += ", net;dur=\(network)"
        }
        response.headers[.serverTiming] = timing
        metrics.record(path: context.endpointPath ?? "unmatched", status: response.status.code, seconds: millis / 1000)
        // The access log: one structured line per request at debug level (free when the level is info or above).
        context.logger.debug(
            "request",
            metadata: [
                LoggingKeys.requestID: "\(context.requestID)", LoggingKeys.method: "\(request.method)", LoggingKeys.path: "\(request.uri.path)",
                LoggingKeys.status: "\(response.status.code)", LoggingKeys.latencyMillis: "\(processing)",
            ]
        )
        return response
    }

    /// A client-supplied request id, if it is reasonable (1–128 visible ASCII characters).
    static func requestID(from request: Request) -> String? {
        request.headers[.requestID].flatMap(RequestIDHeader.validated)
    }

    static func format(_ millis: Double) -> String {
        guard millis.isFinite, millis >= 0, millis < 1e12 else { return "0.00" }
        let hundredths = Int((millis * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func problem(for error: any HTTPResponseError) -> ProblemDetails {
        switch error.status {
        case .contentTooLarge:
            ProblemDetails(
                status: .contentTooLarge, type: "body-too-large", title: "Body too large",
                detail: "the request body is larger than server.max_body_kb allows"
            )
        case .notFound:
            ProblemDetails(status: .notFound, type: "not-found", title: "Not found", detail: "no such endpoint; see the HTTP contract in the README")
        case .methodNotAllowed:
            ProblemDetails(
                status: .methodNotAllowed, type: "method-not-allowed", title: "Method not allowed",
                detail: "this endpoint does not accept that method")
        default:
            ProblemDetails(status: error.status, type: "http-error", title: error.status.reasonPhrase, detail: "\(error)")
        }
    }
}
