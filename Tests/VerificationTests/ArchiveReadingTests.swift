import ArchiveReading
import Foundation
import GatewayTesting
import Testing

@Suite("Reading the local archive (one reader for verify and the tests)")
struct ArchiveReadingTests {
    static let partition = "team=web/app=clicks/dt=2026-11-22/hour=02/"

    /// A GZIP member whose CRC-32 trailer is wrong but whose deflate stream is sound: a reader that skips the
    /// trailer checks would return its text as if nothing were wrong.
    static func crcDamaged(_ text: String) throws -> [UInt8] {
        var bytes = try Gzip.compress(Array(text.utf8))
        bytes[bytes.count - 8] ^= 0xFF
        return bytes
    }

    @Test("files are listed sorted, staging skipped, dead letters apart")
    func listing() throws {
        let archive = try TemporaryArchive()
        try archive.writeGzip(Self.partition + "sluice-b.ndjson.gz", lines: [TemporaryArchive.line("b")])
        try archive.writeGzip(Self.partition + "sluice-a.ndjson.gz", lines: [TemporaryArchive.line("a")])
        try archive.writeGzip(Self.partition + ".staging/sluice-c.ndjson.gz", lines: [TemporaryArchive.line("c")])
        try archive.writeGzip(".staging/sluice-d.ndjson.gz", lines: [TemporaryArchive.line("d")])
        try archive.writeGzip("errors/type=X/" + Self.partition + "sluice-e.ndjson.gz", lines: ["{}"])
        let listing = try ArchiveDirectory(root: archive.root + "/", errorPrefix: "errors/").listFiles()
        #expect(listing.data == [Self.partition + "sluice-a.ndjson.gz", Self.partition + "sluice-b.ndjson.gz"])
        #expect(listing.deadLetters == ["errors/type=X/" + Self.partition + "sluice-e.ndjson.gz"])
    }

    @Test("a CRC-32 mismatch is a damaged-file error naming the file")
    func crcMismatch() throws {
        let archive = try TemporaryArchive()
        let file = Self.partition + "sluice-crc.ndjson.gz"
        try archive.write(file, bytes: try Self.crcDamaged(TemporaryArchive.line("x") + "\n" + TemporaryArchive.line("y") + "\n"))
        let directory = ArchiveDirectory(root: archive.root)
        do {
            _ = try directory.contents(of: file)
            Issue.record("a file whose CRC-32 does not match was read as sound")
        } catch {
            #expect(error.code == .damaged)
            #expect(error.path == file)
            #expect(error.description.hasPrefix(file + ": "))
            // zlib itself refuses the member at its trailer, so nothing of it is offered as whole lines.
            #expect(error.partialLines.isEmpty || error.partialLines.last == UInt8(ascii: "\n"))
        }
    }

    @Test("a missing or non-directory root is an error with its own code")
    func missingRoot() throws {
        #expect(throws: ArchiveReadError.self) { try ArchiveDirectory(root: "/nonexistent/sluice-archive").listFiles() }
        do {
            _ = try ArchiveDirectory(root: "/nonexistent/sluice-archive").listFiles()
        } catch {
            #expect(error.code == .missingDirectory)
        }
    }

    @Test("the tests' ArchiveContents reads the same files and throws, naming the file, on a damaged one")
    func archiveContents() throws {
        let archive = try TemporaryArchive()
        try archive.writeGzip(Self.partition + "sluice-1.ndjson.gz", lines: [TemporaryArchive.line("ok-1"), TemporaryArchive.line("ok-2")])
        let dead = #"{"error_code":"X","record":"# + TemporaryArchive.line("dead-1") + "}"
        try archive.writeGzip("errors/type=X/" + Self.partition + "sluice-2.ndjson.gz", lines: [dead])
        let contents = try ArchiveContents.read(archive.root)
        #expect(contents.eventIDs == ["ok-1", "ok-2"])
        #expect(contents.errorLines.compactMap(\.eventID) == ["dead-1"])
        #expect(contents.files.count == 2)
        #expect(contents.corrupt.isEmpty)

        let damaged = Self.partition + "sluice-3.ndjson.gz"
        try archive.write(damaged, bytes: try Self.crcDamaged(TemporaryArchive.line("bad") + "\n"))
        do {
            _ = try ArchiveContents.read(archive.root)
            Issue.record("a damaged file was skipped")
        } catch {
            #expect(error.code == .damaged)
            #expect(error.path == damaged)
        }
        #expect(try ArchiveContents.read(archive.root + "/not-yet-created").files.isEmpty)
    }
}
