// `bare-hummingbird`: the comparison server of the embedded-path benchmark (docs/benchmarks.md). A Hummingbird 2
// application with nothing but `POST /v1/events`, which collects the body (up to 1 MiB) and answers 202: what any
// Hummingbird service pays per request before it does any work of its own.
//
// Usage: bare-hummingbird [port]   (0, the default, picks a free port; the port is printed as `{"sluice.port":"N"}`
// so the benchmark scripts find it the way they find `sluice serve`'s).
import Hummingbird

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
        print("{\"sluice.port\":\"\(channel.localAddress?.port ?? 0)\"}")
    }
)
try await application.runService()
