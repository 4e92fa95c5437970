import CoreMetrics
import Delivery
import GatewayCore
import GatewayLog
import Logging
import Testing

@testable import Subscriptions

extension SinkID {
    static let archive = SinkID(name: "archive", slot: 0, routeName: "local")
}

/// An event of `team/app`, key `key`.
func event(_ id: String, team: String = "shop", app: String = "orders", key: String = "k", receivedAt: Int64 = Timestamp.nowMillis())
    -> EventRecord
{
    EventRecord(
        eventID: id, team: team, app: app, partitionKey: key, receivedAtMillis: receivedAt, route: Route(sink: .archive),
        envelope: Array("{\"v\":1,\"event_id\":\"\(id)\",\"pad\":\"\(String(repeating: "x", count: 100))\"}".utf8))
}

/// Polls until `condition` holds (the subscription runs in its own task; there is nothing to await directly).
func waitFor(_ what: Comment, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting: \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

func makeSubscription(
    log: any EventLog, handler: any SubscriptionHandler, streams: [String] = ["shop/orders"],
    start: SubscriptionSettings.StartingPosition = .trimHorizon,
    lanes: Int = 1, batchSize: Int = 10, window: Duration = .zero
) throws -> Subscription {
    Subscription(
        settings: SubscriptionSettings(
            name: "s", batchSize: batchSize, batchingWindow: window, parallelizationFactor: lanes,
            backoff: .init(initial: .milliseconds(2), maximum: .milliseconds(4))),
        source: LogSource(name: "s", streams: streams.compactMap(StreamPattern.init), startingPosition: start, log: log), handler: handler,
        deadLetters: try DeadLetterStore(directory: nil, subscription: "s"), clock: ElapsedClock(),
        metricsFactory: NOOPMetricsHandler.instance, logger: Logger(label: "test"))
}

@Suite("A subscription to the log", .timeLimit(.minutes(1)))
struct LogSubscriptionTests {
    @Test("filters by stream pattern, delivers from trim_horizon and commits its position")
    func filtersAndCommits() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        _ = try await log.append([event("a"), event("b", app: "refunds"), event("c", team: "other"), event("d")])
        let handler = ScriptedHandler { _, _ in .success }
        let subscription = try makeSubscription(log: log, handler: handler, streams: ["shop/*"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            try await waitFor("caught up") { log.subscriptionPosition("s") == 4 }
            #expect(handler.handed.flatMap { $0 } == [0, 1, 3])
            #expect(log.subscriptionPosition("s") == 4)
            #expect(subscription.lagRecords == 0)
            group.cancelAll()
        }
    }

    @Test("maximum_batching_window_seconds gathers what arrives within the window into one call")
    func batchingWindow() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        let handler = ScriptedHandler { _, _ in .success }
        let subscription = try makeSubscription(log: log, handler: handler, start: .latest, window: .seconds(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            try await waitFor("started") { log.subscriptionPosition("s") != nil }
            _ = try await log.append((0..<3).map { event("a\($0)") })
            _ = try await log.append((3..<6).map { event("b\($0)") })
            try await waitFor("delivered") { log.subscriptionPosition("s") == 6 }
            #expect(handler.handed == [Array(0..<6)], "one call for both appends")
            group.cancelAll()
        }
    }

    @Test("records dropped before the subscription read them become one RetentionGap dead letter; delivery goes on")
    func retentionGap() async throws {
        // Room for about ten records: appending forty drops the oldest ones the paused subscription had not read.
        let log = MemoryLog(sinks: [.archive], maxBytes: 1_500, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        let handler = ScriptedHandler { _, _ in .success }
        let subscription = try makeSubscription(log: log, handler: handler)
        subscription.pause()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            try await waitFor("started at the oldest record") { log.subscriptionPosition("s") == 0 }
            for n in 0..<40 {
                _ = try await log.append([event("e\(n)")])
                log.commit(.archive, next: UInt64(n + 1))
            }
            let first = log.firstSequence
            #expect(first > 0, "the oldest records were dropped")
            subscription.resume()
            try await waitFor("caught up") { log.subscriptionPosition("s") == 40 }
            let letters = await subscription.deadLetters.list()
            #expect(letters.map(\.condition) == [.retentionGap])
            #expect(letters.first?.firstSequence == 0)
            #expect(letters.first?.lastSequence == first - 1)
            #expect(subscription.status.retentionGapRecords == first)
            #expect(handler.handed.flatMap { $0 } == Array(first..<40))
            group.cancelAll()
        }
    }

    @Test("parallelization_factor: lanes run concurrently and each partition key keeps its order")
    func lanesKeepKeyOrder() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        _ = try await log.append((0..<60).map { event("e\($0)", key: "k\($0 % 7)") })
        let handler = ScriptedHandler { _, _ in .success }
        let subscription = try makeSubscription(log: log, handler: handler, lanes: 3, batchSize: 5)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            try await waitFor("caught up") { log.subscriptionPosition("s") == 60 }
            let delivered = handler.handed.flatMap { $0 }
            #expect(Set(delivered) == Set(0..<60))
            for key in 0..<7 {
                let sequences = delivered.filter { $0 % 7 == UInt64(key) }
                #expect(sequences == sequences.sorted(), "key k\(key) in order")
            }
            #expect(Set((0..<7).map { Subscription.lane(of: "k\($0)", lanes: 3) }).count > 1, "the keys spread over lanes")
            group.cancelAll()
        }
    }

    @Test("replay to a sequence and to a timestamp redelivers from there; latest skips what was there before")
    func replay() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20, subscriptions: ["s"], subscriptionRetention: .seconds(3600))
        let base = Timestamp.nowMillis()
        _ = try await log.append((0..<5).map { event("old\($0)", receivedAt: base - 10_000) })
        let handler = ScriptedHandler { _, _ in .success }
        let subscription = try makeSubscription(log: log, handler: handler, start: .latest)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            try await waitFor("started") { log.subscriptionPosition("s") != nil }
            _ = try await log.append((5..<10).map { event("new\($0)", receivedAt: base + Int64($0)) })
            try await waitFor("new records") { log.subscriptionPosition("s") == 10 }
            #expect(handler.handed.flatMap { $0 } == Array(5..<10), "latest: only records appended after the start")
            subscription.replay(to: .sequence(2))
            try await waitFor("replayed") { handler.handed.flatMap { $0 }.count == 13 }
            #expect(handler.handed.flatMap { $0 }.suffix(8) == Array(2..<10))
            subscription.replay(to: .timestamp(base + 7))
            try await waitFor("replayed by time") { handler.handed.flatMap { $0 }.count == 16 }
            #expect(handler.handed.flatMap { $0 }.suffix(3) == [7, 8, 9])
            group.cancelAll()
        }
    }
}
