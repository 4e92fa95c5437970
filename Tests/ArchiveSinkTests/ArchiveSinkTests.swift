import ArchiveSink
import CompressNIO
import Delivery
import Foundation
import GatewayCore
import GatewayTesting
import NIOCore
import Synchronization
import Testing

/// Collects what the archive reports.
final class Reports: Sendable {
    let accepted = Mutex<[UInt64]>([])
    let released = Mutex<[UInt64]>([])
    let lost = Mutex<[DeliveryFailure]>([])

    var reporter: SinkReporter {
        SinkReporter(
            .init(
                accepted: { record, _, _ in self.accepted.withLock { $0.append(record.sequence) } },
                released: { sequences in self.released.withLock { $0.append(contentsOf: sequences) } },
                rejected: { _, _ in },
                lostUnreleased: { failure in self.lost.withLock { $0.append(failure) } }
            )
        )
    }
}

@Suite("Archive sink")
struct ArchiveSinkTests {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString)")
    }

    func configuration(bufferBytes: Int = 1 << 20, interval: Duration = .seconds(60)) throws -> ArchiveSinkConfiguration {
        ArchiveSinkConfiguration(
            directory: root.path, bufferBytes: bufferBytes, bufferInterval: interval,
            partitionTemplate: try PartitionTemplate("team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/")
        )
    }

    func sink(bufferBytes: Int = 1 << 20, interval: Duration = .seconds(60)) throws -> ArchiveSink<ContinuousClock> {
        ArchiveSink(configuration: try configuration(bufferBytes: bufferBytes, interval: interval))
    }

    static func record(_ sequence: UInt64, team: String = "web", app: String = "clicks", millis: Int64 = 1_763_780_400_000) -> SinkRecord {
        let envelope = Array("{\"v\":1,\"event_id\":\"e\(sequence)\",\"payload\":{\"n\":\(sequence)}}".utf8)
        return SinkRecord(
            position: LogPosition(sequence: sequence, segment: 0, offset: Int(sequence) * 100),
            event: EventRecord(
                eventID: "e\(sequence)", team: team, app: app, partitionKey: "k", receivedAtMillis: millis,
                route: .local, envelope: envelope
            )
        )
    }

    /// Every `.gz` file under the root (excluding staging), decompressed.
    func files() throws -> [String: String] {
        var out: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return out }
        for case let path as String in enumerator where path.hasSuffix(".gz") && !path.hasPrefix(".staging") {
            var buffer = ByteBuffer(bytes: try Data(contentsOf: root.appendingPathComponent(path)))
            let text = try buffer.decompress(with: .gzip())
            out[path] = String(buffer: text)
        }
        return out
    }

    @Test("records are buffered per partition and published as GZIP NDJSON under team/app/date/hour")
    func partitions() async throws {
        let archive = try sink()
        let reports = Reports()
        // 2025-11-22T03:00:00Z and one hour later.
        let records = [Self.record(0), Self.record(1, app: "views"), Self.record(2), Self.record(3, millis: 1_763_784_000_000)]
        await archive.write(records, reporter: reports.reporter)
        #expect(reports.accepted.withLock { $0 } == [0, 1, 2, 3])
        #expect(reports.released.withLock { $0 }.isEmpty)
        #expect(try files().isEmpty)

        await archive.flush(reporter: reports.reporter)
        #expect(reports.released.withLock { $0 }.sorted() == [0, 1, 2, 3])
        let files = try files()
        #expect(files.count == 3)
        let byDirectory = Dictionary(grouping: files, by: { String($0.key[..<($0.key.lastIndex(of: "/") ?? $0.key.endIndex)]) })
        #expect(
            Set(byDirectory.keys) == [
                "team=web/app=clicks/dt=2025-11-22/hour=03", "team=web/app=views/dt=2025-11-22/hour=03",
                "team=web/app=clicks/dt=2025-11-22/hour=04",
            ])
        let clicks = try #require(byDirectory["team=web/app=clicks/dt=2025-11-22/hour=03"]?.first?.value)
        #expect(clicks == "{\"v\":1,\"event_id\":\"e0\",\"payload\":{\"n\":0}}\n{\"v\":1,\"event_id\":\"e2\",\"payload\":{\"n\":2}}\n")
        #expect(files.keys.allSatisfy { $0.hasSuffix(".ndjson.gz") && $0.contains("/sluice-") })
        #expect(archive.bufferedBytes == 0)
    }

    @Test("a buffer is published once the next record would take it past the size limit; no file is larger")
    func sizeTrigger() async throws {
        // Each line is 42 bytes: four fit in 200, the fifth does not.
        let archive = try sink(bufferBytes: 200)
        let reports = Reports()
        await archive.write((0..<3).map { Self.record($0) }, reporter: reports.reporter)
        #expect(reports.released.withLock { $0 }.isEmpty)
        await archive.write((3..<6).map { Self.record($0) }, reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0, 1, 2, 3])
        #expect(try files().count == 1)
        #expect(archive.bufferedBytes == 84)
        await archive.flush(reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0, 1, 2, 3, 4, 5])
        let files = try files()
        #expect(files.count == 2)
        #expect(files.values.map(\.utf8.count).sorted() == [84, 168])
    }

    @Test("a record larger than the size limit is published in a file of its own")
    func oversizeRecord() async throws {
        let archive = try sink(bufferBytes: 50)
        let reports = Reports()
        await archive.write([Self.record(0), Self.record(1)], reporter: reports.reporter)
        // 42 bytes fit; the second does not, so the first closes; 42 + 42 > 50 for the second as well.
        #expect(reports.released.withLock { $0 } == [0])
        let big = SinkRecord(
            position: LogPosition(sequence: 2, segment: 0, offset: 200),
            event: EventRecord(
                eventID: "big", team: "web", app: "clicks", partitionKey: "k", receivedAtMillis: 1_763_780_400_000, route: .local,
                envelope: Array("{\"v\":1,\"event_id\":\"big\",\"payload\":\"\(String(repeating: "x", count: 100))\"}".utf8)
            )
        )
        await archive.write([big], reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0, 1, 2])
        #expect(try files().count == 3)
        #expect(archive.bufferedBytes == 0)
    }

    @Test("a buffer's age is measured on the injected clock: published by the first tick at its interval, not before")
    func intervalOnManualClock() async throws {
        let clock = ManualClock()
        let archive = ArchiveSink(configuration: try configuration(interval: .seconds(60)), clock: clock)
        let reports = Reports()
        await archive.write([Self.record(0)], reporter: reports.reporter)
        await archive.tick(reporter: reports.reporter)
        clock.advance(by: .seconds(30))
        await archive.write([Self.record(1)], reporter: reports.reporter)
        clock.advance(by: .milliseconds(29_999))
        await archive.tick(reporter: reports.reporter)
        #expect(reports.released.withLock { $0 }.isEmpty)
        clock.advance(by: .milliseconds(1))
        await archive.tick(reporter: reports.reporter)
        // The partition's buffer opened with record 0: both go out together, in one file.
        #expect(reports.released.withLock { $0 } == [0, 1])
        #expect(try files().count == 1)
        #expect(archive.bufferedBytes == 0)
    }

    @Test("past the total buffer bound the largest partitions are published early")
    func totalBufferBound() async throws {
        var configuration = try configuration()
        configuration.maxBufferedBytes = 200
        let archive = ArchiveSink(configuration: configuration)
        let reports = Reports()
        // Three lines for clicks (126 bytes), one for views (42): 168, under the bound.
        await archive.write([Self.record(0), Self.record(1), Self.record(2), Self.record(3, app: "views")], reporter: reports.reporter)
        #expect(reports.released.withLock { $0 }.isEmpty)
        // One more clicks line: 210 > 200, so clicks (the largest) goes out until at most half the bound is held.
        await archive.write([Self.record(4)], reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0, 1, 2, 4])
        #expect(archive.bufferedBytes == 42)
    }

    @Test("a buffer is published by a tick once it is older than the interval")
    func intervalTrigger() async throws {
        let archive = try sink(interval: .zero)
        let reports = Reports()
        await archive.write([Self.record(0)], reporter: reports.reporter)
        await archive.tick(reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0])
    }

    @Test("a failing destination drops every unreleased record and says so; once repaired it publishes again")
    func failure() async throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // A regular file where the partition directory must go makes every publish fail, even for root.
        let blocker = root.appendingPathComponent("team=web")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        let archive = try sink()
        let reports = Reports()
        await archive.write([Self.record(0), Self.record(1)], reporter: reports.reporter)
        await archive.flush(reporter: reports.reporter)
        #expect(reports.lost.withLock { $0.count } == 1)
        // ENOTDIR needs an operator: one attempt, no retry in place.
        #expect(reports.lost.withLock { $0.first?.attempts.count } == 1)
        #expect(reports.lost.withLock { $0.first?.code } == "errno_\(ENOTDIR)")
        #expect(reports.released.withLock { $0 }.isEmpty)
        #expect(archive.bufferedBytes == 0)

        try FileManager.default.removeItem(at: blocker)
        await archive.write([Self.record(0), Self.record(1)], reporter: reports.reporter)
        await archive.flush(reporter: reports.reporter)
        #expect(reports.released.withLock { $0 } == [0, 1])
    }

    @Test("rejected records are stored under the error prefix with the reason and attempts")
    func deadLetters() async throws {
        let archive = try sink()
        let failure = DeliveryFailure(
            code: "ttl_expired", message: "record TTL expired",
            attempts: [DeliveryAttempt(startedAtMillis: 1_763_780_400_000, durationMillis: 12.5, errorCode: "Throttled", errorMessage: "slow down")]
        )
        try await archive.storeRejected(Self.record(7), failure: failure, sink: SinkID(name: "kinesis", slot: 1))
        let files = try files()
        #expect(files.count == 1)
        let (path, text) = try #require(files.first)
        #expect(path.hasPrefix("errors/type=ttl_expired/team=web/app=clicks/"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["error_code"] as? String == "ttl_expired")
        #expect(object["sink"] as? String == "kinesis")
        #expect((object["record"] as? [String: Any])?["event_id"] as? String == "e7")
        #expect((object["attempts"] as? [[String: Any]])?.first?["error_code"] as? String == "Throttled")
    }

    @Test("partition templates render every placeholder and reject unknown ones")
    func templates() throws {
        let template = try PartitionTemplate("{team}/{app}/{yyyy}/{MM}/{dd}/{HH}")
        #expect(template.render(team: "t", app: "a", millis: 1_763_780_400_000) == "t/a/2025/11/22/03/")
        #expect(throws: ArchiveError.self) { try PartitionTemplate("x/{minute}/") }
    }
}
