import GatewayConfig
import HTTPTypes
import Hummingbird
import NIOCore

/// `server.cors`: Hummingbird's `CORSMiddleware` for the origins the configuration allows (docs/edge.md#cors).
///
/// Hummingbird's middleware echoes any origin (`originBased`) or one fixed value; this wrapper lets only configured
/// origins reach it (a request from another origin passes without its `Origin`, so it gets no CORS headers and the
/// browser keeps the answer from the page; its preflight is a 403). It also turns errors into responses before
/// they leave, and puts `Access-Control-Expose-Headers` on every answer (Hummingbird's sends it on preflights only),
/// so a page can read `Retry-After`, `RateLimit-*` and `X-Request-Id` of a 429 or a 503 too.
struct CrossOriginMiddleware: RouterMiddleware {
    typealias Context = IngestRequestContext

    /// The request headers a page may always send.
    static let gatewayHeaders = [
        "Content-Type", "Authorization", "X-Api-Key", "Idempotency-Key", "X-Request-Id", "X-Client-Sent-At", "X-Deadline-Ms",
        "Content-Encoding", "Last-Event-ID",
    ]
    /// The response headers a page may read.
    static let exposedHeaders = [
        "X-Request-Id", "X-Processing-Latency", "X-Network-Latency", "Server-Timing", "Retry-After", "RateLimit-Limit",
        "RateLimit-Remaining", "RateLimit-Reset", "Idempotent-Replayed", "WWW-Authenticate",
    ]

    private let allowsAnyOrigin: Bool
    private let origins: Set<String>
    private let cors: CORSMiddleware<Context>
    private let exposed: String

    init(_ configuration: CORSConfiguration) {
        allowsAnyOrigin = configuration.allowedOrigins.contains("*")
        origins = Set(configuration.allowedOrigins.map { $0.lowercased() })
        let headers = (Self.gatewayHeaders + configuration.allowedHeaders).compactMap { HTTPField.Name($0) }
        cors = CORSMiddleware(
            allowOrigin: allowsAnyOrigin ? .all : .originBased, allowHeaders: headers, allowMethods: [.get, .post, .options],
            exposedHeaders: Self.exposedHeaders, maxAge: .seconds(Int64(configuration.maxAgeSeconds)))
        exposed = Self.exposedHeaders.joined(separator: ", ")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        guard allowsAnyOrigin || origins.contains(origin.lowercased()) else {
            if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
                throw ProblemDetails(
                    status: .forbidden, type: "origin-not-allowed", title: "Origin not allowed",
                    detail: "the origin '\(origin.prefix(256))' is not in server.cors.allowed_origins")
            }
            var head = request.head
            head.headerFields[.origin] = nil
            return try await next(Request(head: head, body: request.body), context)
        }
        var response = try await cors.handle(request, context: context) { request, context in
            do {
                return try await next(request, context)
            } catch let error as any HTTPResponseError {
                return try error.response(from: request, context: context)
            }
        }
        if request.method != .options { response.headers[.accessControlExposeHeaders] = exposed }
        return response
    }
}
