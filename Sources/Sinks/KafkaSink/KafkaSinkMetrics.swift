internal import CoreMetrics
internal import Foundation
internal import Synchronization

/// The Kafka sink's metrics (swift-metrics), created per topic / error code / broker on first use.
final class KafkaSinkMetrics: Sendable {
    private struct TopicMetrics {
        let messages: Counter
        let bytes: Counter
        let delivery: CoreMetrics.Timer
    }

    private struct State {
        var topics: [String: TopicMetrics] = [:]
        var errors: [ErrorKey: Counter] = [:]
        var brokerRTT: [String: Gauge] = [:]
    }

    private struct ErrorKey: Hashable {
        var topic: String
        var code: String
    }

    private let factory: any MetricsFactory
    private let state = Mutex(State())
    private let inFlight: Gauge
    private let queueMessages: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        inFlight = Gauge(label: "sluice_kafka_in_flight_messages", dimensions: [], factory: factory)
        queueMessages = Gauge(label: "sluice_kafka_queue_messages", dimensions: [], factory: factory)
    }

    private func topic(_ name: String) -> TopicMetrics {
        state.withLock { state in
            if let metrics = state.topics[name] { return metrics }
            let dimensions = [("topic", name)]
            let metrics = TopicMetrics(
                messages: Counter(label: "sluice_kafka_produced_messages_total", dimensions: dimensions, factory: factory),
                bytes: Counter(label: "sluice_kafka_produced_bytes_total", dimensions: dimensions, factory: factory),
                delivery: CoreMetrics.Timer(
                    label: "sluice_kafka_delivery_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            )
            state.topics[name] = metrics
            return metrics
        }
    }

    /// A message was acknowledged: `bytes` value bytes, `latency` from its produce call.
    func delivered(topic name: String, bytes: Int, latency: Duration) {
        let metrics = topic(name)
        metrics.messages.increment()
        metrics.bytes.increment(by: bytes)
        metrics.delivery.recordNanoseconds(Self.nanoseconds(latency))
    }

    /// A produce call or a delivery failed with `code` (librdkafka's error name).
    func error(topic: String, code: String) {
        let key = ErrorKey(topic: topic, code: code)
        let counter = state.withLock { state in
            if let counter = state.errors[key] { return counter }
            let counter = Counter(
                label: "sluice_kafka_errors_total", dimensions: [("topic", topic), ("error_code", code)], factory: factory)
            state.errors[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Records currently held by the sink (produced and not yet reported, or waiting to be retried).
    func inFlight(_ count: Int) {
        inFlight.record(count)
    }

    /// Updates the broker and queue gauges from one librdkafka statistics JSON document
    /// (`msg_cnt`; `brokers.*.rtt.avg` in microseconds, for brokers with a node id).
    /// Records the gauges; returns whether any broker's connection is up (nil when the JSON is unreadable).
    @discardableResult
    func statistics(_ json: String) -> Bool? {
        guard let statistics = try? JSONDecoder().decode(Statistics.self, from: Data(json.utf8)) else { return nil }
        if let count = statistics.msg_cnt { queueMessages.record(count) }
        for (key, broker) in statistics.brokers ?? [:] {
            guard let average = broker.rtt?.avg, (broker.nodeid ?? -1) >= 0 else { continue }
            let name = broker.name ?? key
            let gauge = state.withLock { state in
                if let gauge = state.brokerRTT[name] { return gauge }
                let gauge = Gauge(label: "sluice_kafka_broker_rtt_seconds", dimensions: [("broker", name)], factory: factory)
                state.brokerRTT[name] = gauge
                return gauge
            }
            gauge.record(Double(average) / 1_000_000)
        }
        return (statistics.brokers ?? [:]).values.contains { ($0.nodeid ?? -1) >= 0 && $0.state == "UP" }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : Int64.max }
        return max(0, product &+ attoseconds / 1_000_000_000)
    }

    /// The parts of librdkafka's statistics JSON the sink reads.
    private struct Statistics: Decodable {
        struct Window: Decodable {
            var avg: Int64?
        }

        struct Broker: Decodable {
            var name: String?
            var nodeid: Int?
            var state: String?
            var rtt: Window?
        }

        var msg_cnt: Int?
        var brokers: [String: Broker]?
    }
}
