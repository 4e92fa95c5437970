import Delivery
import GatewayCore
import KafkaClient
import Testing

@testable import KafkaSink

/// The sink's state machine on its own: every transition and the actions it returns, with time passed in.
@Suite struct StateMachineTests {
    typealias Machine = KafkaSinkStateMachine<String, ContinuousClock.Instant>

    let start = ContinuousClock.now
    static let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))

    func machine(stuckAfter: Duration = .seconds(10)) -> Machine {
        Machine(producer: "p0", stuckAfter: stuckAfter, backoff: Self.backoff)
    }

    func entry(_ sequence: UInt64) -> Machine.Entry {
        Machine.Entry(
            record: SinkTestEnvironment.record(sequence: sequence, topic: "t", size: 100), topic: "t", attemptStart: start,
            attemptStartMillis: 0)
    }

    static func error(_ code: Int32, _ name: String, fatal: Bool = false) -> KafkaError {
        KafkaError(code: code, name: name, message: "\(name) in a test", isRetriable: false, isFatal: fatal)
    }

    static func report(_ tag: UInt64, offset: Int64 = 7, error: KafkaError? = nil) -> KafkaDeliveryReport {
        KafkaDeliveryReport(tag: tag, topic: "t", partition: 1, offset: offset, error: error, latency: .milliseconds(3))
    }

    /// Claims `entry` and returns its tag (the machine must be running).
    func claim(_ machine: inout Machine, _ entry: Machine.Entry, handedOut: Bool = false) -> UInt64 {
        guard case .produce(let producer, _, let tag, _) = machine.claim(entry, wasHandedOut: handedOut) else {
            Issue.record("the machine does not produce")
            return 0
        }
        #expect(producer == "p0" || producer == "p1")
        return tag
    }

    @Test func acknowledgedRecordsAreAcceptedWithTheirReceiptAndReleasedTogether() throws {
        var machine = machine()
        let first = claim(&machine, entry(1))
        let second = claim(&machine, entry(2))
        #expect(first != second)
        #expect(machine.heldCount == 2)
        let actions = machine.deliveryReports([Self.report(first, offset: 10), Self.report(second, offset: 11)], now: start + .milliseconds(5))
        #expect(actions.accepted.map(\.record.sequence) == [1, 2])
        #expect(actions.accepted.first?.receipt == .kafka(topic: "t", partition: 1, offset: 10))
        #expect(actions.accepted.allSatisfy { $0.attempts == 1 })
        #expect(actions.released == [1, 2])
        #expect(actions.rejected.isEmpty && actions.retried == 0)
        #expect(actions.delivered.map(\.latency) == [.milliseconds(3), .milliseconds(3)])
        #expect(actions.held == 0 && machine.heldCount == 0)
        // A report for a tag the machine no longer holds (a replaced producer's) is ignored.
        let again = machine.deliveryReports([Self.report(first)], now: start)
        #expect(again.accepted.isEmpty && again.released.isEmpty)
    }

    @Test func aRetriableFailureWaitsTheBackoffThenIsProducedAgain() throws {
        var machine = machine()
        let tag = claim(&machine, entry(1))
        let now = start + .seconds(1)
        let actions = machine.deliveryReports([Self.report(tag, error: Self.error(KafkaError.Code.transport, "_TRANSPORT"))], now: now)
        #expect(actions.retried == 1 && actions.released.isEmpty && actions.rejected.isEmpty)
        #expect(actions.errors.map(\.code) == ["_TRANSPORT"])
        #expect(machine.heldCount == 1, "a record waiting for its retry is still held")
        guard case .wait(let deadline?) = machine.nextRunLoopAction(now: now) else {
            Issue.record("nothing is due before the backoff")
            return
        }
        #expect(deadline >= now + .milliseconds(50) && deadline <= now + .milliseconds(100), "the shared backoff's first delay")
        guard case .produce(let due) = machine.nextRunLoopAction(now: deadline) else {
            Issue.record("the retry is due at its deadline")
            return
        }
        #expect(due.map(\.record.sequence) == [1])
        #expect(due.first?.attempts.map(\.errorCode) == ["_TRANSPORT"])
        #expect(machine.heldCount == 1, "handed to the run loop, still held")
        let retried = try claim(&machine, #require(due.first), handedOut: true)
        #expect(machine.heldCount == 1)
        let accepted = machine.deliveryReports([Self.report(retried)], now: deadline)
        #expect(accepted.accepted.first?.attempts == 2)
        #expect(machine.heldCount == 0)
    }

    @Test func aPermanentFailureIsRejectedWithItsAttempts() throws {
        var machine = machine()
        let tag = claim(&machine, entry(3))
        let actions = machine.deliveryReports(
            [Self.report(tag, error: Self.error(KafkaError.Code.messageSizeTooLarge, "MSG_SIZE_TOO_LARGE"))], now: start)
        #expect(actions.rejected.map(\.record.sequence) == [3])
        #expect(actions.rejected.first?.failure.code == "MSG_SIZE_TOO_LARGE")
        #expect(actions.rejected.first?.failure.attempts.count == 1)
        #expect(actions.retried == 0 && machine.heldCount == 0)
        guard case .wait(nil) = machine.nextRunLoopAction(now: start) else {
            Issue.record("no retry is scheduled for a permanent failure")
            return
        }
    }

    @Test func aSynchronousFailureIsClassifiedToo() throws {
        var machine = machine()
        let entry = entry(4)
        guard case .produce(_, let generation, let tag, let epoch) = machine.claim(entry, wasHandedOut: false) else {
            Issue.record("running")
            return
        }
        // A full queue: wait for room, then claim again (counted).
        let full = machine.produceFailed(
            entry, tag: tag, generation: generation, epoch: epoch, error: Self.error(KafkaError.Code.queueFull, "_QUEUE_FULL"), now: start)
        guard case .waitAndClaimAgain(let waitEpoch, nil) = full else {
            Issue.record("a full queue waits for capacity: \(full)")
            return
        }
        #expect(waitEpoch == epoch)
        #expect(machine.queueFullWaits == 1)
        #expect(machine.heldCount == 1)
        let again = claim(&machine, entry, handedOut: true)
        // _INVALID_ARG is permanent.
        let invalid = machine.produceFailed(
            entry, tag: again, generation: generation, epoch: epoch, error: Self.error(KafkaError.Code.invalidArgument, "_INVALID_ARG"),
            now: start)
        guard case .reject(_, let failure, "_INVALID_ARG") = invalid else {
            Issue.record("rejected: \(invalid)")
            return
        }
        #expect(failure.attempts.count == 1)
        #expect(machine.heldCount == 0)
    }

    @Test func aFatalErrorReplacesTheProducerAndProducesEveryPendingRecordAgain() throws {
        var machine = machine()
        let first = claim(&machine, entry(1))
        _ = claim(&machine, entry(2))
        #expect(machine.clientError(Self.error(KafkaError.Code.fatal, "OUT_OF_ORDER_SEQUENCE_NUMBER", fatal: true), generation: 1) == nil)
        guard case .wait = machine.nextRunLoopAction(now: start) else {
            Issue.record("an error of another generation changes nothing")
            return
        }
        _ = machine.clientError(Self.error(KafkaError.Code.fatal, "OUT_OF_ORDER_SEQUENCE_NUMBER", fatal: true), generation: 0)
        guard case .createProducer(1, let reason) = machine.nextRunLoopAction(now: start) else {
            Issue.record("the run loop creates the replacement")
            return
        }
        #expect(reason.isFatal)
        // While replacing, a new record waits.
        guard case .waitForCapacity = machine.claim(entry(3), wasHandedOut: false) else {
            Issue.record("produce waits for the replacement")
            return
        }
        // A creation failure is retried after the backoff.
        machine.producerCreationFailed(now: start)
        guard case .wait(let deadline?) = machine.nextRunLoopAction(now: start), deadline > start else {
            Issue.record("waits before creating again")
            return
        }
        guard case .createProducer(1, _) = machine.nextRunLoopAction(now: deadline) else {
            Issue.record("creates again after the backoff")
            return
        }
        guard case .replaced(let failed, let moved, _) = machine.producerCreated("p1", now: deadline) else {
            Issue.record("replaced")
            return
        }
        #expect(failed == "p0")
        #expect(moved == 2)
        #expect(machine.producerGenerations == 2)
        // The failed producer's reports carry superseded tags.
        #expect(machine.deliveryReports([Self.report(first)], now: deadline).accepted.isEmpty)
        guard case .produce(let again) = machine.nextRunLoopAction(now: deadline) else {
            Issue.record("the moved records are produced again at once")
            return
        }
        #expect(again.map(\.record.sequence) == [1, 2])
        #expect(again.allSatisfy { $0.attempts.count == 1 })
        // Held: the two moved ones and the one that waited for the replacement.
        #expect(machine.heldCount == 3)
    }

    @Test func messagesTimingOutWithoutAnyDeliveryMarkTheProducerStuck() throws {
        var machine = machine(stuckAfter: .seconds(5))
        let timedOut = Self.error(KafkaError.Code.messageTimedOut, "_MSG_TIMED_OUT")
        let first = claim(&machine, entry(1))
        #expect(machine.deliveryReports([Self.report(first, error: timedOut)], now: start).stuckFor == nil)
        let second = claim(&machine, entry(2))
        #expect(machine.deliveryReports([Self.report(second, error: timedOut)], now: start + .seconds(4)).stuckFor == nil)
        let third = claim(&machine, entry(3))
        let stuck = machine.deliveryReports([Self.report(third, error: timedOut)], now: start + .seconds(5))
        #expect(stuck.stuckFor == .seconds(5))
        guard case .createProducer(1, let reason) = machine.nextRunLoopAction(now: start + .seconds(5)) else {
            Issue.record("a stuck producer is replaced")
            return
        }
        #expect(reason.isMessageTimedOut)
    }

    @Test func aDeliveryResetsTheStuckClockAndTheBrokerProblem() throws {
        var machine = machine(stuckAfter: .seconds(5))
        _ = machine.clientError(Self.error(KafkaError.Code.allBrokersDown, "_ALL_BROKERS_DOWN"), generation: 0)
        #expect(machine.brokerProblem?.hasPrefix("_ALL_BROKERS_DOWN") == true)
        let timedOut = Self.error(KafkaError.Code.messageTimedOut, "_MSG_TIMED_OUT")
        let first = claim(&machine, entry(1))
        _ = machine.deliveryReports([Self.report(first, error: timedOut)], now: start)
        let delivered = claim(&machine, entry(2))
        _ = machine.deliveryReports([Self.report(delivered)], now: start + .seconds(4))
        #expect(machine.brokerProblem == nil)
        let late = claim(&machine, entry(3))
        #expect(machine.deliveryReports([Self.report(late, error: timedOut)], now: start + .seconds(6)).stuckFor == nil)
    }

    @Test func closeHandsBackTheProducerAndStopsEverything() throws {
        var machine = machine()
        let tag = claim(&machine, entry(1))
        _ = machine.deliveryReports([Self.report(tag, error: Self.error(KafkaError.Code.transport, "_TRANSPORT"))], now: start)
        let closing = machine.close()
        #expect(closing?.producer == "p0")
        #expect(machine.close() == nil, "idempotent")
        guard case .drop = machine.claim(entry(2), wasHandedOut: false) else {
            Issue.record("nothing is produced once closed")
            return
        }
        guard case .exit = machine.nextRunLoopAction(now: start + .seconds(60)) else {
            Issue.record("the run loop returns")
            return
        }
        #expect(machine.heldCount == 0, "records waiting for a retry stay unreleased in the log")
    }

    @Test func gracefulShutdownEndsTheRunLoop() {
        var machine = machine()
        #expect(machine.requestShutdown() == nil, "not parked: remembered")
        guard case .exit = machine.nextRunLoopAction(now: start) else {
            Issue.record("the run loop returns")
            return
        }
    }
}

/// ``KafkaRetryLogic``: the decision comes from the error's code.
@Suite struct KafkaRetryLogicTests {
    let logic = KafkaRetryLogic()

    @Test(arguments: Array(KafkaError.permanentCodes))
    func permanentCodesAreRejected(code: Int32) {
        #expect(logic.decide(KafkaError(code: code, name: "X", message: "", isRetriable: true, isFatal: false)) == .permanent)
    }

    @Test func aFullQueueIsThrottling() {
        let full = KafkaError(code: KafkaError.Code.queueFull, name: "_QUEUE_FULL", message: "", isRetriable: true, isFatal: false)
        #expect(logic.decide(full) == .throttled)
    }

    @Test func everythingElseIsRetriedWhateverItsText() {
        for code in [
            KafkaError.Code.messageTimedOut, KafkaError.Code.transport, KafkaError.Code.unknownTopic, KafkaError.Code.purgeQueue,
            KafkaError.Code.fatal,
        ] {
            // The message names a permanent error: the text is never read.
            let error = KafkaError(code: code, name: "MSG_SIZE_TOO_LARGE", message: "MSG_SIZE_TOO_LARGE", isRetriable: false, isFatal: false)
            #expect(logic.decide(error) == .retriable)
        }
    }
}
