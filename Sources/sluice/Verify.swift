import ArgumentParser
import Foundation
import LoadGenerator

/// `sluice verify --ids FILE --archive DIR`: checks that every acknowledged event reached the archive, exactly once.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit delivery: every id in --ids must be in the archive (missing, duplicated, unexpected, corrupt).",
        discussion: """
            Reads every GZIP NDJSON file under --archive (skipping .staging/), validates each line as JSON and takes its \
            event_id. Files under the error prefix are dead letters, reported separately. Exit status: 0 when every \
            expected id was found and no line or file is corrupt; 1 when an id is missing or dead-lettered, a line or \
            file is corrupt, or (with --fail-on-duplicates) an id appears more than once; 64 for bad options. \
            See docs/bench.md.
            """
    )

    @Option(name: .long, help: "The expected ids, one per line (sluice bench --ids writes it).")
    var ids: String

    @Option(name: .long, help: "The local archive's root directory (archive.root; ./data/archive by default).")
    var archive: String

    @Option(name: .long, help: "The archive's error prefix, relative to the root (archive.error_prefix).")
    var errorPrefix: String = "errors/"

    @Option(name: .long, help: "Only consider archive records whose id starts with this (one bench run's prefix); others are skipped.")
    var idPrefix: String?

    @Flag(name: .long, help: "Fail (exit 1) when an id appears more than once.")
    var failOnDuplicates = false

    @Option(name: .long, help: "How many ids each list shows.")
    var show: Int = 20

    @Option(name: .long, help: "Write the report as JSON to this file.")
    var json: String?

    func run() async throws {
        guard show >= 0 else { throw ValidationError("--show must not be negative") }
        let report: VerificationReport
        do {
            report = try await audit()
        } catch {
            FileHandle.standardError.write(Data("sluice verify: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        print(report.text(), terminator: "")
        if let json {
            do {
                try Data(try report.json().utf8).write(to: URL(fileURLWithPath: json))
            } catch {
                FileHandle.standardError.write(Data("sluice verify: cannot write \(json): \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// Reads the ids and every source, and compares.
    func audit() async throws(VerifyError) -> VerificationReport {
        let expected = try IDsFile.read(ids)
        let source = LocalArchiveSource(root: archive, errorPrefix: errorPrefix)
        var audit = DeliveryAudit(expected: expected, idPrefix: idPrefix)
        try await source.scan(into: &audit)
        return audit.report(sources: [source.name], idsFile: ids, failOnDuplicates: failOnDuplicates, sampleSize: show)
    }
}
