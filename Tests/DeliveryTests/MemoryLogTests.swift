import Delivery
import GatewayCore
import GatewayLog
import Testing

@Suite("Memory log and confirmations", .timeLimit(.minutes(3)))
struct MemoryLogTests {
    @Test("records are read back in order and forgotten once every sink passed them")
    func appendReadCommit() async throws {
        let log = MemoryLog(sinks: [.archive, .kinesis], maxBytes: 1 << 20)
        let positions = try await log.append((0..<3).map { makeEvent("e\($0)") })
        #expect(positions.map(\.sequence) == [0, 1, 2])
        let reader = try log.makeReader(for: .archive)
        let records = try await reader.next(maxRecords: 10, maxBytes: 1 << 20)
        #expect(records.map(\.event.eventID) == ["e0", "e1", "e2"])
        log.commit(.archive, next: 3)
        #expect(log.stats.outstandingRecords == 3)
        log.commit(.kinesis, next: 2)
        #expect(log.stats.outstandingRecords == 1)
        #expect(log.stats.backlog(of: .kinesis) == 1)
    }

    @Test("past its limit the log refuses appends, and accepts again once sinks catch up")
    func quota() async throws {
        let one = makeEvent("x").envelope.count
        let log = MemoryLog(sinks: [.archive], maxBytes: one * 2)
        _ = try await log.append([makeEvent("a"), makeEvent("b")])
        let error = await #expect(throws: EventLogError.self) { try await log.append([makeEvent("c")]) }
        #expect(error?.code == .full)
        #expect(log.stats.isRefusingIntake)
        log.commit(.archive, next: 1)
        _ = try await log.append([makeEvent("c")])
        #expect(log.stats.isRefusingIntake == false)
    }

    @Test("a reader at the tail waits for the next append")
    func readerWaits() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let reader = try log.makeReader(for: .archive)
        async let next = reader.next(maxRecords: 10, maxBytes: 1 << 20)
        _ = try await log.append([makeEvent("late")])
        #expect(try await next.map(\.event.eventID) == ["late"])
    }

    @Test("a cancelled reader returns no records")
    func readerCancellation() async throws {
        let log = MemoryLog(sinks: [.archive], maxBytes: 1 << 20)
        let reader = try log.makeReader(for: .archive)
        let task = Task { try await reader.next(maxRecords: 10, maxBytes: 1 << 20) }
        task.cancel()
        #expect(try await task.value.isEmpty)
    }

    @Test("a confirmation that arrives before the request waits is kept; a timeout answers nil")
    func registry() async {
        let registry = ConfirmationRegistry()
        let early = registry.register()
        let receipt = Receipt.log(LogPosition(sequence: 1, segment: 0, offset: 0))
        registry.resolve(early, with: .accepted(receipt, attempts: 1))
        #expect(await registry.wait(for: early, timeout: .seconds(5)) == .accepted(receipt, attempts: 1))

        let late = registry.register()
        #expect(await registry.wait(for: late, timeout: .milliseconds(10)) == nil)
        registry.resolve(late, with: .accepted(receipt, attempts: 1))
        #expect(registry.waitingCount == 0)
    }

    @Test("tokens of an earlier process never match")
    func foreignTokens() {
        let registry = ConfirmationRegistry()
        registry.resolve(12345, with: .rejected(DeliveryFailure(code: "x", message: "y")))
        #expect(registry.waitingCount == 0)
    }
}
