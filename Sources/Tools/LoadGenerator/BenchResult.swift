import Foundation
import GatewayCore

/// The outcome of a `sluice bench` run: what was measured, and how to print it.
public struct BenchResult: Sendable {
    /// The run's configuration.
    public var configuration: BenchConfiguration
    /// How many connections opened at the start.
    public var connectionsOpened: Int
    /// Why some connections did not open, when some did not.
    public var firstConnectError: String?
    /// Everything measured (all loops merged).
    public var recorder: LoopRecorder
    /// The measured window in seconds: the duration, or longer when responses arrived after the end.
    public var measuredSeconds: Double
    /// Renders event ids.
    public var factory: EventFactory

    public init(
        configuration: BenchConfiguration, connectionsOpened: Int, firstConnectError: String?, recorder: LoopRecorder,
        measuredSeconds: Double, factory: EventFactory
    ) {
        self.configuration = configuration
        self.connectionsOpened = connectionsOpened
        self.firstConnectError = firstConnectError
        self.recorder = recorder
        self.measuredSeconds = measuredSeconds
        self.factory = factory
    }

    /// Recorded requests per second.
    public var requestsPerSecond: Double { measuredSeconds > 0 ? Double(recorder.requests) / measuredSeconds : 0 }
    /// Events (in recorded requests) per second.
    public var eventsPerSecond: Double { measuredSeconds > 0 ? Double(recorder.events) / measuredSeconds : 0 }
    /// Acknowledged events per second.
    public var acknowledgedEventsPerSecond: Double {
        measuredSeconds > 0 ? Double(recorder.eventsAcknowledged) / measuredSeconds : 0
    }

    /// The ids of every acknowledged event (warm-up included), sorted by event number, one per line.
    public func acknowledgedIDsText() -> String {
        var out = ""
        let numbers = recorder.acknowledgedEvents.sorted()
        out.reserveCapacity(numbers.count * (configuration.idPrefix.utf8.count + 14))
        for number in numbers {
            out += factory.eventID(number)
            out += "\n"
        }
        return out
    }

    /// The report as an aligned text table.
    public func table() -> String {
        var rows: [(String, String)] = []
        let r = recorder
        rows.append(("target", configuration.summary))
        let shape = configuration.shape
        var events = "\(shape.payloadSize)-byte payload, \(shape.streams.map(\.description).joined(separator: ","))"
        events += ", \(shape.partitionKeys) partition key\(shape.partitionKeys == 1 ? "" : "s")"
        if shape.largeFraction > 0 {
            events += ", \(Formatting.decimal(shape.largeFraction * 100, digits: 2))% large (\(shape.largePayloadSize) bytes)"
        }
        rows.append(("events", events))
        rows.append(("id prefix", configuration.idPrefix))
        if connectionsOpened < configuration.connections {
            rows.append(("connections", "\(connectionsOpened) of \(configuration.connections) opened (\(firstConnectError ?? "unknown error"))"))
        }
        rows.append(("measured", "\(Formatting.fixed(measuredSeconds, digits: 2)) s (warm-up: \(r.warmupRequests) requests not recorded)"))
        rows.append(("requests", "\(r.requests)  (\(Formatting.fixed(requestsPerSecond, digits: 1))/s)"))
        rows.append(
            (
                "events",
                "\(r.events) sent (\(Formatting.fixed(eventsPerSecond, digits: 1))/s), \(r.eventsAcknowledged) acknowledged (\(Formatting.fixed(acknowledgedEventsPerSecond, digits: 1))/s)"
            ))
        rows.append(
            (
                "bytes sent",
                "\(Formatting.bytes(Double(r.bytesSent))) of request bodies (\(Formatting.bytes(Double(r.bytesSent) / max(measuredSeconds, 1e-9)))/s)"
            ))
        let statuses = r.statusCounts.keys.sorted().map { "\($0): \(r.statusCounts[$0] ?? 0)" }.joined(separator: ", ")
        rows.append(("status codes", statuses.isEmpty ? "none" : statuses))
        var errors =
            "\(r.errorResponses) error response\(r.errorResponses == 1 ? "" : "s"), \(r.connectionErrors) connection error\(r.connectionErrors == 1 ? "" : "s")"
        if r.connectFailures > 0 { errors += ", \(r.connectFailures) failed reconnect\(r.connectFailures == 1 ? "" : "s")" }
        if r.unfinished > 0 { errors += ", \(r.unfinished) unanswered after \(DurationParser.format(configuration.drainTimeout))" }
        if r.unsent > 0 { errors += ", \(r.unsent) never sent" }
        rows.append(("errors", errors))
        let latency = r.latency.summary()
        rows.append(("latency (ms)", Self.percentiles(latency)))
        if r.serverLatency.count > 0 { rows.append(("server (ms)", Self.percentiles(r.serverLatency.summary()) + "  (X-Processing-Latency)")) }
        if case .openLoop = configuration.mode {
            let lag = r.sendLag.summary()
            var text =
                "p50 \(Formatting.milliseconds(micros: lag.p50)), p99 \(Formatting.milliseconds(micros: lag.p99)), max \(Formatting.milliseconds(micros: lag.max)) ms behind the intended send time"
            if r.waitedForConnection > 0 { text += "; \(r.waitedForConnection) requests waited for a free connection" }
            rows.append(("send lag", text))
        }
        let width = rows.map(\.0.count).max() ?? 0
        var out = ""
        for (label, value) in rows {
            out += label + String(repeating: " ", count: width - label.count + 2) + value + "\n"
        }
        for sample in r.errorSamples { out += "  first errors: \(sample)\n" }
        for warning in warnings() { out += "warning: \(warning)\n" }
        return out
    }

    static func percentiles(_ summary: LatencySummary) -> String {
        guard summary.count > 0 else { return "no samples" }
        let ms = Formatting.milliseconds(micros:)
        return
            "p50 \(ms(summary.p50))  p90 \(ms(summary.p90))  p99 \(ms(summary.p99))  p99.9 \(ms(summary.p999))  max \(ms(summary.max))  mean \(Formatting.fixed(summary.mean / 1000, digits: 3))"
    }

    /// Things the reader should know about the numbers.
    public func warnings() -> [String] {
        var out: [String] = []
        let r = recorder
        if case .openLoop(let rate) = configuration.mode {
            let lag = r.sendLag.summary()
            if lag.p99 > 10_000 {
                out.append(
                    "requests were sent late (send lag p99 \(Formatting.milliseconds(micros: lag.p99)) ms, max \(Formatting.milliseconds(micros: lag.max)) ms); latencies include that wait. "
                        + (r.waitedForConnection > 0
                            ? "\(r.waitedForConnection) requests waited because all \(configuration.connections) connections were busy: the gateway answered slower than the rate (more --connections helps only if it has spare capacity)"
                            : "the client itself fell behind: add --threads or lower --rate")
                )
            }
            if r.unsent > 0 {
                let down = r.connectionErrors + r.connectFailures > 0 ? " (connections were lost and reconnects failed)" : ""
                out.append("\(r.unsent) requests intended before the end were never sent: no connection was free before the drain timeout\(down)")
            }
            if eventsPerSecond < rate * 0.95, r.requests > 0 {
                out.append(
                    "achieved \(Formatting.fixed(eventsPerSecond, digits: 1)) events/s, below the target \(Formatting.decimal(rate, digits: 3))/s")
            }
        }
        if r.latency.clampedCount > 0 {
            out.append("\(r.latency.clampedCount) latencies exceeded one hour and were recorded as one hour")
        }
        if r.requests == 0 { out.append("no request completed in the measured window") }
        return out
    }

    /// The report as JSON (keys in snake_case, latencies in microseconds).
    public func json() throws(BenchError) -> String {
        let r = recorder
        var modeText = "closed"
        var targetRate: Double?
        if case .openLoop(let rate) = configuration.mode {
            modeText = "open"
            targetRate = rate
        }
        let report = JSONReport(
            url: configuration.target.description,
            endpoint: configuration.endpoint.rawValue,
            mode: modeText,
            targetEventsPerSecond: targetRate,
            connections: configuration.connections,
            connectionsOpened: connectionsOpened,
            durationSeconds: Double(configuration.duration.nanoseconds) / 1e9,
            warmupSeconds: Double(configuration.warmup.nanoseconds) / 1e9,
            measuredSeconds: measuredSeconds,
            idPrefix: configuration.idPrefix,
            payloadBytes: configuration.shape.payloadSize,
            batchSize: configuration.endpoint == .batch ? configuration.batchSize : nil,
            requests: r.requests,
            events: r.events,
            eventsAcknowledged: r.eventsAcknowledged,
            requestsPerSecond: requestsPerSecond,
            eventsPerSecond: eventsPerSecond,
            acknowledgedEventsPerSecond: acknowledgedEventsPerSecond,
            bytesSent: r.bytesSent,
            statusCounts: Dictionary(uniqueKeysWithValues: r.statusCounts.map { ("\($0.key)", $0.value) }),
            errorResponses: r.errorResponses,
            connectionErrors: r.connectionErrors,
            reconnectFailures: r.connectFailures,
            unfinished: r.unfinished,
            unsent: r.unsent,
            warmupRequests: r.warmupRequests,
            latencyUs: r.latency.summary(),
            serverLatencyUs: r.serverLatency.count > 0 ? r.serverLatency.summary() : nil,
            sendLagUs: targetRate != nil ? r.sendLag.summary() : nil,
            waitedForConnection: targetRate != nil ? r.waitedForConnection : nil,
            perSecond: r.perSecond,
            spectrum: r.latency.spectrum(step: 0.1),
            errorSamples: r.errorSamples,
            warnings: warnings()
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } catch {
            throw BenchError(.output, "cannot encode the JSON report: \(error)")
        }
    }
}

/// The `--json` document.
struct JSONReport: Encodable {
    var url: String
    var endpoint: String
    var mode: String
    var targetEventsPerSecond: Double?
    var connections: Int
    var connectionsOpened: Int
    var durationSeconds: Double
    var warmupSeconds: Double
    var measuredSeconds: Double
    var idPrefix: String
    var payloadBytes: Int
    var batchSize: Int?
    var requests: Int
    var events: Int
    var eventsAcknowledged: Int
    var requestsPerSecond: Double
    var eventsPerSecond: Double
    var acknowledgedEventsPerSecond: Double
    var bytesSent: Int
    var statusCounts: [String: Int]
    var errorResponses: Int
    var connectionErrors: Int
    var reconnectFailures: Int
    var unfinished: Int
    var unsent: Int
    var warmupRequests: Int
    var latencyUs: LatencySummary
    var serverLatencyUs: LatencySummary?
    var sendLagUs: LatencySummary?
    var waitedForConnection: Int?
    var perSecond: [SecondCounts]
    var spectrum: [SpectrumPoint]
    var errorSamples: [String]
    var warnings: [String]
}
