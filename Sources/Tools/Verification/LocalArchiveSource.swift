public import ArchiveReading

/// The gateway's local archive as a ``DeliveredEventSource``: a directory tree of GZIP NDJSON files
/// (`team=…/app=…/dt=…/hour=…/sluice-….ndjson.gz`), each line `{"v":1,"event_id":…,…}`, read with
/// `ArchiveReading.ArchiveDirectory` (every GZIP member's CRC-32 and length checked).
///
/// Files under `.staging/` (not yet published) are skipped. Files under the error prefix (`errors/` by default)
/// hold dead letters, `{"error_code":…,"record":{envelope}}`, reported as such. A damaged file is reported as a
/// corrupt container naming it; the whole lines decoded before the damage still count.
public struct LocalArchiveSource: DeliveredEventSource {
    /// The archive directory read.
    public let archive: ArchiveDirectory

    /// The archive's root directory.
    public var root: String { archive.root }
    /// The error prefix directory, relative to the root (`errors`).
    public var errorPrefix: String { archive.errorPrefix }

    /// A source reading the archive under `root`, dead letters under `errorPrefix`.
    public init(root: String, errorPrefix: String = "errors") {
        archive = ArchiveDirectory(root: root, errorPrefix: errorPrefix)
    }

    public var name: String { "archive \(root)" }

    /// The archive files, sorted: data files and dead-letter files, as paths relative to the root.
    /// - Throws: ``VerifyError`` when the root is not a readable directory.
    public func listFiles() throws(VerifyError) -> (data: [String], deadLetters: [String]) {
        do {
            let listing = try archive.listFiles()
            return (listing.data, listing.deadLetters)
        } catch {
            switch error.code {
            case .missingDirectory:
                throw VerifyError(
                    .source, "the archive directory \(root) does not exist (the gateway writes it under archive.root, ./data/archive by default)")
            case .notADirectory:
                throw VerifyError(.source, "\(root) is not a directory; give the archive's root directory")
            default:
                throw VerifyError(.source, error.description)
            }
        }
    }

    public func scan(into audit: inout DeliveryAudit) async throws(VerifyError) {
        let files = try listFiles()
        for file in files.data { read(file, deadLetters: false, into: &audit) }
        for file in files.deadLetters { read(file, deadLetters: true, into: &audit) }
    }

    /// Reads one archive file into `audit`.
    func read(_ relativePath: String, deadLetters: Bool, into audit: inout DeliveryAudit) {
        let container = audit.openContainer(relativePath)
        let text: [UInt8]
        do {
            text = try archive.contents(of: relativePath)
        } catch {
            audit.corruptContainer(container, reason: error.reason)
            Self.readLines(error.partialLines[...], container: container, deadLetters: deadLetters, into: &audit)
            return
        }
        Self.readLines(text[...], container: container, deadLetters: deadLetters, into: &audit)
    }

    /// Validates and reports each non-blank line.
    static func readLines(_ text: ArraySlice<UInt8>, container: Int, deadLetters: Bool, into audit: inout DeliveryAudit) {
        text.withUnsafeBytes { bytes in
            var lineNumber = 0
            var start = 0
            while start < bytes.count {
                lineNumber += 1
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                switch ArchiveLine.parse(line, deadLetter: deadLetters) {
                case .event(let id):
                    audit.delivered(id, container: container, position: lineNumber)
                case .deadLetter(let id, let reason):
                    audit.deadLettered(id, container: container, position: lineNumber, reason: reason)
                case .corrupt(let reason):
                    audit.corruptRecord(container: container, position: lineNumber, reason: reason)
                }
            }
        }
    }
}
