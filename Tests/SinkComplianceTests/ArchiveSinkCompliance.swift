import ArchiveSink
import CoreMetrics
import Delivery
import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SinkTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The archive against the compliance suite: a local directory; the failing destination is a directory whose
/// parent is a regular file (so it fails even for root), healed by removing the file.
struct ArchiveFixture: SinkFixture {
    /// An archive root; `blocker` is the file standing in the way while it fails.
    struct Destination: Sendable {
        var root: URL
        var directory: String
        var blocker: URL?
    }

    var sinkID: SinkID { .archive }
    var receiptKey: String { "log" }
    var requiredMetricLabels: [String] {
        ["sluice_archive_files_total", "sluice_archive_records_total", "sluice_archive_bytes_total"]
    }

    /// The archive's file errors through ``ArchiveRetryLogic``: transient conditions retriable, ones an operator must
    /// fix permanent (the dispatcher then probes until the destination heals).
    var retrySamples: [RetrySample] {
        let logic = ArchiveRetryLogic()
        func io(_ name: String, _ code: Int32, _ expected: RetryDecision.Kind) -> RetrySample {
            RetrySample(name, error: ArchiveError(code: .io, message: "compliance sample", errno: code), logic: logic, expected: expected)
        }
        return [
            io("ENOSPC", ENOSPC, .retriable), io("EIO", EIO, .retriable), io("EINTR", EINTR, .retriable),
            io("EACCES", EACCES, .permanent), io("EROFS", EROFS, .permanent), io("ENOTDIR", ENOTDIR, .permanent),
            RetrySample("io without errno", error: ArchiveError(code: .io, message: "compliance sample"), logic: logic, expected: .retriable),
            RetrySample("gzip", error: ArchiveError(code: .compression, message: "compliance sample"), logic: logic, expected: .retriable),
            RetrySample(
                "invalid configuration", error: ArchiveError(code: .invalidConfiguration, message: "compliance sample"), logic: logic,
                expected: .permanent),
        ]
    }

    func inapplicability(of check: SinkComplianceCheck) -> String? {
        if check == .respectsBackpressure {
            return "the archive never holds the dispatcher back: past max_buffered_bytes it publishes its largest buffers "
                + "early, so write() always returns; the dispatcher's own read-ahead limit (SinkDispatcher.maxUnreleased) is its gate"
        }
        return nil
    }

    func makeDestination(name: String) async throws -> Destination {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return Destination(root: root, directory: root.appendingPathComponent("archive").path, blocker: nil)
    }

    func makeFailingDestination(name: String) async throws -> Destination {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let blocker = root.appendingPathComponent("blocker")
        try Data("not a directory".utf8).write(to: blocker)
        return Destination(root: root, directory: blocker.appendingPathComponent("archive").path, blocker: blocker)
    }

    func heal(_ destination: Destination) async throws {
        if let blocker = destination.blocker { try FileManager.default.removeItem(at: blocker) }
    }

    func route(to destination: Destination) -> Route { .local }

    func makeSink(
        for destination: Destination, options: SinkFixtureOptions, metrics: any MetricsFactory, logger: Logger
    ) async throws -> SinkUnderTest {
        let configuration = ArchiveSinkConfiguration(
            directory: destination.directory,
            bufferBytes: options.buffersUntilFlush ? 64 << 20 : 1,
            bufferInterval: options.buffersUntilFlush ? .seconds(3600) : .milliseconds(50),
            partitionTemplate: try PartitionTemplate("{team}/{app}/")
        )
        return SinkUnderTest(sink: ArchiveSink(configuration: configuration, metricsFactory: metrics))
    }

    func readBack(_ destination: Destination, expected: Int) async throws -> [String] {
        let contents = try ArchiveContents.read(destination.directory)
        if !contents.corrupt.isEmpty { throw ArchiveReadBackError(corrupt: contents.corrupt) }
        return contents.eventIDs
    }

    func tearDown(_ destination: Destination) async {
        try? FileManager.default.removeItem(at: destination.root)
    }
}

/// The archive holds files that do not read back.
struct ArchiveReadBackError: Error, CustomStringConvertible {
    var corrupt: [String]
    var description: String { "corrupt archive files: \(corrupt.prefix(3))" }
}

@Suite("Archive sink compliance", .serialized, .timeLimit(.minutes(5)))
struct ArchiveSinkCompliance {
    let compliance = SinkCompliance(fixture: ArchiveFixture())

    /// Every check of the suite, present and future: a check added to `SinkComplianceCheck.all` runs here unasked.
    @Test("compliance", arguments: SinkComplianceCheck.all)
    func compliant(_ check: SinkComplianceCheck) async throws {
        try expectCompliant(await compliance.run(check))
    }
}
