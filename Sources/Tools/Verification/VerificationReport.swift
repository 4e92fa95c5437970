import Foundation

/// A damaged record or file.
public struct CorruptRecord: Sendable, Equatable, Codable {
    /// `file:line`, or the file.
    public var location: String
    /// What is wrong.
    public var reason: String
}

/// An expected id found only among the dead letters.
public struct DeadLetteredID: Sendable, Equatable, Codable {
    public var eventId: String
    /// Where the dead letter is.
    public var location: String
    /// The destination's error code.
    public var reason: String
}

/// An id found more than once.
public struct DuplicatedID: Sendable, Equatable, Codable {
    public var eventId: String
    /// How many copies.
    public var count: Int
    /// Where (the first few).
    public var locations: [String]
}

/// The outcome of `sluice verify`.
public struct VerificationReport: Sendable, Equatable, Codable {
    /// No expected id is missing or dead-lettered, no record is corrupt (and no duplicates, with --fail-on-duplicates).
    public var passed: Bool
    public var idsFile: String
    public var sources: [String]
    /// What a container is: `file` for the archive, `shard/partition` for streams and topics.
    public var containerNoun: String
    public var filesRead: Int
    public var recordsRead: Int
    /// Only ids with this prefix were considered (`--id-prefix`).
    public var idPrefix: String?
    /// Records skipped because their id lacks ``idPrefix``.
    public var otherRecords: Int
    /// Distinct expected ids.
    public var expected: Int
    public var duplicateLinesInIdsFile: Int
    /// Expected ids found at least once.
    public var found: Int
    /// Expected ids found nowhere (dead letters excluded).
    public var missing: Int
    /// The first missing ids, in the ids file's order.
    public var missingIds: [String]
    /// Expected ids found only among the dead letters (not delivered: they fail the verification too).
    public var deadLettered: Int
    public var deadLetteredIds: [DeadLetteredID]
    /// Dead-letter records read.
    public var deadLetterRecords: Int
    /// Ids delivered more than once.
    public var duplicated: Int
    /// Copies beyond the first, summed.
    public var extraCopies: Int
    public var duplicatedIds: [DuplicatedID]
    /// Ids delivered but not expected (informational: e.g. events of another run, or acknowledged too late to be listed).
    public var unexpected: Int
    public var unexpectedIds: [String]
    public var corruptLines: Int
    public var corruptFiles: Int
    public var corrupt: [CorruptRecord]
    public var failOnDuplicates: Bool

    /// The exit code: 0 when passed, 1 otherwise.
    public var exitCode: Int32 { passed ? 0 : 1 }

    private var pluralContainerNoun: String { containerNoun.split(separator: "/").map { $0 + "s" }.joined(separator: "/") }

    /// The report for a person.
    public func text() -> String {
        var out = "verify: \(expected) expected ids from \(idsFile)"
        if duplicateLinesInIdsFile > 0 { out += " (\(duplicateLinesInIdsFile) repeated lines ignored)" }
        out +=
            "\n        against \(sources.joined(separator: ", ")): \(filesRead) \(filesRead == 1 ? containerNoun : pluralContainerNoun), \(recordsRead) records"
        if let idPrefix { out += " (\(otherRecords) without the id prefix '\(idPrefix)' skipped)" }
        out += "\n"
        var rows: [(String, String)] = [
            ("found", "\(found)"),
            ("missing", "\(missing)"),
        ]
        if deadLettered > 0 || deadLetterRecords > 0 {
            rows.append(("dead-lettered", "\(deadLettered) expected ids only in the error prefix (\(deadLetterRecords) dead-letter records)"))
        }
        rows.append(
            ("duplicated", duplicated == 0 ? "0" : "\(duplicated) ids (\(extraCopies) extra copies)\(failOnDuplicates ? "" : ", reported only")"))
        rows.append(("unexpected", unexpected == 0 ? "0" : "\(unexpected) ids in the archive but not in the ids file (informational)"))
        rows.append(("corrupt", "\(corruptLines) line\(corruptLines == 1 ? "" : "s"), \(corruptFiles) file\(corruptFiles == 1 ? "" : "s")"))
        let width = rows.map(\.0.count).max() ?? 0
        for (label, value) in rows { out += "  " + label + String(repeating: " ", count: width - label.count + 2) + value + "\n" }
        if !missingIds.isEmpty {
            out += "missing ids\(missing > missingIds.count ? " (first \(missingIds.count) of \(missing))" : ""):\n"
            for id in missingIds { out += "  \(id)\n" }
        }
        if !deadLetteredIds.isEmpty {
            out += "dead-lettered ids\(deadLettered > deadLetteredIds.count ? " (first \(deadLetteredIds.count) of \(deadLettered))" : ""):\n"
            for item in deadLetteredIds { out += "  \(item.eventId)  \(item.reason)  at \(item.location)\n" }
        }
        if !duplicatedIds.isEmpty {
            out += "duplicated ids\(duplicated > duplicatedIds.count ? " (first \(duplicatedIds.count) of \(duplicated))" : ""):\n"
            for item in duplicatedIds { out += "  \(item.eventId) ×\(item.count)  at \(item.locations.joined(separator: ", "))\n" }
        }
        if !unexpectedIds.isEmpty {
            out += "unexpected ids\(unexpected > unexpectedIds.count ? " (first \(unexpectedIds.count) of \(unexpected))" : ""):\n"
            for id in unexpectedIds { out += "  \(id)\n" }
        }
        if !corrupt.isEmpty {
            out += "corrupt\(corruptLines + corruptFiles > corrupt.count ? " (first \(corrupt.count))" : ""):\n"
            for item in corrupt { out += "  \(item.location): \(item.reason)\n" }
        }
        out += passed ? "result: OK\n" : "result: FAILED (\(failureReasons().joined(separator: ", ")))\n"
        return out
    }

    func failureReasons() -> [String] {
        var reasons: [String] = []
        if missing > 0 { reasons.append("\(missing) missing") }
        if deadLettered > 0 { reasons.append("\(deadLettered) dead-lettered") }
        if corruptLines > 0 { reasons.append("\(corruptLines) corrupt lines") }
        if corruptFiles > 0 { reasons.append("\(corruptFiles) corrupt files") }
        if failOnDuplicates && duplicated > 0 { reasons.append("\(duplicated) duplicated") }
        return reasons
    }

    /// The report as JSON (snake_case keys).
    public func json() throws(VerifyError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        } catch {
            throw VerifyError(.output, "cannot encode the JSON report: \(error)")
        }
    }
}
