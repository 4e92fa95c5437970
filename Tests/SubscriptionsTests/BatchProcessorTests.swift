import Delivery
import GatewayCore
import Testing

@testable import Subscriptions

@Suite("The delivery policy: bisection, partial batches, retries, age, dead letters", .timeLimit(.minutes(1)))
struct BatchProcessorTests {
    @Test("bisection isolates a poison record; it becomes a dead letter after maximum_retry_attempts, the rest are delivered in order")
    func bisectionIsolatesPoison() async throws {
        let handler = ScriptedHandler { batch, _ in batch.contains { $0.sequence == 7 } ? .failure(failure(.functionError)) : .success }
        let (processor, store) = try makeProcessor(handler, maximumRetryAttempts: 2)
        try await processor.process(records(0..<10))
        let succeeded = handler.handed.filter { !$0.contains(7) }.flatMap { $0 }
        #expect(succeeded == (0..<10).filter { $0 != 7 }, "every other record once, in order")
        let letters = await store.list()
        #expect(letters.count == 1)
        #expect(letters.first?.condition == .retryAttemptsExhausted)
        #expect(letters.first?.records.map(\.sequence) == [7])
        #expect(letters.first?.attempts == 3, "1 call + 2 retries of the record alone")
        #expect(letters.first?.lastError?.status == 500)
        #expect(handler.handed.filter { $0 == [7] }.count == 3)
    }

    @Test("without bisection the whole failing batch becomes the dead letter")
    func noBisection() async throws {
        let handler = ScriptedHandler { batch, _ in batch.contains { $0.sequence == 3 } ? .failure(failure(.functionError)) : .success }
        let (processor, store) = try makeProcessor(handler, batchSize: 5, maximumRetryAttempts: 1, bisect: false)
        try await processor.process(records(0..<10))
        let letters = await store.list()
        #expect(letters.map { $0.records.map(\.sequence) } == [[0, 1, 2, 3, 4]])
        #expect(handler.handed.last == [5, 6, 7, 8, 9], "the next batch still flows")
    }

    @Test("batchItemFailures: the records before the lowest failed one count as done, retries start at it")
    func partialFailure() async throws {
        let handler = ScriptedHandler { batch, call in
            call == 1 ? .partialFailure(firstFailedIndex: 4, failure(.functionError)) : .success
        }
        let (processor, store) = try makeProcessor(handler, bisect: false)
        try await processor.process(records(0..<10))
        #expect(handler.handed == [Array(0..<10), Array(4..<10)])
        #expect(await store.list().isEmpty)
    }

    @Test("rejected records are dead letters at once, one each with its own error; the rest of the batch counts as delivered")
    func rejectedRecords() async throws {
        let handler = ScriptedHandler { batch, _ in
            let rejected = batch.indices.filter { batch[$0].sequence == 2 || batch[$0].sequence == 6 }
            return rejected.isEmpty
                ? .success
                : .rejected(
                    rejected.map { RecordRejection(index: $0, failure: HandlerFailure(kind: .rejected, message: "bad \(batch[$0].sequence)")) })
        }
        let (processor, store) = try makeProcessor(handler, batchSize: 5, maximumRetryAttempts: 3)
        try await processor.process(records(0..<10))
        #expect(handler.handed == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], "no retries, no bisection")
        let letters = await store.list()
        #expect(letters.map { $0.records.map(\.sequence) } == [[2], [6]])
        #expect(letters.allSatisfy { $0.condition == .permanentFailure && $0.attempts == 1 })
        #expect(letters.map { $0.lastError?.message } == ["bad 2", "bad 6"])
        #expect(SubscriptionRetryLogic().decide(HandlerFailure(kind: .rejected, message: "x")).kind == .permanent)
    }

    @Test("an unreachable or throttling handler is retried without counting: no dead letters")
    func outagesDoNotCount() async throws {
        let handler = ScriptedHandler { _, call in
            switch call {
            case 1...4: .failure(failure(.unreachable))
            case 5...6: .failure(HandlerFailure(kind: .throttled, status: 429, message: "slow down", retryAfter: .milliseconds(1)))
            default: .success
            }
        }
        let (processor, store) = try makeProcessor(handler, maximumRetryAttempts: 0)
        try await processor.process(records(0..<3))
        #expect(handler.handed.count == 7)
        #expect(handler.handed.allSatisfy { $0 == [0, 1, 2] }, "not bisected: the handler never ran")
        #expect(await store.list().isEmpty)
    }

    @Test("records older than maximum_record_age_seconds are dead letters, never handed to the handler")
    func recordAge() async throws {
        let handler = ScriptedHandler { _, _ in .success }
        let (processor, store) = try makeProcessor(handler, maximumRecordAgeMillis: 60_000)
        let old = records(0..<2, receivedAt: Timestamp.nowMillis() - 120_000)
        try await processor.process(old + records(2..<4))
        #expect(handler.handed == [[2, 3]])
        let letters = await store.list()
        #expect(letters.map(\.condition) == [.recordAgeExceeded])
        #expect(letters.first?.records.map(\.sequence) == [0, 1])
    }

    @Test("a refused destination is a permanent failure: dead letters after one call")
    func permanent() async throws {
        let handler = ScriptedHandler { _, _ in .failure(failure(.forbidden)) }
        let (processor, store) = try makeProcessor(handler, maximumRetryAttempts: 5)
        try await processor.process(records(0..<4))
        #expect(handler.handed == [[0, 1, 2, 3]])
        #expect(await store.list().map(\.condition) == [.permanentFailure])
    }

    @Test("batch_size splits what was read into calls")
    func batchSize() async throws {
        let handler = ScriptedHandler { _, _ in .success }
        let (processor, _) = try makeProcessor(handler, batchSize: 4)
        try await processor.process(records(0..<10))
        #expect(handler.handed == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }

    @Test("retry forever (-1) keeps retrying a failing record instead of dropping it")
    func retryForever() async throws {
        let handler = ScriptedHandler { _, call in call < 20 ? .failure(failure(.functionError)) : .success }
        let (processor, store) = try makeProcessor(handler, batchSize: 1, maximumRetryAttempts: nil)
        try await processor.process(records(0..<1))
        #expect(handler.handed.count == 20)
        #expect(await store.list().isEmpty)
    }
}
