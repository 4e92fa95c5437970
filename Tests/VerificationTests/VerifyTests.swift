import ArchiveReading
import CompressNIO
import EnvelopeScanner
import Foundation
import NIOCore
import Testing
import Verification

/// A temporary archive directory, removed at the end.
final class TemporaryArchive {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "sluice-verify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `lines` (each followed by a newline) as a GZIP file at `relativePath`, compressed with CompressNIO.
    func writeGzip(_ relativePath: String, lines: [String]) throws {
        var input = ByteBuffer(string: lines.map { $0 + "\n" }.joined())
        let compressed = try input.compress(with: .gzip())
        try write(relativePath, bytes: Array(compressed.readableBytesView))
    }

    func write(_ relativePath: String, bytes: [UInt8]) throws {
        let path = root + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func line(_ id: String, team: String = "web", app: String = "clicks") -> String {
        #"{"v":1,"event_id":"\#(id)","team":"\#(team)","app":"\#(app)","partition_key":"user-1","received_at":"2026-11-22T02:55:31.123Z","payload":{"pad":"x","n":[1,2.5e3,true,null]}}"#
    }
}

@Suite("verify")
struct VerifyTests {
    func audit(_ archive: TemporaryArchive, expected: [String], failOnDuplicates: Bool = false) async throws -> VerificationReport {
        var audit = DeliveryAudit(expected: expected)
        let source = LocalArchiveSource(root: archive.root)
        try await source.scan(into: &audit)
        return audit.report(sources: [source.name], idsFile: "ids.txt", failOnDuplicates: failOnDuplicates)
    }

    @Test("known missing, duplicated, unexpected ids and a corrupt line give exact counts")
    func fabricated() async throws {
        let archive = try TemporaryArchive()
        let partition = "team=web/app=clicks/dt=2026-11-22/hour=02/"
        // e0 … e99 expected. e0…e49 in file A; e50…e89 in file B, with e60 and e61 twice more (in file C);
        // e90…e94 missing; e95…e99 in file C. Plus 3 unexpected ids and one corrupt line.
        try archive.writeGzip(partition + "sluice-a.ndjson.gz", lines: (0..<50).map { TemporaryArchive.line("e\($0)") })
        try archive.writeGzip(partition + "sluice-b.ndjson.gz", lines: (50..<90).map { TemporaryArchive.line("e\($0)") })
        var linesC = (95..<100).map { TemporaryArchive.line("e\($0)") }
        linesC += [TemporaryArchive.line("e60"), TemporaryArchive.line("e61"), TemporaryArchive.line("e61")]
        linesC += ["x1", "x2", "x3"].map { TemporaryArchive.line($0) }
        linesC.append(#"{"v":1,"event_id":"e90","payload":{"broken":}"#) // corrupt: not counted as found
        linesC.append("") // blank lines are ignored
        try archive.writeGzip("team=web/app=clicks/dt=2026-11-22/hour=03/sluice-c.ndjson.gz", lines: linesC)
        // Not yet published: ignored.
        try archive.writeGzip(".staging/sluice-d.ndjson.gz.tmp", lines: [TemporaryArchive.line("e91")])
        try archive.writeGzip(".staging/sluice-e.ndjson.gz", lines: [TemporaryArchive.line("e92")])

        let expected = (0..<100).map { "e\($0)" }
        let report = try await audit(archive, expected: expected)
        #expect(report.filesRead == 3)
        #expect(report.expected == 100)
        #expect(report.found == 95)
        #expect(report.missing == 5)
        #expect(report.missingIds == ["e90", "e91", "e92", "e93", "e94"])
        #expect(report.duplicated == 2)
        #expect(report.extraCopies == 3)
        #expect(report.duplicatedIds.map(\.eventId) == ["e61", "e60"])
        #expect(report.duplicatedIds.map(\.count) == [3, 2])
        #expect(report.duplicatedIds[0].locations.count == 3)
        #expect(report.unexpected == 3)
        #expect(report.unexpectedIds == ["x1", "x2", "x3"])
        #expect(report.corruptLines == 1)
        #expect(report.corruptFiles == 0)
        #expect(report.corrupt.first?.location == "team=web/app=clicks/dt=2026-11-22/hour=03/sluice-c.ndjson.gz:12")
        #expect(report.recordsRead == 50 + 40 + 12)
        #expect(!report.passed)
        #expect(report.exitCode == 1)
        let text = report.text()
        #expect(text.contains("result: FAILED (5 missing, 1 corrupt lines)"))
    }

    @Test("a complete archive passes; duplicates fail only with --fail-on-duplicates")
    func passing() async throws {
        let archive = try TemporaryArchive()
        try archive.writeGzip(
            "team=web/app=clicks/dt=2026-11-22/hour=02/sluice-1.ndjson.gz", lines: (0..<10).map { TemporaryArchive.line("id-\($0)") })
        try archive.writeGzip("team=web/app=other/dt=2026-11-22/hour=02/sluice-2.ndjson.gz", lines: [TemporaryArchive.line("id-3")])
        let expected = (0..<10).map { "id-\($0)" } + ["id-3"] // a repeated line in the ids file is ignored
        let report = try await audit(archive, expected: expected)
        #expect(report.passed)
        #expect(report.exitCode == 0)
        #expect(report.expected == 10)
        #expect(report.duplicateLinesInIdsFile == 1)
        #expect(report.found == 10)
        #expect(report.duplicated == 1)
        let strict = try await audit(archive, expected: expected, failOnDuplicates: true)
        #expect(!strict.passed)
    }

    @Test("dead letters under errors/ are reported separately and fail the verification")
    func deadLetters() async throws {
        let archive = try TemporaryArchive()
        try archive.writeGzip("team=web/app=clicks/dt=2026-11-22/hour=02/sluice-1.ndjson.gz", lines: [TemporaryArchive.line("ok-1")])
        let deadLetter =
            #"{"error_code":"MSG_SIZE_TOO_LARGE","error_message":"too big","sink":"kafka","route":"kafka:big","failed_at":"2026-11-22T02:55:31.123Z","attempts":[],"record":\#(TemporaryArchive.line("dead-1"))}"#
        try archive.writeGzip("errors/type=MSG_SIZE_TOO_LARGE/team=web/app=clicks/dt=2026-11-22/hour=02/sluice-2.ndjson.gz", lines: [deadLetter])
        let report = try await audit(archive, expected: ["ok-1", "dead-1"])
        #expect(report.found == 1)
        #expect(report.missing == 0)
        #expect(report.deadLettered == 1)
        #expect(report.deadLetteredIds.first?.reason == "MSG_SIZE_TOO_LARGE")
        #expect(report.unexpected == 0)
        #expect(!report.passed)
    }

    @Test("truncated and non-GZIP files are corrupt files; their whole lines still count")
    func corruptFiles() async throws {
        let archive = try TemporaryArchive()
        let lines = (0..<2000).map { TemporaryArchive.line("t-\($0)") }
        var input = ByteBuffer(string: lines.map { $0 + "\n" }.joined())
        let compressed = Array(try input.compress(with: .gzip()).readableBytesView)
        try archive.write("team=web/app=clicks/dt=2026-11-22/hour=02/sluice-trunc.ndjson.gz", bytes: Array(compressed.prefix(compressed.count - 20)))
        try archive.write("team=web/app=clicks/dt=2026-11-22/hour=02/sluice-junk.ndjson.gz", bytes: Array("not gzip at all, sorry".utf8))
        try archive.write("team=web/app=clicks/dt=2026-11-22/hour=02/sluice-empty.ndjson.gz", bytes: [])
        let report = try await audit(archive, expected: ["t-0", "t-1"])
        #expect(report.corruptFiles == 3)
        #expect(report.found == 2)
        #expect(report.corruptLines == 0)
        #expect(!report.passed)
    }

    @Test("gzip round trip, multi-member files and checksum damage")
    func gzip() throws {
        let text = Array(String(repeating: "hello sluice\n", count: 1000).utf8)
        let one = try Gzip.compress(text)
        #expect(try Gzip.decompress(one) == text)
        #expect(try Gzip.decompress(one + one) == text + text)
        var damaged = one
        damaged[damaged.count - 6] ^= 0xFF // the CRC
        #expect(throws: Gzip.DecodingError.self) { try Gzip.decompress(damaged) }
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test("archive lines: valid, dead letters, and every kind of corruption")
    func lines() {
        func parse(_ text: String, deadLetter: Bool = false) -> ArchiveLine {
            Array(text.utf8).withUnsafeBytes { ArchiveLine.parse($0, deadLetter: deadLetter) }
        }
        #expect(parse(TemporaryArchive.line("a")) == .event(id: "a"))
        #expect(parse(#"{"event_id":"caf\u00e9 \"q\""}"#) == .event(id: "café \"q\""))
        for bad in [
            "", "{", "[]", #"{"event_id":1}"#, #"{"v":1}"#, #"{"event_id":"a",}"#, #"{"event_id":"a"} x"#,
            #"{"event_id":"a","n":01}"#, "{\"event_id\":\"a\",\"s\":\"tab\there\"}", #"{"event_id":"a","n":1.}"#, #"{"event_id":"a\x"}"#,
            #"{"event_id":""}"#, "{\"event_id\":\"a\",\"b\":\"\u{FFFD}\"" + "}x",
        ] {
            if case .corrupt = parse(bad) {} else { Issue.record("accepted \(bad)") }
        }
        // Invalid UTF-8 inside a string.
        let invalid: [UInt8] = Array(#"{"event_id":"a","s":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let result = invalid.withUnsafeBytes { ArchiveLine.parse($0, deadLetter: false) }
        if case .corrupt = result {} else { Issue.record("accepted invalid UTF-8") }
        #expect(parse(#"{"error_code":"X","record":{"event_id":"d"}}"#, deadLetter: true) == .deadLetter(id: "d", reason: "X"))
    }

    @Test("JSON validation agrees with JSONSerialization on a sample")
    func differential() throws {
        let samples = [
            #"{"a":[1,-2,3.5e-7,0,-0.0,1E+2],"b":{"c":null,"d":true,"e":false},"f":"\u0041\n\/"}"#,
            #"[1,2,[3,[4,[5]]]]"#, #"{"a":"\ud83d\ude00"}"#, " { } ", "[-]", #"{"a" 1}"#, "[.5]", "[1e]", "nul", "[\"\\q\"]",
            "\"x\"", "[\"\u{7F}\"]",
        ]
        for sample in samples {
            let ours = Array(sample.utf8).withUnsafeBytes { bytes in (try? EnvelopeScanner.validate(bytes, maxDepth: ArchiveLine.maximumDepth)) != nil
            }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(sample.utf8), options: [.fragmentsAllowed])) != nil
            #expect(ours == foundation, "\(sample)")
        }
    }

    @Test("strict where Foundation is lenient: trailing commas, leading zeros")
    func strict() {
        for sample in ["[1,]", #"{"a":1,}"#, "[01]", "[1 2]"] {
            let accepted = Array(sample.utf8).withUnsafeBytes { bytes in
                (try? EnvelopeScanner.validate(bytes, maxDepth: ArchiveLine.maximumDepth)) != nil
            }
            #expect(!accepted, "\(sample)")
        }
    }

    @Test("ids files: one per line, blank lines and whitespace ignored")
    func idsFile() {
        #expect(IDsFile.parse(Array("a\n\n b \r\nc".utf8)) == ["a", "b", "c"])
    }

    @Test("a missing archive directory is a source error")
    func missingArchive() async {
        var audit = DeliveryAudit(expected: ["a"])
        await #expect(throws: VerifyError.self) {
            try await LocalArchiveSource(root: "/nonexistent/sluice-archive").scan(into: &audit)
        }
    }
}
