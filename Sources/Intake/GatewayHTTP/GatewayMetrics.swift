public import CoreMetrics
import GatewayCore
import Metrics
import Synchronization

/// HTTP request metrics: `sluice_http_requests_total{path,status}` and `sluice_http_request_duration_seconds{path}`.
/// Metric objects are cached per label set so the hot path does no factory lookups.
final class HTTPMetrics: Sendable {
    private struct Key: Hashable {
        var path: String
        var status: Int
    }

    private let factory: any MetricsFactory
    private let metrics = Mutex<[Key: (requests: Counter, duration: Metrics.Timer)]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func record(path: String, status: Int, seconds: Double) {
        let key = Key(path: path, status: status)
        let pair = metrics.withLock { metrics in
            if let pair = metrics[key] { return pair }
            let pair = (
                Counter(label: "sluice_http_requests_total", dimensions: [("path", path), ("status", "\(status)")], factory: factory),
                Metrics.Timer(label: "sluice_http_request_duration_seconds", dimensions: [("path", path)], factory: factory)
            )
            metrics[key] = pair
            return pair
        }
        pair.requests.increment()
        pair.duration.recordNanoseconds(Int64(seconds * 1e9))
    }
}

/// Router decisions: `sluice_events_total{team,app,route,size}` and `sluice_event_bytes_total{team,app,route}`.
final class IngestMetrics: Sendable {
    private struct Key: Hashable {
        var team: String
        var app: String
        var route: String
        var isLarge: Bool
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: (events: Counter, bytes: Counter)]>([:])
    private let schemaCounters = Mutex<[[String]: Counter]>([:])
    let rejected: Counter
    let refused: Counter

    /// `sluice_schema_invalid_total{team,app,action}`: payloads a stream's schema refused (`reject`, `dead_letter`).
    func schemaInvalid(team: String, app: String, action: String) {
        let key = [team, app, action]
        schemaCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "sluice_schema_invalid_total", dimensions: [("team", team), ("app", app), ("action", action)], factory: factory)
            counters[key] = counter
            return counter
        }.increment()
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
        rejected = Counter(label: "sluice_events_invalid_total", factory: factory)
        refused = Counter(label: "sluice_events_refused_total", dimensions: [("reason", "backpressure")], factory: factory)
    }

    func routed(team: String, app: String, route: String, isLarge: Bool, bytes: Int) {
        let key = Key(team: team, app: app, route: route, isLarge: isLarge)
        let pair = counters.withLock { counters in
            if let pair = counters[key] { return pair }
            let dimensions = [("team", team), ("app", app), ("route", route)]
            let pair = (
                Counter(label: "sluice_events_total", dimensions: dimensions + [("size", isLarge ? "large" : "small")], factory: factory),
                Counter(label: "sluice_event_bytes_total", dimensions: dimensions, factory: factory)
            )
            counters[key] = pair
            return pair
        }
        pair.events.increment()
        pair.bytes.increment(by: bytes)
    }
}

/// The HTTP edge: `sluice_http_edge_refused_total{reason}` (requests and connections the edge answered itself,
/// by problem type) and `sluice_http_open_connections`.
public final class EdgeMetrics: Sendable {
    private let factory: any MetricsFactory
    private let refusals = Mutex<[String: Counter]>([:])
    private let connections: Gauge

    public init(factory: any MetricsFactory) {
        self.factory = factory
        connections = Gauge(label: "sluice_http_open_connections", factory: factory)
    }

    func refused(_ reason: String) {
        let counter = refusals.withLock { refusals in
            if let counter = refusals[reason] { return counter }
            let counter = Counter(label: "sluice_http_edge_refused_total", dimensions: [("reason", reason)], factory: factory)
            refusals[reason] = counter
            return counter
        }
        counter.increment()
    }

    func openConnections(_ count: Int) {
        connections.record(count)
    }
}
