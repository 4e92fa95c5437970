import GatewayCore
import GatewayLog
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

@testable import LiveStreams

/// Runs a broadcaster on `log` for the duration of `body`.
func withBroadcaster(
    _ log: any EventLog, maxQueuedBatches: Int = 256, readInterval: Duration = .milliseconds(10),
    _ body: (LiveBroadcaster) async throws -> Void
) async throws {
    let broadcaster = LiveBroadcaster(log: log, maxQueuedBatches: maxQueuedBatches, readInterval: readInterval)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await broadcaster.run() }
        defer { group.cancelAll() }
        try await body(broadcaster)
    }
}

/// Bytes written to a connection, as SSE.
final class Socket: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func append(_ frames: [ByteBuffer]) {
        bytes.withLock { bytes in for frame in frames { bytes += Array(buffer: frame) } }
    }

    /// The `id:` of every event written, in order.
    var ids: [UInt64] {
        String(decoding: bytes.withLock { $0 }, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("id: ") ? UInt64(line.dropFirst(4)) : nil
        }
    }
}

/// Collects a subscription's deliveries in a task of its own.
final class Collected: Sendable {
    let sequences = Mutex<[UInt64]>([])
    let sharedDeliveries = Mutex(0)
    let gaps = Mutex<[ClosedRange<UInt64>]>([])

    func take(_ delivery: LiveDelivery) {
        sequences.withLock { $0 += delivery.events.map(\.sequence) }
        if delivery.shared != nil { sharedDeliveries.withLock { $0 += 1 } }
        if let skipped = delivery.skipped { gaps.withLock { $0.append(skipped) } }
    }

    var count: Int { sequences.withLock { $0.count } }
    var all: [UInt64] { sequences.withLock { $0 } }
}

@Suite("The live broadcaster", .timeLimit(.minutes(1)))
struct LiveBroadcasterTests {
    static func log() -> MemoryLog { MemoryLog(sinks: [.archive], maxBytes: 1 << 24, retainReleased: true) }

    @Test("caught-up connections share one reader and the same framed bytes; each gets its stream in order")
    func sharesReads() async throws {
        let log = Self.log()
        try await withBroadcaster(log) { broadcaster in
            let first = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .serverSentEvents, from: log.nextSequence)
            let second = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .serverSentEvents, from: log.nextSequence)
            #expect(first.isShared && second.isShared)
            #expect(broadcaster.listenerCount == 2)
            var a = first
            var b = second
            _ = try await log.append([event("a"), event("x", app: "refunds"), event("b")])
            let fromA = try #require(try await a.next())
            let fromB = try #require(try await b.next())
            #expect(fromA.events.map(\.sequence) == [0, 2])
            #expect(fromB.events.map(\.sequence) == [0, 2])
            let sse = try #require(fromA.shared?.serverSentEvents)
            #expect(fromB.shared?.serverSentEvents == sse)
            var expected: [UInt8] = []
            for record in fromA.events { ServerSentEvents.append(record, to: &expected) }
            #expect(Array(buffer: sse) == expected, "the shared bytes are the events' SSE framing")
            #expect(fromA.shared?.webSocketMessages == nil, "no WebSocket connection listens: nothing framed for one")
            a.close()
            b.close()
            #expect(broadcaster.listenerCount == 0)
        }
    }

    @Test("a connection resuming from the past reads by itself, then joins: nothing skipped or repeated")
    func catchesUpThenJoins() async throws {
        let log = Self.log()
        for n in 0..<50 { _ = try await log.append([event("old\(n)")]) }
        try await withBroadcaster(log) { broadcaster in
            var subscription = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .webSocket, from: 10)
            #expect(!subscription.isShared)
            var received: [UInt64] = []
            var appended = 50
            while received.count < 90 {
                let delivery = try #require(try await subscription.next())
                received += delivery.events.map(\.sequence)
                if appended < 100 {
                    // Appends while it reads, so the hand-over happens with records arriving.
                    _ = try await log.append((0..<10).map { event("new\(appended + $0)") })
                    appended += 10
                }
            }
            #expect(received == Array(10..<100))
            #expect(subscription.isShared)
            subscription.close()
        }
    }

    @Test("a connection that stops reading is dropped from the broadcast and resumes from the log; the others are not held back")
    func slowConnectionDetaches() async throws {
        let log = Self.log()
        try await withBroadcaster(log, maxQueuedBatches: 2) { broadcaster in
            let everything = try LiveFilter(partitionKey: nil, pointer: nil, value: nil)
            var slow = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: everything, format: .serverSentEvents, from: 0)
            let fast = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: everything, format: .serverSentEvents, from: 0)
            #expect(slow.isShared && fast.isShared)
            let collected = Collected()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var fast = fast
                    defer { fast.close() }
                    while let delivery = try await fast.next() { collected.take(delivery) }
                }
                for round in 0..<6 {
                    _ = try await log.append((0..<5).map { event("r\(round)-\($0)") })
                    // Each append is a read of its own: the fast connection has it before the next one.
                    try await waitFor("the fast connection got round \(round)") { collected.count == (round + 1) * 5 }
                }
                #expect(collected.all == Array(0..<30))
                #expect(broadcaster.listenerCount == 1, "the slow connection was dropped when its queue was full")
                var received: [UInt64] = []
                while received.count < 30 {
                    let delivery = try #require(try await slow.next())
                    received += delivery.events.map(\.sequence)
                }
                #expect(received == Array(0..<30), "queued reads, then its own reads from the first it missed")
                _ = try await log.append([event("after")])
                let after = try #require(try await slow.next())
                #expect(after.events.map(\.sequence) == [30])
                #expect(slow.isShared, "caught up again: back on the broadcast")
                group.cancelAll()
            }
            slow.close()
        }
    }

    @Test("a filtered connection gets only its matches, framed by itself")
    func filtered() async throws {
        let log = Self.log()
        try await withBroadcaster(log) { broadcaster in
            var subscription = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: "k2", pointer: nil, value: nil),
                format: .serverSentEvents, from: log.nextSequence)
            _ = try await log.append([event("a", key: "k1"), event("b", key: "k2"), event("c", key: "k2", receivedAt: 1)])
            let delivery = try #require(try await subscription.next())
            #expect(delivery.events.map(\.sequence) == [1, 2])
            #expect(delivery.shared == nil)
            subscription.close()
        }
    }

    @Test("with nobody listening it lets go of its reader, and starts again where the next connection joins")
    func idlesAndRestarts() async throws {
        let log = Self.log()
        try await withBroadcaster(log) { broadcaster in
            let everything = try LiveFilter(partitionKey: nil, pointer: nil, value: nil)
            var first = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: everything, format: .webSocket, from: log.nextSequence)
            _ = try await log.append([event("a")])
            #expect(try await first.next()?.events.map(\.sequence) == [0])
            first.close()
            _ = try await log.append([event("b"), event("c")])
            try await waitFor("idle after a read nobody listened to") { broadcaster.isIdle }
            var second = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: everything, format: .webSocket, from: log.nextSequence)
            #expect(second.isShared)
            _ = try await log.append([event("d")])
            let delivery = try #require(try await second.next())
            #expect(delivery.events.map(\.sequence) == [3])
            #expect(delivery.shared?.webSocketMessages?.count == 1)
            second.close()
        }
    }

    @Test("when the log closes, a joined connection ends instead of waiting for records that cannot come")
    func logCloses() async throws {
        let log = Self.log()
        try await withBroadcaster(log) { broadcaster in
            var subscription = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .serverSentEvents, from: log.nextSequence)
            #expect(subscription.isShared)
            await log.close()
            let ended: Bool
            do {
                ended = try await subscription.next() == nil
            } catch {
                ended = true
            }
            #expect(ended)
            #expect(broadcaster.listenerCount == 0)
        }
    }

    @Test("a direct connection's reads are written onto its output by the broadcaster; a stall hands it back to its own reads")
    func directOutput() async throws {
        let log = Self.log()
        let written = Mutex<[UInt8]>([])
        let writes = Mutex(0)
        let writable = Mutex(true)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let output = LiveDirectOutput(
            eventLoop: loop, isWritable: { writable.withLock { $0 } },
            write: { frames in
                loop.preconditionInEventLoop()
                writes.withLock { $0 += 1 }
                written.withLock { bytes in for frame in frames { bytes += Array(buffer: frame) } }
            })
        try await withBroadcaster(log) { broadcaster in
            let subscription = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .serverSentEvents, from: log.nextSequence, direct: output)
            #expect(!subscription.isShared, "it joins at its first read, after the caller's opening")
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                group.addTask {
                    var subscription = subscription
                    defer { subscription.close() }
                    // Returns only once the broadcast dropped it: with what it then read by itself.
                    return try await subscription.next()?.events.map(\.sequence) ?? []
                }
                try await waitFor("joined") { broadcaster.listenerCount == 1 }
                let records = (0..<3).map { event("d\($0)") }
                let positions = try await log.append(records)
                try await waitFor("written") { writes.withLock { $0 } == 1 }
                var expected: [UInt8] = []
                for (record, position) in zip(records, positions) {
                    ServerSentEvents.append(SinkRecord(position: position, event: record), to: &expected)
                }
                #expect(written.withLock { $0 } == expected, "one write with the three events' SSE framing")
                writable.withLock { $0 = false }
                _ = try await log.append([event("d3"), event("d4")])
                let ownReads = try #require(try await group.next())
                #expect(ownReads == [3, 4], "the stalled read, read again by the connection itself")
                #expect(writes.withLock { $0 } == 1, "nothing written to a stalled output")
                #expect(broadcaster.listenerCount == 0)
            }
        }
    }

    @Test("a direct connection that stalls and catches up again and again writes every event once, in order")
    func directStallsKeepOrder() async throws {
        let log = Self.log()
        // What reached the "socket": the broadcaster's direct writes and the connection's own, both on one loop.
        let socket = Socket()
        let writable = Mutex(true)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let output = LiveDirectOutput(
            eventLoop: loop, isWritable: { writable.withLock { $0 } }, write: { frames in socket.append(frames) })
        try await withBroadcaster(log, readInterval: .zero) { broadcaster in
            let subscription = try LiveSubscription(
                broadcaster: broadcaster, team: "shop", app: "orders", filter: LiveFilter(partitionKey: nil, pointer: nil, value: nil),
                format: .serverSentEvents, from: 0, direct: output)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var subscription = subscription
                    defer { subscription.close() }
                    while let delivery = try await subscription.next() {
                        var out: [UInt8] = []
                        if let skipped = delivery.skipped {
                            ServerSentEvents.appendLagged(skipped, resumeFrom: skipped.upperBound + 1, to: &out)
                        }
                        for record in delivery.events { ServerSentEvents.append(record, to: &out) }
                        // As the response writer does: a hop onto the channel's loop, then the next read; slowly
                        // (a busy machine), so that the broadcaster reads meanwhile.
                        try await Task.sleep(for: .milliseconds(1))
                        let frame = ByteBuffer(bytes: out)
                        try await loop.submit { socket.append([frame]) }.get()
                    }
                }
                for n in 0..<300 {
                    _ = try await log.append([event("o\(n)")])
                    if n % 7 == 0 { writable.withLock { $0.toggle() } }
                    try await Task.sleep(for: .microseconds(300)) // a steady producer, not a burst
                }
                writable.withLock { $0 = true }
                try await waitFor("every event written") { socket.ids.count >= 300 }
                #expect(socket.ids == Array(0..<300))
                group.cancelAll()
            }
        }
    }

    @Test(
        "WebSocket text frames as RFC 6455 has them: FIN and opcode 1, unmasked, 7-, 16- and 64-bit lengths", arguments: [0, 125, 126, 65535, 65536])
    func webSocketFraming(length: Int) {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: length)
        var frame: [UInt8] = []
        WebSocketTextFrame.append(payload, to: &frame)
        #expect(frame.first == 0x81)
        let (declared, header): (Int, Int)
        switch frame[1] {
        case 126: (declared, header) = (Int(frame[2]) << 8 | Int(frame[3]), 4)
        case 127: (declared, header) = (frame[2..<10].reduce(0) { $0 << 8 | Int($1) }, 10)
        default: (declared, header) = (Int(frame[1]), 2)
        }
        #expect(frame[1] & 0x80 == 0, "no mask bit")
        #expect(declared == length)
        #expect(frame.count == header + length)
        #expect(Array(frame[header...]) == payload)
    }
}
