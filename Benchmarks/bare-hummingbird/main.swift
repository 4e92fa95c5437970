import Hummingbird

// `bare-hummingbird`: the comparison server of the embedded-path benchmark (docs/benchmarks.md). A Hummingbird 2
// application with nothing but `POST /v1/events`, which collects the body (up to 1 MiB) and answers 202: what any
// Hummingbird service pays per request before it does any work of its own.
//
// Usage: bare-hummingbird [port]   (0, the default, picks a free port; the port is printed as `{"sluice.port":"N"}`
// so the benchmark scripts find it the way they find `sluice serve`'s).
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 0
let router = Router()
router.post("/v1/events") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 1 << 20)
    return Response(status: .accepted)
}
let application = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare-hummingbird"),
    onServerRunning: { channel in
        // Written straight to the file descriptor (no stdio buffer): the benchmark scripts read it from a file at once.
        let line = Array("{\"sluice.port\":\"\(channel.localAddress?.port ?? 0)\"}\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }
)
try await application.runService()
