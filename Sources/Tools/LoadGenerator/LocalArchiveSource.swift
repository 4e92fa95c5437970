import Foundation

/// The gateway's local archive as a ``DeliveredEventSource``: a directory tree of GZIP NDJSON files
/// (`team=…/app=…/dt=…/hour=…/sluice-….ndjson.gz`), each line `{"v":1,"event_id":…,…}`.
///
/// Files under `.staging/` (not yet published) are skipped. Files under the error prefix (`errors/` by default)
/// hold dead letters, `{"error_code":…,"record":{envelope}}`, reported as such.
public struct LocalArchiveSource: DeliveredEventSource {
    /// The archive's root directory.
    public var root: String
    /// The error prefix directory, relative to the root (`errors`).
    public var errorPrefix: String

    public init(root: String, errorPrefix: String = "errors") {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.errorPrefix = errorPrefix.split(separator: "/").joined(separator: "/")
    }

    public var name: String { "archive \(root)" }

    /// The archive files, sorted: data files and dead-letter files, as paths relative to the root.
    /// - Throws: ``VerifyError`` when the root is not a readable directory.
    public func listFiles() throws(VerifyError) -> (data: [String], deadLetters: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw VerifyError(.source, "the archive directory \(root) does not exist (the gateway writes it under archive.root, ./data/archive by default)")
        }
        guard isDirectory.boolValue else { throw VerifyError(.source, "\(root) is not a directory; give the archive's root directory") }
        var data: [String] = []
        var deadLetters: [String] = []
        var directories = [""]
        while let relative = directories.popLast() {
            let path = relative.isEmpty ? root : root + "/" + relative
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw VerifyError(.source, "cannot list \(path): \(error.localizedDescription)")
            }
            for name in names.sorted() {
                let child = relative.isEmpty ? name : relative + "/" + name
                var childIsDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root + "/" + child, isDirectory: &childIsDirectory) else { continue }
                if childIsDirectory.boolValue {
                    if name == ".staging" { continue }
                    directories.append(child)
                } else if name.hasSuffix(".gz") {
                    let isDeadLetter = !errorPrefix.isEmpty && (child.hasPrefix(errorPrefix + "/"))
                    if isDeadLetter { deadLetters.append(child) } else { data.append(child) }
                }
            }
        }
        return (data.sorted(), deadLetters.sorted())
    }

    public func scan(into audit: inout DeliveryAudit) async throws(VerifyError) {
        let files = try listFiles()
        for file in files.data { Self.read(file, root: root, deadLetters: false, into: &audit) }
        for file in files.deadLetters { Self.read(file, root: root, deadLetters: true, into: &audit) }
    }

    /// Reads one archive file into `audit`.
    static func read(_ relativePath: String, root: String, deadLetters: Bool, into audit: inout DeliveryAudit) {
        let container = audit.openContainer(relativePath)
        guard let contents = FileManager.default.contents(atPath: root + "/" + relativePath) else {
            audit.corruptContainer(container, reason: "cannot read the file")
            return
        }
        let text: [UInt8]
        do {
            text = try Gzip.decompress(Array(contents))
        } catch {
            audit.corruptContainer(container, reason: error.reason)
            text = error.partial
            // Only whole lines of a damaged file are read; the last partial line is part of the damage.
            guard let lastNewline = text.lastIndex(of: UInt8(ascii: "\n")) else { return }
            readLines(text[...lastNewline], container: container, deadLetters: deadLetters, into: &audit)
            return
        }
        readLines(text[...], container: container, deadLetters: deadLetters, into: &audit)
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

/// One archive line, parsed.
public enum ArchiveLine: Equatable, Sendable {
    /// A delivered event.
    case event(id: String)
    /// A dead letter: the event and the destination's error code.
    case deadLetter(id: String, reason: String)
    /// Not valid.
    case corrupt(reason: String)

    /// Parses a data line (`{"v":1,"event_id":…}`) or, with `deadLetter`, an error line (`{"error_code":…,"record":{…}}`).
    public static func parse(_ line: UnsafeRawBufferPointer, deadLetter: Bool) -> ArchiveLine {
        do {
            if deadLetter {
                let fields = try JSONReader.topLevelFields(line, keys: ["error_code", "record"])
                guard let recordRange = fields["record"] else { return .corrupt(reason: "dead letter without a \"record\"") }
                let record = UnsafeRawBufferPointer(rebasing: line[recordRange])
                guard let idRange = try JSONReader.topLevelFields(record, keys: ["event_id"])["event_id"],
                    let id = JSONReader.decodeString(record, range: idRange), !id.isEmpty
                else { return .corrupt(reason: "dead letter's record has no string \"event_id\"") }
                let reason = fields["error_code"].flatMap { JSONReader.decodeString(line, range: $0) } ?? "unknown"
                return .deadLetter(id: id, reason: reason)
            }
            guard let idRange = try JSONReader.topLevelFields(line, keys: ["event_id"])["event_id"] else {
                return .corrupt(reason: "no \"event_id\"")
            }
            guard let id = JSONReader.decodeString(line, range: idRange), !id.isEmpty else {
                return .corrupt(reason: "\"event_id\" is not a non-empty string")
            }
            return .event(id: id)
        } catch {
            return .corrupt(reason: "invalid JSON: \(error)")
        }
    }
}
