import ArchiveSink
import DeadLetterDestinations
import Foundation
import GatewayCore
import GatewayTesting
import Testing

@testable import Subscriptions

/// A dead letter of `records` (condition RetryAttemptsExhausted, one attempt).
private func letter(_ records: [SubscriptionRecord], id: String = "1700000000000-1") -> DeadLetter {
    let error = DeadLetter.ErrorInfo(failure(.functionError), at: 1_700_000_000_000)
    return DeadLetter(
        id: id, subscription: "s", condition: .retryAttemptsExhausted, attempts: 1, firstError: error, lastError: error,
        firstSequence: records.first?.sequence ?? 0, lastSequence: records.last?.sequence ?? 0,
        deadLetteredAtMillis: 1_763_780_400_000, records: records)
}

/// Records `range` with payloads of `padding` bytes.
private func largeRecords(_ range: Range<UInt64>, padding: Int) -> [SubscriptionRecord] {
    let pad = String(repeating: "x", count: padding)
    return range.map { sequence in
        SubscriptionRecord(
            sequence: sequence, eventID: "e-\(sequence)", team: "t", app: "a", partitionKey: "k", receivedAtMillis: Int64(sequence),
            envelope: Array("{\"v\":1,\"event_id\":\"e-\(sequence)\",\"payload\":\"\(pad)\"}".utf8))
    }
}

private func decode(_ json: [UInt8]) throws -> DeadLetter {
    try JSONDecoder().decode(DeadLetter.self, from: Data(json))
}

@Suite("Dead letters for destinations with a size limit, and the archive destination")
struct DeadLetterDestinationTests {
    @Test("a dead letter that fits is sent whole, without part fields")
    func fitsWhole() throws {
        let whole = letter(records(0..<3))
        let parts = whole.parts(fittingIn: 1_000_000)
        #expect(parts == [whole.json])
        #expect(try decode(parts[0]).part == nil)
    }

    @Test("a larger one is split into consecutive parts, each within the limit, covering every record once")
    func splitsIntoParts() throws {
        let whole = letter(largeRecords(10..<17, padding: 3_000))
        let limit = 8_000
        let parts = try whole.parts(fittingIn: limit).map(decode)
        #expect(parts.count > 1)
        #expect(whole.parts(fittingIn: limit).allSatisfy { $0.count <= limit })
        #expect(parts.flatMap(\.records).map(\.sequence) == Array(10..<17))
        #expect(parts.map(\.part) == Array(1...parts.count))
        #expect(parts.allSatisfy { $0.parts == parts.count && $0.id == whole.id && $0.recordsOmitted == nil })
        for part in parts {
            #expect(part.firstSequence == part.records.first?.sequence)
            #expect(part.lastSequence == part.records.last?.sequence)
            #expect(part.firstReceivedAtMillis == part.records.first?.receivedAtMillis)
        }
    }

    @Test("a record too large on its own goes as the part's metadata, with records_omitted")
    func omitsOversizeRecord() throws {
        let whole = letter(largeRecords(0..<1, padding: 20_000) + largeRecords(1..<2, padding: 10))
        let parts = try whole.parts(fittingIn: 4_000).map(decode)
        #expect(parts.count == 2)
        #expect(parts[0].records.isEmpty)
        #expect(parts[0].recordsOmitted == 1)
        #expect(parts[0].firstSequence == 0 && parts[0].lastSequence == 0)
        #expect(parts[1].records.map(\.sequence) == [1])
        #expect(parts[1].recordsOmitted == nil)
    }

    @Test("on_failure archive: the dead letter is one GZIP NDJSON file under <error_prefix>subscriptions/, read back by the archive reader")
    func archiveForwarder() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dead-letter-archive-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = ArchiveSink(
            configuration: ArchiveSinkConfiguration(
                directory: root.path, bufferBytes: 1 << 20, bufferInterval: .seconds(60),
                partitionTemplate: try PartitionTemplate("team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/")))
        let forwarder = ArchiveDeadLetterForwarder(archive: archive, root: root.path)
        let sent = letter(records(5..<7))
        try await forwarder.forward(sent)
        // Forwarding the same dead letter again (a retry) replaces its file rather than adding one.
        try await forwarder.forward(sent)
        let contents = try ArchiveContents.read(root.path)
        #expect(
            contents.files == [
                "errors/subscriptions/subscription=s/condition=RetryAttemptsExhausted/dt=2025-11-22/hour=03/dead-letter-s-1700000000000-1.ndjson.gz"
            ])
        #expect(contents.lines.isEmpty && contents.errorLines.isEmpty)
        let line = try #require(contents.subscriptionDeadLetterLines.first)
        #expect(try decode(line.bytes) == sent)
    }
}
