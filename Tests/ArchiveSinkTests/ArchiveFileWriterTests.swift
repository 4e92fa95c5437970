import Foundation
import Testing

@testable import ArchiveSink

/// The publishing step's durability checks: a directory sync that fails is an error, never ignored.
@Suite("Archive file writer")
struct ArchiveFileWriterTests {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    @Test("a directory that cannot be opened for its sync is an error")
    func syncFailureIsAnError() throws {
        let root = try temporaryDirectory()
        #expect(throws: ArchiveError.self) { try ArchiveFileWriter.syncDirectory(root + "/missing") }
        #expect(throws: Never.self) { try ArchiveFileWriter.syncDirectory(root) }
    }

    @Test("new partition directories are created (and their parents synced) before the file is published")
    func publishesIntoNewDirectories() throws {
        let root = try temporaryDirectory()
        let writer = ArchiveFileWriter(root: root)
        let bytes: [UInt8] = Array("line\n".utf8)
        try bytes.withUnsafeBytes { try writer.publish($0, relativePath: "team=a/app=b/dt=2026-12-01/hour=23/f.ndjson.gz") }
        let published = try Data(contentsOf: URL(fileURLWithPath: root + "/team=a/app=b/dt=2026-12-01/hour=23/f.ndjson.gz"))
        #expect(Array(published) == bytes)
    }

    @Test("a partition path that cannot become a directory fails the publish")
    func blockedDirectoryFails() throws {
        let root = try temporaryDirectory()
        #expect(FileManager.default.createFile(atPath: root + "/team=a", contents: Data("not a directory".utf8)))
        let writer = ArchiveFileWriter(root: root)
        #expect(throws: ArchiveError.self) {
            try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try writer.publish($0, relativePath: "team=a/app=b/f.gz") }
        }
    }
}
