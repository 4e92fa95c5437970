import Delivery
import GatewayCore
import GatewayLog
import MetricsTestKit
import Synchronization

/// One sink running under a dispatcher for one check: appends records and reads what happened.
final class Session: Sendable {
    let log: MemoryLog
    let registry: ConfirmationRegistry
    let dispatcher: SinkDispatcher
    let observed: ObservedSink
    let sut: SinkUnderTest
    let metrics: TestMetrics
    let logs: LogWatch.Entries
    let route: Route
    let sinkID: SinkID
    private let shutDown: @Sendable () async -> Void
    private let isShutDown = Mutex(false)

    init(
        log: MemoryLog, registry: ConfirmationRegistry, dispatcher: SinkDispatcher, observed: ObservedSink, sut: SinkUnderTest,
        metrics: TestMetrics, logs: LogWatch.Entries, route: Route, sinkID: SinkID, shutDown: @escaping @Sendable () async -> Void
    ) {
        self.log = log
        self.registry = registry
        self.dispatcher = dispatcher
        self.observed = observed
        self.sut = sut
        self.metrics = metrics
        self.logs = logs
        self.route = route
        self.sinkID = sinkID
        self.shutDown = shutDown
    }

    /// Appends `count` records routed to the sink, each with a confirmation token, as the HTTP edge does.
    func append(_ count: Int, tag: String) async throws -> [Appended] {
        let now = Timestamp.nowMillis()
        var records: [EventRecord] = []
        var pending: [(eventID: String, token: UInt64)] = []
        for index in 0..<count {
            let eventID = "\(tag)-\(index)-\(String(UInt64.random(in: .min ... .max), radix: 16))"
            let payload = Array("{\"check\":\"\(tag)\",\"n\":\(index)}".utf8)
            let envelope = payload.withUnsafeBytes { bytes in
                EnvelopeWriter.envelope(
                    eventID: eventID, team: "compliance", app: tag, partitionKey: eventID, receivedAtMillis: now, payload: bytes)
            }
            let token = registry.register()
            records.append(
                EventRecord(
                    eventID: eventID, team: "compliance", app: tag, partitionKey: eventID, receivedAtMillis: now, route: route,
                    waiterToken: token, envelope: envelope))
            pending.append((eventID, token))
        }
        let positions = try await log.append(records)
        return zip(positions, pending).map { Appended(sequence: $0.sequence, eventID: $1.eventID, token: $1.token) }
    }

    /// The sink's cursor: everything before it is released.
    var cursor: UInt64 { log.stats.cursors[sinkID] ?? 0 }

    /// `sluice_sink_released_records_total` for the sink.
    var releasedCounter: Int64 {
        metrics.counterTotal(label: "sluice_sink_released_records_total", dimensions: [("sink", sinkID.name)])
    }

    /// Signs that the sink tried the destination and failed: a problem on `/ready`, a lost batch, or a warning.
    var failureEvidence: [String] {
        var evidence: [String] = []
        if let problem = dispatcher.problem { evidence.append("problem: \(problem)") }
        let lost = observed.snapshot.lost
        if let first = lost.first { evidence.append("\(lost.count) lost batches (\(first))") }
        if let line = logs.all.first { evidence.append("log: \(line)") }
        return evidence
    }

    var hasFailureEvidence: Bool { !failureEvidence.isEmpty }

    /// What the sink and the dispatcher did so far, for failure messages.
    var summary: String {
        let snapshot = observed.snapshot
        return "cursor \(cursor) of \(log.nextSequence), \(snapshot.written.count) handed over in \(snapshot.writesStarted) writes"
            + " (\(snapshot.isWriting ? "one waiting" : "none waiting")), \(snapshot.accepted.count) accepted,"
            + " \(snapshot.released.count) released, \(snapshot.rejected.count) rejected, \(snapshot.lost.count) lost batches,"
            + " problem: \(dispatcher.problem ?? "none"), log: \(logs.all.suffix(3))"
    }

    /// Shuts the dispatcher down gracefully (it drains the log and flushes the sink) and waits until it stopped.
    func shutDownGracefully() async {
        let first = isShutDown.withLock { isShutDown in
            defer { isShutDown = true }
            return !isShutDown
        }
        if first { await shutDown() }
    }
}
