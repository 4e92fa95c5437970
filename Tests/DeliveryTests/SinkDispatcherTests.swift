import Delivery
import GatewayCore
import GatewayLog
import GatewayTesting
import Logging
import Synchronization
import Testing

@Suite("Sink dispatcher", .timeLimit(.minutes(3)))
struct SinkDispatcherTests {
    let logger = Logger(label: "test")

    /// Runs the dispatcher while `body` runs, then cancels it.
    func withDispatcher(
        sink: TestSink, log: MemoryLog, registry: ConfirmationRegistry = ConfirmationRegistry(),
        deadLetters: TestDeadLetters? = nil, _ body: (SinkDispatcher) async throws -> Void
    ) async throws {
        let dispatcher = SinkDispatcher(
            sink: sink, log: log, registry: registry, deadLetters: deadLetters,
            backoff: Backoff(initial: .milliseconds(2), maximum: .milliseconds(10)), tickInterval: .milliseconds(5), logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await dispatcher.run() }
            try await body(dispatcher)
            group.cancelAll()
        }
    }

    /// Consumes sink events until `predicate` holds.
    func waitFor(_ sink: TestSink, _ predicate: (TestSink.Event) -> Bool) async {
        for await event in sink.events where predicate(event) { return }
    }

    @Test("every record is written once and the cursor passes them all")
    func deliversAndCommits() async throws {
        let sink = TestSink()
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        try await withDispatcher(sink: sink, log: log) { _ in
            _ = try await log.append((0..<10).map { makeEvent("e\($0)") })
            var seen = 0
            await waitFor(sink) { event in
                if case .wrote(let sequences) = event { seen += sequences.count }
                return seen == 10
            }
            #expect(sink.written == Array(0..<10))
            #expect(log.stats.cursors[.archive] == 10)
            #expect(log.stats.bytes == 0)
        }
    }

    @Test("records routed elsewhere are passed over and still released")
    func passesOverOtherRoutes() async throws {
        let sink = TestSink()
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        try await withDispatcher(sink: sink, log: log) { _ in
            _ = try await log.append([
                makeEvent("a"), makeEvent("b", route: .kinesis(stream: "s"), archived: false), makeEvent("c"),
            ])
            await waitFor(sink) { event in
                if case .wrote(let sequences) = event { return sequences.contains(2) }
                return false
            }
            #expect(sink.written == [0, 2])
            #expect(log.stats.cursors[.archive] == 3)
        }
    }

    @Test("a sink that loses its unreleased records gets them again, without the released ones, and heals")
    func redeliversLostRecords() async throws {
        let sink = TestSink(releaseImmediately: false)
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        try await withDispatcher(sink: sink, log: log) { dispatcher in
            _ = try await log.append((0..<5).map { makeEvent("e\($0)") })
            await waitFor(sink) { if case .wrote(let s) = $0 { return s.contains(4) } else { return false } }
            sink.release([0, 1])
            sink.loseHeld()
            // The dispatcher backs off, redelivers 2...4 only, and probes with a flush that succeeds.
            await waitFor(sink) { if case .flushed = $0 { return true } else { return false } }
            #expect(sink.written == [0, 1, 2, 3, 4, 2, 3, 4])
            #expect(log.stats.cursors[.archive] == 5)
            #expect(dispatcher.problem == nil)
        }
    }

    @Test("out-of-order releases advance the cursor only over a contiguous prefix")
    func watermark() async throws {
        let sink = TestSink(releaseImmediately: false)
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        try await withDispatcher(sink: sink, log: log) { _ in
            _ = try await log.append((0..<4).map { makeEvent("e\($0)") })
            await waitFor(sink) { if case .wrote(let s) = $0 { return s.contains(3) } else { return false } }
            sink.release([2, 3])
            #expect(log.stats.cursors[.archive] == 0)
            sink.release([0])
            #expect(log.stats.cursors[.archive] == 1)
            sink.release([1])
            #expect(log.stats.cursors[.archive] == 4)
        }
    }

    @Test("rejected records go to the dead letters, are released, and their waiter learns it")
    func rejection() async throws {
        let sink = TestSink()
        sink.state.withLock { $0.rejectEventIDs = ["bad"] }
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let registry = ConfirmationRegistry()
        let deadLetters = TestDeadLetters()
        try await withDispatcher(sink: sink, log: log, registry: registry, deadLetters: deadLetters) { _ in
            let token = registry.register()
            _ = try await log.append([makeEvent("good"), makeEvent("bad", token: token), makeEvent("after")])
            let confirmation = await registry.wait(for: token, timeout: .seconds(10))
            guard case .rejected(let failure) = confirmation else {
                Issue.record("expected a rejection, got \(String(describing: confirmation))")
                return
            }
            #expect(failure.code == "rejected")
            // Wait for the next batch so the dispatcher's loop has stored the dead letter.
            _ = try await log.append([makeEvent("later")])
            await waitFor(sink) { if case .wrote(let s) = $0 { return s.contains(3) } else { return false } }
            #expect(deadLetters.stored.withLock { $0.map(\.0) } == ["bad"])
            #expect(log.stats.cursors[.archive] == 4)
        }
    }

    @Test("the tick timer runs on the injected clock: one tick per interval, none before it elapses")
    func tickCadenceOnManualClock() async throws {
        let clock = ManualClock()
        let sink = TestSink()
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let dispatcher = SinkDispatcher(
            sink: sink, log: log, registry: ConfirmationRegistry(), deadLetters: nil, tickInterval: .seconds(1), clock: clock,
            logger: logger
        )
        var events = sink.events.makeAsyncIterator()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await dispatcher.run() }
            for tick in 1...3 {
                // The idle dispatcher waits for records until the next tick, on the manual clock.
                await clock.waitForSleepers(1)
                #expect(clock.deadlines == [ManualClock.Instant(offset: .seconds(tick))])
                clock.advance(by: .milliseconds(999))
                #expect(sink.ticks == tick - 1)
                clock.advance(by: .milliseconds(1))
                while let event = await events.next() {
                    if case .ticked = event { break }
                }
                #expect(sink.ticks == tick)
            }
            group.cancelAll()
        }
    }

    @Test("after a loss the dispatcher waits its backoff on the injected clock before redelivering")
    func backoffOnManualClock() async throws {
        let clock = ManualClock()
        let sink = TestSink(releaseImmediately: false)
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let dispatcher = SinkDispatcher(
            sink: sink, log: log, registry: ConfirmationRegistry(), deadLetters: nil,
            backoff: Backoff(initial: .seconds(30), maximum: .seconds(30)), tickInterval: .seconds(1), clock: clock, logger: logger
        )
        var events = sink.events.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await dispatcher.run() }
            _ = try await log.append((0..<3).map { makeEvent("e\($0)") })
            while let event = await events.next() {
                if case .wrote(let sequences) = event, sequences.contains(2) { break }
            }
            // Idle, waiting for records until the first tick; the loss is seen once that wait ends.
            await clock.waitForSleepers(1)
            #expect(clock.deadlines == [ManualClock.Instant(offset: .seconds(1))])
            sink.loseHeld()
            clock.advance(by: .seconds(1))
            while let event = await events.next() {
                if case .ticked = event { break }
            }
            await clock.waitForSleepers(1)
            let wait = try #require(clock.deadlines.first).offset - clock.now.offset
            #expect(wait >= .seconds(15) && wait <= .seconds(30))
            #expect(dispatcher.problem != nil)
            clock.advance(by: wait - .milliseconds(1))
            #expect(sink.written == [0, 1, 2])
            clock.advance(by: .milliseconds(1))
            // Redelivered from the watermark, then probed with a flush that heals the sink.
            while let event = await events.next() {
                if case .flushed = event { break }
            }
            #expect(sink.written == [0, 1, 2, 0, 1, 2])
            #expect(dispatcher.problem == nil)
            group.cancelAll()
        }
    }

    @Test("a confirmed request receives the primary sink's receipt")
    func confirmation() async throws {
        let sink = TestSink()
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let registry = ConfirmationRegistry()
        try await withDispatcher(sink: sink, log: log, registry: registry) { _ in
            let token = registry.register()
            let positions = try await log.append([makeEvent("c", token: token)])
            let confirmation = await registry.wait(for: token, timeout: .seconds(10))
            #expect(confirmation == .accepted(.log(positions[0]), attempts: 1))
            #expect(registry.waitingCount == 0)
        }
    }
}
