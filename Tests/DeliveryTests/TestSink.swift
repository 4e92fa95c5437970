import GatewayCore
import Synchronization

/// A sink for dispatcher tests: records every write, can release at once or later, lose its records on the next
/// flush, or reject chosen events. Every call is reported on `events` so tests await real progress, never a timer.
final class TestSink: Sink {
    enum Event: Sendable {
        case wrote([UInt64])
        case flushed
        case lost
        case ticked
    }

    struct State {
        var written: [UInt64] = []
        var held: [UInt64] = []
        var failNextFlushes = 0
        var rejectEventIDs: Set<String> = []
        var releaseImmediately = true
        var ticks = 0
        var reporter: SinkReporter?
    }

    let id: SinkID
    let state = Mutex(State())
    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    init(id: SinkID = .archive, releaseImmediately: Bool = true) {
        self.id = id
        (events, continuation) = AsyncStream.makeStream()
        state.withLock { $0.releaseImmediately = releaseImmediately }
    }

    var written: [UInt64] { state.withLock { $0.written } }

    func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        state.withLock { $0.reporter = reporter }
        var released: [UInt64] = []
        for record in records {
            if state.withLock({ $0.rejectEventIDs.contains(record.event.eventID) }) {
                reporter.rejected(record, failure: DeliveryFailure(code: "rejected", message: "test rejects \(record.event.eventID)"))
                continue
            }
            reporter.accepted(record, receipt: .log(record.position), attempts: 1)
            let immediate = state.withLock { state in
                state.written.append(record.sequence)
                if !state.releaseImmediately { state.held.append(record.sequence) }
                return state.releaseImmediately
            }
            if immediate { released.append(record.sequence) }
        }
        reporter.released(released)
        continuation.yield(.wrote(records.map(\.sequence)))
    }

    var ticks: Int { state.withLock { $0.ticks } }

    func tick(reporter: SinkReporter) async {
        state.withLock { $0.ticks += 1 }
        continuation.yield(.ticked)
    }

    func flush(reporter: SinkReporter) async {
        let (held, fail) = state.withLock { state -> ([UInt64], Bool) in
            defer { state.held.removeAll() }
            if state.failNextFlushes > 0 {
                state.failNextFlushes -= 1
                return (state.held, true)
            }
            return (state.held, false)
        }
        if fail {
            reporter.lostUnreleased(DeliveryFailure(code: "test", message: "test flush failure"))
            continuation.yield(.lost)
        } else {
            reporter.released(held)
            continuation.yield(.flushed)
        }
    }

    /// Releases held records through the dispatcher's reporter, in the order given.
    func release(_ sequences: [UInt64]) {
        let reporter = state.withLock { state in
            state.held.removeAll { sequences.contains($0) }
            return state.reporter
        }
        reporter?.released(sequences)
    }

    /// Drops every held record and tells the dispatcher they are lost.
    func loseHeld() {
        let reporter = state.withLock { state in
            state.held.removeAll()
            return state.reporter
        }
        reporter?.lostUnreleased(DeliveryFailure(code: "test", message: "test loss"))
    }
}

/// Dead letters collected in memory.
final class TestDeadLetters: DeadLetterDestination {
    let stored = Mutex<[(String, String)]>([])

    func storeRejected(_ record: SinkRecord, failure: DeliveryFailure, sink: SinkID) async throws {
        stored.withLock { $0.append((record.event.eventID, failure.code)) }
    }
}

// Sink identities of the tests' own: Delivery knows no real sink.
extension SinkID {
    static let archive = SinkID(name: "archive", slot: 0, routeName: "local")
    static let kinesis = SinkID(name: "kinesis", slot: 1)
}

extension Route {
    static let local = Route(sink: .archive)
    static func kinesis(stream: String) -> Route { Route(sink: .kinesis, destination: stream) }
}

func makeEvent(_ id: String, route: Route = .local, archived: Bool = true, token: UInt64 = 0) -> EventRecord {
    EventRecord(
        eventID: id, team: "t", app: "a", partitionKey: id, receivedAtMillis: 1_700_000_000_000, route: route,
        copies: archived && route.sink != .archive ? SinkSet([.archive]) : .empty, waiterToken: token,
        envelope: Array("{\"v\":1,\"event_id\":\"\(id)\"}".utf8)
    )
}
