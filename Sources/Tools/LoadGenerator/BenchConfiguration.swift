/// Where `sluice bench` sends requests: a plain-HTTP base URL such as `http://127.0.0.1:8080` or `http://[::1]:8080/prefix`.
public struct BenchTarget: Sendable, Equatable, CustomStringConvertible {
    /// The host name or address (without brackets for IPv6).
    public var host: String
    /// The TCP port.
    public var port: Int
    /// A path prefix before `/v1/…` (empty, or starting with `/` and not ending with one).
    public var basePath: String

    public init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses an `http://host[:port][/path]` URL.
    /// - Throws: ``BenchError`` naming what is wrong (https, a missing host, a bad port).
    public init(parsing url: String) throws(BenchError) {
        var rest = Substring(url)
        if rest.lowercased().hasPrefix("https://") {
            throw BenchError(
                .invalidOption, "--url: https is not supported by sluice bench; point it at the gateway's plain HTTP listener (http://…)")
        }
        if rest.lowercased().hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else if rest.contains("://") {
            throw BenchError(.invalidOption, "--url: '\(url)' is not an http:// URL")
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<query]) }
        while path.hasSuffix("/") { path.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw BenchError(.invalidOption, "--url: '\(url)' has an unclosed '[' in its IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw BenchError(.invalidOption, "--url: unexpected '\(after)' after the IPv6 address in '\(url)'")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if host.contains("@") { host = host[host.index(after: host.lastIndex(of: "@") ?? host.startIndex)...] }
        guard !host.isEmpty else { throw BenchError(.invalidOption, "--url: '\(url)' has no host (e.g. http://127.0.0.1:8080)") }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw BenchError(.invalidOption, "--url: '\(portText)' is not a port number (1-65535)")
            }
            port = value
        }
        self.init(host: String(host), port: port, basePath: path)
    }

    /// The `Host` header value.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(basePath)" }
}

/// Which gateway endpoint a run exercises.
public enum BenchEndpoint: String, Sendable, Equatable, CaseIterable {
    /// `POST /v1/events`: one event, 202 once it is in the log.
    case events
    /// `POST /v1/events/confirmed`: one event, 200 once the backend confirmed it.
    case confirmed
    /// `POST /v1/events/batch`: many events, 200 or 207 with per-item statuses.
    case batch

    /// The path after the base URL.
    public var path: String {
        switch self {
        case .events: "/v1/events"
        case .confirmed: "/v1/events/confirmed"
        case .batch: "/v1/events/batch"
        }
    }
}

/// How requests are paced.
public enum LoadMode: Sendable, Equatable {
    /// Each connection sends its next request as soon as the previous response arrived.
    case closedLoop
    /// Requests are intended at a constant rate of events per second, whatever the responses do;
    /// latency is measured from each request's intended send time.
    case openLoop(eventsPerSecond: Double)
}

/// Everything a `sluice bench` run needs.
public struct BenchConfiguration: Sendable {
    /// Where to send.
    public var target: BenchTarget
    /// Which endpoint.
    public var endpoint: BenchEndpoint = .events
    /// Events per batch request (batch endpoint only).
    public var batchSize: Int = 100
    /// The body format of batch requests.
    public var batchFormat: BatchFormat = .json
    /// The events' shape.
    public var shape = EventShape()
    /// Closed or open loop.
    public var mode: LoadMode = .closedLoop
    /// How many keep-alive HTTP/1.1 connections.
    public var connections: Int = 64
    /// How long to measure (after the warm-up).
    public var duration: Duration = .seconds(30)
    /// How long to send before measuring (not recorded).
    public var warmup: Duration = .seconds(5)
    /// How long to wait for outstanding responses after the end before giving up on them.
    public var drainTimeout: Duration = .seconds(10)
    /// Event-loop threads for the client.
    public var threads: Int = 1
    /// Prefix of every event id in this run.
    public var idPrefix: String
    /// Whether to keep the numbers of acknowledged events (for `--ids`).
    public var collectAcknowledgedIDs = false

    public init(target: BenchTarget, idPrefix: String) {
        self.target = target
        self.idPrefix = idPrefix
    }

    /// Events per request.
    public var eventsPerRequest: Int { endpoint == .batch ? batchSize : 1 }

    /// Checks every range.
    /// - Throws: ``BenchError`` naming the option to fix.
    public func validate() throws(BenchError) {
        try shape.validate()
        guard connections >= 1, connections <= 10_000 else {
            throw BenchError(.invalidOption, "--connections: \(connections) is out of range (1-10000)")
        }
        guard threads >= 1, threads <= 64 else { throw BenchError(.invalidOption, "--threads: \(threads) is out of range (1-64)") }
        guard duration > .zero else { throw BenchError(.invalidOption, "--duration: must be longer than 0") }
        guard warmup >= .zero else { throw BenchError(.invalidOption, "--warmup: must not be negative") }
        if endpoint == .batch {
            guard batchSize >= 1, batchSize <= 100_000 else {
                throw BenchError(.invalidOption, "--batch-size: \(batchSize) is out of range (1-100000; the gateway's default limit is 500)")
            }
        }
        if case .openLoop(let rate) = mode {
            _ = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: rate, eventsPerRequest: eventsPerRequest)
        }
    }

    /// A one-line description of the run.
    public var summary: String {
        var text = "\(target)\(endpoint.path)"
        if endpoint == .batch { text += " (batches of \(batchSize), \(batchFormat.rawValue))" }
        switch mode {
        case .closedLoop: text += ", closed loop"
        case .openLoop(let rate): text += ", open loop at \(Formatting.decimal(rate, digits: 3)) events/s"
        }
        text += ", \(connections) connection\(connections == 1 ? "" : "s"), \(DurationParser.format(duration))"
        if warmup > .zero { text += " after \(DurationParser.format(warmup)) warm-up" }
        return text
    }
}
