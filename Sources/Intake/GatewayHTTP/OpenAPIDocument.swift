import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 document of this API, compiled into the binary from
/// `Sources/Intake/GatewayHTTP/OpenAPI/openapi.json` (`docs/openapi.json` is a link to it). It needs no credentials,
/// like `/health` and `/ready` (``AuthenticationMiddleware``).
enum OpenAPIDocument {
    /// The document, byte for byte as committed.
    static var bytes: [UInt8] { PackageResources.openapi_json }

    /// Adds `GET /openapi.json` to `router`.
    static func addRoute(to router: Router<IngestRequestContext>) {
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
