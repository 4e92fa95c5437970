import Delivery
import GatewayCore
import GatewayLog
import Logging
import MetricsTestKit
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization

/// The sink compliance suite: runs a sink, built by its ``SinkFixture``, under a real ``SinkDispatcher`` over a
/// ``MemoryLog`` and checks what every sink must do (``SinkComplianceCheck``). Every sink's tests run all checks;
/// every future sink must pass them.
///
/// Each check uses a fresh destination and a fresh sink, and returns a ``SinkComplianceResult`` that the test
/// asserts (this target does not link Swift Testing). The harness only observes: the dispatcher decides every
/// release, exactly as in the gateway; the sink is wrapped to record what it was given and what it reported.
public struct SinkCompliance<Fixture: SinkFixture>: Sendable {
    /// The sink's fixture.
    public let fixture: Fixture
    /// Records delivered per check (the backpressure check uses three times the capacity instead).
    public var recordCount: Int
    /// The capacity the backpressure check asks the sink for.
    public var capacity: Int
    /// How long any one wait of a check may take before it counts as a failure.
    public var timeout: Duration

    public init(fixture: Fixture, recordCount: Int = 40, capacity: Int = 20, timeout: Duration = .seconds(90)) {
        self.fixture = fixture
        self.recordCount = recordCount
        self.capacity = capacity
        self.timeout = timeout
    }

    /// Runs one check.
    public func run(_ check: SinkComplianceCheck) async -> SinkComplianceResult {
        if let reason = fixture.inapplicability(of: check) {
            return SinkComplianceResult(check: check, sink: fixture.sinkID, notApplicableReason: reason)
        }
        var report = ComplianceReport()
        do {
            switch check {
            case .acknowledgesOnSuccess: try await checkAcknowledgesOnSuccess(&report)
            case .neverReleasesOnFailure: try await checkNeverReleasesOnFailure(&report)
            case .classifiesRetries: checkClassifiesRetries(&report)
            case .emitsMetrics: try await checkEmitsMetrics(&report)
            case .flushesOnGracefulShutdown: try await checkFlushesOnGracefulShutdown(&report)
            case .respectsBackpressure: try await checkRespectsBackpressure(&report)
            default: report.fail("the harness does not know the check '\(check)'")
            }
        } catch {
            report.fail("the check could not run: \(error)")
        }
        return SinkComplianceResult(check: check, sink: fixture.sinkID, failures: report.failures, notes: report.notes)
    }

    /// Runs every check, in order.
    public func runAll() async -> [SinkComplianceResult] {
        var results: [SinkComplianceResult] = []
        for check in SinkComplianceCheck.all { results.append(await run(check)) }
        return results
    }

    // MARK: The checks

    /// (a) Every record is accepted with the sink's receipt (also through the confirmation registry), released
    /// exactly once, never before it was accepted, and read back from the destination by id.
    private func checkAcknowledgesOnSuccess(_ report: inout ComplianceReport) async throws {
        let count = recordCount
        let appended = try await withDestination(name: "ack", failing: false) { destination in
            let appended = try await withSession(destination, options: SinkFixtureOptions()) { session in
                let appended = try await session.append(count, tag: "ack")
                let released = await waitUntil(timeout) { session.cursor == UInt64(count) }
                report.expect(released, "not every record was released within \(timeout): \(session.summary)")
                expectAcknowledged(appended, session.observed.snapshot, &report)
                await expectConfirmed(appended, session.registry, &report)
                return appended
            }
            try await expectReadBack(appended, from: destination, &report)
            return appended
        }
        report.note("\(appended.count) records accepted with \(fixture.receiptKey) receipts, released once, read back by id")
    }

    /// (b) With a failing destination nothing is released and the cursor stays put; once it works, everything is.
    private func checkNeverReleasesOnFailure(_ report: inout ComplianceReport) async throws {
        let count = recordCount
        try await withDestination(name: "fail", failing: true) { destination in
            let appended = try await withSession(destination, options: SinkFixtureOptions()) { session in
                let appended = try await session.append(count, tag: "fail")
                let tried = await waitUntil(timeout) {
                    Set(session.observed.snapshot.written).count == count && session.hasFailureEvidence
                }
                report.expect(
                    tried, "no sign within \(timeout) that the sink tried the failing destination and failed: \(session.summary)")
                let snapshot = session.observed.snapshot
                report.expect(session.cursor == 0, "the cursor moved to \(session.cursor) while the destination failed")
                report.expect(snapshot.released.isEmpty, "\(snapshot.released.count) records were released while the destination failed")
                report.expect(
                    snapshot.rejected.isEmpty,
                    "\(snapshot.rejected.count) records were rejected for good (and so released) because the destination was down: "
                        + "\(snapshot.rejected.values.first.map(String.init(describing:)) ?? "")")
                report.expect(
                    session.releasedCounter == 0,
                    "sluice_sink_released_records_total is \(session.releasedCounter) while the destination failed")
                report.note("while failing: \(snapshot.written.count) hand-overs, cursor 0, evidence: \(session.failureEvidence)")

                try await fixture.heal(destination)
                let healed = await waitUntil(timeout) { session.cursor == UInt64(count) }
                report.expect(healed, "after healing the destination not everything was delivered within \(timeout): \(session.summary)")
                expectAcknowledged(appended, session.observed.snapshot, &report, allowRepeatedReceipts: true)
                return appended
            }
            try await expectReadBack(appended, from: destination, &report)
        }
        report.note("after healing all \(count) records were released and read back")
    }

    /// (c) Every sample error gets its expected kind (and `Retry-After`) from the sink's retry logic.
    private func checkClassifiesRetries(_ report: inout ComplianceReport) {
        let samples = fixture.retrySamples
        report.expect(!samples.isEmpty, "the fixture lists no retry samples")
        for sample in samples {
            let decision = sample.decide()
            report.expect(decision.kind == sample.expected, "\(sample.name): decided \(decision), expected \(sample.expected)")
            if let retryAfter = sample.expectedRetryAfter {
                report.expect(
                    decision.retryAfter == retryAfter,
                    "\(sample.name): retry after \(decision.retryAfter.map { "\($0)" } ?? "nothing"), expected \(retryAfter)")
            }
        }
        let kinds = Set(samples.map(\.expected))
        report.expect(kinds.contains(.retriable), "no sample of a retriable failure: every sink has transient failures")
        report.expect(kinds.contains(.permanent), "no sample of a permanent failure: every sink has records retrying cannot help")
        report.note("\(samples.count) samples: " + samples.map(\.description).joined(separator: ", "))
    }

    /// (d) The dispatcher's `sluice_sink_*` metrics and the sink's own ones have values after a delivery.
    private func checkEmitsMetrics(_ report: inout ComplianceReport) async throws {
        let count = recordCount
        let sinkName = fixture.sinkID.name
        let labels = fixture.requiredMetricLabels
        try await withDestination(name: "metrics", failing: false) { destination in
            try await withSession(destination, options: SinkFixtureOptions()) { session in
                _ = try await session.append(count, tag: "metrics")
                let released = await waitUntil(timeout) { session.cursor == UInt64(count) }
                report.expect(released, "not every record was released within \(timeout): \(session.summary)")
                let metrics = session.metrics
                let dimensions = [("sink", sinkName)]
                report.expect(
                    metrics.counterTotal(label: "sluice_sink_released_records_total", dimensions: dimensions) == Int64(count),
                    "sluice_sink_released_records_total{sink=\"\(sinkName)\"} is "
                        + "\(metrics.counterTotal(label: "sluice_sink_released_records_total", dimensions: dimensions)), expected \(count)")
                for label in ["sluice_sink_failures_total", "sluice_sink_rejected_records_total"] {
                    report.expect(
                        !metrics.counters(label: label, dimensions: dimensions).isEmpty,
                        "\(label){sink=\"\(sinkName)\"} is not registered")
                }
                report.expect(!labels.isEmpty, "the fixture names none of the sink's own metrics")
                for label in labels {
                    report.expect(Self.hasValue(label, in: metrics), "the sink emitted no value for \(label)")
                }
            }
        }
        report.note("sluice_sink_released_records_total = \(count); sink metrics: \(labels.joined(separator: ", "))")
    }

    /// (e) Records the sink buffers (configured to hold them until a flush) are all released by the dispatcher's
    /// graceful shutdown, and read back.
    private func checkFlushesOnGracefulShutdown(_ report: inout ComplianceReport) async throws {
        let count = recordCount
        try await withDestination(name: "shutdown", failing: false) { destination in
            let appended = try await withSession(destination, options: SinkFixtureOptions(buffersUntilFlush: true)) { session in
                let appended = try await session.append(count, tag: "shutdown")
                let handed = await waitUntil(timeout) {
                    let snapshot = session.observed.snapshot
                    return Set(snapshot.written).count == count && !snapshot.isWriting
                }
                report.expect(handed, "the dispatcher did not hand every record to the sink within \(timeout): \(session.summary)")
                let before = session.observed.snapshot.released.count
                report.expect(
                    before == 0,
                    "\(before) records were released before the shutdown although the sink was asked to buffer them: "
                        + "the check would prove nothing")
                await session.shutDownGracefully()
                let snapshot = session.observed.snapshot
                report.expect(snapshot.flushes > 0, "the graceful shutdown never flushed the sink")
                report.expect(
                    session.cursor == UInt64(count),
                    "after the graceful shutdown the cursor is at \(session.cursor) of \(count): buffered records were not flushed; "
                        + session.summary)
                expectAcknowledged(appended, snapshot, &report)
                return appended
            }
            try await expectReadBack(appended, from: destination, &report)
        }
        report.note("\(count) buffered records (none released before) were all released by the graceful shutdown")
    }

    /// (f) A sink at capacity holds the dispatcher in `write` (it stops reading ahead), reports `isSaturated`, and
    /// loses nothing once the destination drains.
    private func checkRespectsBackpressure(_ report: inout ComplianceReport) async throws {
        let capacity = self.capacity
        try await withDestination(name: "backpressure", failing: true) { destination in
            let appended = try await withSession(destination, options: SinkFixtureOptions(capacity: capacity)) { session in
                guard let isSaturated = session.sut.isSaturated else {
                    report.fail("the fixture exposes no isSaturated for a sink with a capacity")
                    return [Appended]()
                }
                // First the capacity: the sink takes it and is then full.
                var appended = try await session.append(capacity, tag: "pressure-1")
                let full = await waitUntil(timeout) {
                    let snapshot = session.observed.snapshot
                    return snapshot.written.count == capacity && !snapshot.isWriting && isSaturated()
                }
                report.expect(full, "holding its capacity of \(capacity), the sink did not report isSaturated: \(session.summary)")
                // The next batch: the dispatcher's write must wait in the sink.
                appended += try await session.append(capacity, tag: "pressure-2")
                let held = await waitUntil(timeout) {
                    let snapshot = session.observed.snapshot
                    return snapshot.written.count == 2 * capacity && snapshot.isWriting
                }
                report.expect(held, "past its capacity the sink's write returned instead of holding the dispatcher back: \(session.summary)")
                // A third batch: the dispatcher, held in `write`, cannot read it.
                appended += try await session.append(capacity, tag: "pressure-3")
                let snapshot = session.observed.snapshot
                report.expect(
                    snapshot.written.count == 2 * capacity,
                    "the dispatcher read ahead while the sink was full: \(snapshot.written.count) records handed over")
                report.expect(isSaturated(), "isSaturated turned false while the sink was still full")
                report.expect(session.cursor == 0, "the cursor moved to \(session.cursor) while the destination failed")

                try await fixture.heal(destination)
                let drained = await waitUntil(timeout) { session.cursor == UInt64(3 * capacity) }
                report.expect(drained, "after the destination drained not every record was delivered within \(timeout): \(session.summary)")
                let saturatedAfter = isSaturated()
                report.expect(!saturatedAfter, "isSaturated stayed true after everything was delivered")
                expectAcknowledged(appended, session.observed.snapshot, &report, allowRepeatedReceipts: true)
                return appended
            }
            if !appended.isEmpty { try await expectReadBack(appended, from: destination, &report) }
        }
        report.note(
            "capacity \(capacity): the dispatcher waited in write with \(2 * capacity) handed over and 0 released; "
                + "all \(3 * capacity) delivered after the destination drained")
    }

    // MARK: Expectations

    private func expectAcknowledged(
        _ appended: [Appended], _ snapshot: ObservedSink.Snapshot, _ report: inout ComplianceReport,
        allowRepeatedReceipts: Bool = false
    ) {
        var missing: [UInt64] = []
        var wrongKey: [String] = []
        var repeated: [UInt64] = []
        var unreleased: [UInt64] = []
        var releasedTwice: [UInt64] = []
        for record in appended {
            let receipts = snapshot.accepted[record.sequence] ?? []
            if receipts.isEmpty { missing.append(record.sequence) }
            if receipts.count > 1, !allowRepeatedReceipts { repeated.append(record.sequence) }
            for receipt in receipts where receipt.key != fixture.receiptKey { wrongKey.append(receipt.description) }
            switch snapshot.released[record.sequence] ?? 0 {
            case 0: unreleased.append(record.sequence)
            case 1: break
            default: releasedTwice.append(record.sequence)
            }
        }
        report.expect(missing.isEmpty, "\(missing.count) records were never accepted with a receipt: \(missing.prefix(10))")
        report.expect(wrongKey.isEmpty, "receipts without the \(fixture.receiptKey) key: \(wrongKey.prefix(5))")
        report.expect(repeated.isEmpty, "records accepted more than once: \(repeated.prefix(10))")
        report.expect(unreleased.isEmpty, "\(unreleased.count) records were never released: \(unreleased.prefix(10))")
        report.expect(releasedTwice.isEmpty, "records released more than once: \(releasedTwice.prefix(10))")
        report.expect(
            snapshot.releasedBeforeAccepted.isEmpty,
            "records released before they were accepted: \(snapshot.releasedBeforeAccepted.prefix(10))")
        report.expect(
            snapshot.rejected.isEmpty, "\(snapshot.rejected.count) records were rejected: \(snapshot.rejected.values.first.map { "\($0)" } ?? "")")
    }

    /// Confirmed requests (the registry the HTTP edge waits on) got the sink's receipt.
    private func expectConfirmed(_ appended: [Appended], _ registry: ConfirmationRegistry, _ report: inout ComplianceReport) async {
        var unconfirmed = 0
        var wrong: [String] = []
        for record in appended {
            switch await registry.wait(for: record.token, timeout: .seconds(5)) {
            case .accepted(let receipt, let attempts):
                if receipt.key != fixture.receiptKey || attempts < 1 { wrong.append("\(receipt) after \(attempts) attempts") }
            case .rejected(let failure):
                wrong.append("rejected: \(failure)")
            case nil:
                unconfirmed += 1
            }
        }
        report.expect(unconfirmed == 0, "\(unconfirmed) confirmed requests got no receipt")
        report.expect(wrong.isEmpty, "confirmed requests got the wrong answer: \(wrong.prefix(5))")
    }

    /// The destination holds every appended event, by id: once, unless the fixture allows duplicates.
    private func expectReadBack(_ appended: [Appended], from destination: Fixture.Destination, _ report: inout ComplianceReport) async throws {
        let found = try await fixture.readBack(destination, expected: appended.count)
        var counts: [String: Int] = [:]
        for id in found { counts[id, default: 0] += 1 }
        let expected = Set(appended.map(\.eventID))
        let missing = expected.subtracting(counts.keys)
        let foreign = Set(counts.keys).subtracting(expected)
        let duplicated = counts.filter { $0.value > 1 }.map(\.key)
        report.expect(missing.isEmpty, "\(missing.count) of \(expected.count) events are not at the destination: \(missing.sorted().prefix(5))")
        report.expect(foreign.isEmpty, "the destination holds events nobody sent: \(foreign.sorted().prefix(5))")
        if !fixture.mayStoreDuplicates {
            report.expect(duplicated.isEmpty, "events stored more than once: \(duplicated.sorted().prefix(5))")
        } else if !duplicated.isEmpty {
            report.note("\(duplicated.count) events stored more than once (the sink delivers at least once)")
        }
    }

    private static func hasValue(_ label: String, in metrics: TestMetrics) -> Bool {
        metrics.counters(label: label).contains { $0.totalValue > 0 }
            || metrics.recorders(label: label).contains { !$0.values.isEmpty }
            || metrics.timers(label: label).contains { !$0.values.isEmpty }
            || metrics.meters(label: label).contains { !$0.values.isEmpty }
    }

    // MARK: Running a sink

    /// Makes a destination, runs `body`, and always tears the destination down.
    private func withDestination<T>(
        name: String, failing: Bool, _ body: (Fixture.Destination) async throws -> T
    ) async throws -> T {
        let unique = "compliance-\(name)-\(String(UInt32.random(in: .min ... .max), radix: 16))"
        let destination = failing ? try await fixture.makeFailingDestination(name: unique) : try await fixture.makeDestination(name: unique)
        do {
            let result = try await body(destination)
            await fixture.tearDown(destination)
            return result
        } catch {
            await fixture.tearDown(destination)
            throw error
        }
    }

    /// Builds the sink, its dispatcher over a fresh memory log, and runs both while `body` runs: the sink's services
    /// in a service scope of their own, the dispatcher in another, shut down first (as the application orders it).
    private func withSession<T: Sendable>(
        _ destination: Fixture.Destination, options: SinkFixtureOptions, _ body: (Session) async throws -> T
    ) async throws -> T {
        let metrics = TestMetrics()
        let entries = LogWatch.Entries()
        var logger = Logger(label: "sluice.compliance") { _ in LogWatch(entries: entries) }
        logger.logLevel = .warning
        let sut = try await fixture.makeSink(for: destination, options: options, metrics: metrics, logger: logger)
        let observed = ObservedSink(sut.sink)
        let log = MemoryLog(sinks: [fixture.sinkID], maxBytes: 256 << 20)
        let registry = ConfirmationRegistry()
        let dispatcher = SinkDispatcher(
            sink: observed, log: log, registry: registry, deadLetters: nil,
            backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(500)), tickInterval: .milliseconds(20),
            logger: logger, metricsFactory: metrics
        )
        let route = fixture.route(to: destination)
        let timeout = self.timeout
        let result: Result<T, any Error> = await testGracefulShutdown { stopServices in
            await withTaskGroup(of: Void.self) { services in
                let servicesRunning = LockedValue(sut.services.count)
                for service in sut.services {
                    services.addTask {
                        do {
                            try await service.run()
                        } catch {
                            entries.append("error: a service of the sink failed: \(error)")
                        }
                        servicesRunning.withLock { $0 -= 1 }
                    }
                }
                let result: Result<T, any Error> = await testGracefulShutdown { stopDispatcher in
                    await withTaskGroup(of: Void.self) { group in
                        let isStopped = LockedValue(false)
                        group.addTask {
                            do {
                                try await dispatcher.run()
                            } catch {
                                entries.append("error: the dispatcher failed: \(error)")
                            }
                            isStopped.withLock { $0 = true }
                        }
                        let session = Session(
                            log: log, registry: registry, dispatcher: dispatcher, observed: observed, sut: sut, metrics: metrics,
                            logs: entries, route: route, sinkID: fixture.sinkID,
                            shutDown: {
                                stopDispatcher.triggerGracefulShutdown()
                                if await !waitUntil(timeout, { isStopped.withLock { $0 } }) {
                                    entries.append("error: the dispatcher did not stop within \(timeout) of a graceful shutdown")
                                }
                            }
                        )
                        let result: Result<T, any Error>
                        do {
                            result = .success(try await body(session))
                        } catch {
                            result = .failure(error)
                        }
                        await session.shutDownGracefully()
                        // A dispatcher held in a sink that never returns: cancel rather than hang the suite.
                        group.cancelAll()
                        return result
                    }
                }
                stopServices.triggerGracefulShutdown()
                if await !waitUntil(timeout, { servicesRunning.withLock { $0 } == 0 }) {
                    entries.append("error: the sink's services did not stop within \(timeout) of a graceful shutdown")
                }
                services.cancelAll()
                return result
            }
        }
        await sut.close()
        return try result.get()
    }
}

/// A record the harness appended: its sequence, event id and confirmation token.
struct Appended: Sendable {
    var sequence: UInt64
    var eventID: String
    var token: UInt64
}

/// What a check is finding.
struct ComplianceReport {
    var failures: [String] = []
    var notes: [String] = []

    mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append(message()) }
    }

    mutating func fail(_ message: String) { failures.append(message) }

    mutating func note(_ message: String) { notes.append(message) }
}

/// Waits until `condition` holds, checking it every 10 ms; false when `timeout` passed first. The conditions are
/// states of other tasks and processes (a cursor, a peer's answer) that have no event to await.
func waitUntil(_ timeout: Duration, _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        if clock.now >= deadline { return false }
        try? await clock.sleep(for: .milliseconds(10))
    }
    return true
}
