import CoreMetrics
import Delivery
import EdgeAccess
import GatewayCore
import GatewayLog
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Subscriptions

/// `GET /health`, `GET /ready` and `GET /metrics`.
struct OperationsController: Sendable {
    let log: any EventLog
    let dispatchers: [SinkDispatcher]
    let registry: ConfirmationRegistry
    let prometheus: PrometheusCollectorRegistry
    let subscriptions: [Subscription]
    let access: EdgeAccessControl
    let gauges: OperationsGauges

    func addRoutes(to router: Router<IngestRequestContext>) {
        router.get("health") { _, _ in self.health() }
        router.get("ready") { _, _ in self.ready() }
        router.get("metrics") { _, context in
            try access.requireAnywhere(context.principal, .admin)
            return self.metrics()
        }
    }

    func health() -> Response {
        let stats = log.stats
        let now = Timestamp.nowMillis()
        var sinks: [String] = []
        for dispatcher in dispatchers {
            let sink = dispatcher.sinkID
            var json = "\(EnvelopeWriter.jsonString(sink.description)):{\"backlog_records\":\(stats.backlog(of: sink))"
            if let oldest = stats.oldestUnreleasedMillis[sink] {
                json += ",\"oldest_unreleased_age_ms\":\(max(0, now - oldest))"
            } else {
                json += ",\"oldest_unreleased_age_ms\":null"
            }
            json += ",\"healthy\":\(dispatcher.problem == nil)"
            json += ",\"problem\":\(dispatcher.problem.map(EnvelopeWriter.jsonString) ?? "null")}"
            sinks.append(json)
        }
        var json = "{\"ok\":true,\"outstanding_records\":\(stats.outstandingRecords)"
        json += ",\"confirmed_waiting\":\(registry.waitingCount)"
        json += ",\"log\":{\"kind\":\"\(stats.kind)\",\"bytes\":\(stats.bytes),\"max_bytes\":\(stats.maxBytes)"
        json += ",\"next_sequence\":\(stats.nextSequence),\"refusing_intake\":\(stats.isRefusingIntake)}"
        json += ",\"sinks\":{\(sinks.joined(separator: ","))}"
        json += ",\"subscriptions\":{\(subscriptionsJSON)}}"
        return EventsController.json(json, status: .ok)
    }

    /// `"name":{"state","lag_records","iterator_age_seconds","dead_lettered"}` per subscription.
    var subscriptionsJSON: String {
        subscriptions.map { subscription in
            let status = subscription.status
            return "\(EnvelopeWriter.jsonString(subscription.name)):{\"state\":\"\(status.state.rawValue)\""
                + ",\"lag_records\":\(subscription.lagRecords),\"iterator_age_seconds\":\(subscription.iteratorAgeSeconds)"
                + ",\"dead_lettered\":\(status.deadLettered)}"
        }.joined(separator: ",")
    }

    func ready() -> Response {
        let stats = log.stats
        var reasons: [String] = []
        if stats.isRefusingIntake { reasons.append("the log is full (\(stats.bytes) of \(stats.maxBytes) bytes); intake is refused") }
        for dispatcher in dispatchers {
            if let problem = dispatcher.problem { reasons.append("sink \(dispatcher.sinkID) is failing: \(problem)") }
        }
        // A failing subscription does not make the gateway unready: intake never depends on a subscription. It is
        // shown here so that an operator sees it.
        var json = "{\"ready\":\(reasons.isEmpty),\"reasons\":[\(reasons.map(EnvelopeWriter.jsonString).joined(separator: ","))]"
        json += ",\"subscriptions\":{\(subscriptionsJSON)}}"
        return EventsController.json(json, status: reasons.isEmpty ? .ok : .serviceUnavailable)
    }

    func metrics() -> Response {
        let stats = log.stats
        let now = Timestamp.nowMillis()
        gauges.logBytes.record(stats.bytes)
        gauges.logMaxBytes.record(stats.maxBytes)
        gauges.refusing.record(stats.isRefusingIntake ? 1 : 0)
        gauges.outstanding.record(Int(stats.outstandingRecords))
        gauges.waiting.record(registry.waitingCount)
        for dispatcher in dispatchers {
            let sink = dispatcher.sinkID
            guard let sinkGauges = gauges.sinks[sink] else { continue }
            sinkGauges.backlog.record(Int(stats.backlog(of: sink)))
            sinkGauges.oldestAge.record(stats.oldestUnreleasedMillis[sink].map { Double(max(0, now - $0)) / 1000 } ?? 0)
            sinkGauges.failing.record(dispatcher.problem == nil ? 0 : 1)
        }
        for subscription in subscriptions { subscription.refreshGauges() }
        var buffer: [UInt8] = []
        prometheus.emit(into: &buffer)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
        )
    }
}

/// Gauges refreshed on every scrape from the log and the dispatchers (per-sink gauges only for running sinks).
struct OperationsGauges: Sendable {
    struct SinkGauges: Sendable {
        let backlog: CoreMetrics.Gauge
        let oldestAge: CoreMetrics.Gauge
        let failing: CoreMetrics.Gauge
    }

    let logBytes: CoreMetrics.Gauge
    let logMaxBytes: CoreMetrics.Gauge
    let refusing: CoreMetrics.Gauge
    let outstanding: CoreMetrics.Gauge
    let waiting: CoreMetrics.Gauge
    let sinks: [SinkID: SinkGauges]

    init(factory: any MetricsFactory, sinks: [SinkID]) {
        logBytes = CoreMetrics.Gauge(label: "sluice_log_bytes", factory: factory)
        logMaxBytes = CoreMetrics.Gauge(label: "sluice_log_max_bytes", factory: factory)
        refusing = CoreMetrics.Gauge(label: "sluice_log_refusing_intake", factory: factory)
        outstanding = CoreMetrics.Gauge(label: "sluice_outstanding_records", factory: factory)
        waiting = CoreMetrics.Gauge(label: "sluice_confirmed_waiting_requests", factory: factory)
        var gauges: [SinkID: SinkGauges] = [:]
        for sink in sinks {
            let dimensions = [("sink", sink.description)]
            gauges[sink] = SinkGauges(
                backlog: CoreMetrics.Gauge(label: "sluice_sink_backlog_records", dimensions: dimensions, factory: factory),
                oldestAge: CoreMetrics.Gauge(label: "sluice_sink_oldest_unreleased_age_seconds", dimensions: dimensions, factory: factory),
                failing: CoreMetrics.Gauge(label: "sluice_sink_failing", dimensions: dimensions, factory: factory)
            )
        }
        self.sinks = gauges
    }
}
