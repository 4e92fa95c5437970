/// `live:` — the live streams (`GET /v1/streams/{team}/{app}/live`) and the events API; an extension of
/// ARCHITECTURE.md §3 (docs/live.md).
public struct LiveConfiguration: Sendable, Equatable {
    /// Open live connections allowed at once; one more is answered 503 with `Retry-After`. Default 1000, 1…100000.
    public var maxConnections: Int = 1000
    /// Seconds between keep-alive pings on an idle live connection. Default 15, 1…300.
    public var pingIntervalSeconds: Int = 15
    /// Serve `GET /v1/streams/{team}/{app}/live` as a WebSocket too (an upgrade request). Default false: the server
    /// then runs the plain HTTP/1.1 channel, and an upgrade is answered 501.
    public var websocket: Bool = false
    /// The least milliseconds between the starts of two reads of the live broadcaster: under load, what arrives
    /// meanwhile goes out to each connection in one write; an event waits at most this long for it. Default 50,
    /// 0…1000 (0: read as soon as records arrive).
    public var readIntervalMs: Int = 50

    public init() {}
}
