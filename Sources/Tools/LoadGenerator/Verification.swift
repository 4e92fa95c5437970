import Foundation

/// A place where verify read delivered events: every archive file is one source of `(event_id, location)` pairs.
///
/// Each destination gets its own implementation: ``LocalArchiveSource`` today; a Kinesis stream (one container per
/// shard, positions = sequence numbers), a Kafka topic (per partition, offsets) or an S3 prefix (per object, lines)
/// later. A source reports what it reads to a ``DeliveryAudit`` and never decides what is missing.
public protocol DeliveredEventSource: Sendable {
    /// How the source is named in reports (`archive /data/archive`).
    var name: String { get }
    /// Reads every record and reports each to `audit`.
    /// - Throws: ``VerifyError`` when the source cannot be read at all (damaged records are reported, not thrown).
    func scan(into audit: inout DeliveryAudit) async throws(VerifyError)
}

/// Where an event was seen: a container (file, shard, partition) and a position in it (line, sequence, offset).
public struct EventLocation: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// The file, shard or partition.
    public var container: String
    /// The line number (1-based), sequence number or offset.
    public var position: Int

    public init(container: String, position: Int) {
        self.container = container
        self.position = position
    }

    public var description: String { "\(container):\(position)" }
}

/// Accumulates what sources report and compares it with the expected ids.
public struct DeliveryAudit: Sendable {
    struct Sighting: Sendable {
        var count: Int32
        var container: Int32
        var position: Int
        /// Further locations of a duplicated id (the first few).
        var more: [EventLocation] = []
    }

    /// Expected ids in the ids file's order (duplicates in the file removed).
    let expected: [String]
    let expectedSet: Set<String>
    /// Ids listed more than once in the ids file.
    public private(set) var duplicateExpectedLines = 0
    var containers: [String] = []
    var delivered: [String: Sighting] = [:]
    var deadLetters: [String: (location: EventLocation, reason: String)] = [:]
    var corrupt: [CorruptRecord] = []
    /// Damaged lines.
    public private(set) var corruptLines = 0
    /// Damaged containers (files that are not sound GZIP, unreadable files).
    public private(set) var corruptContainers = 0
    /// Lines (records) read, valid or not.
    public private(set) var recordsRead = 0
    /// Dead-letter records read.
    public private(set) var deadLetterRecords = 0
    /// Containers opened.
    public var containersRead: Int { containers.count }
    /// When set, records whose id does not start with it are skipped (another run's events).
    public let idPrefix: String?
    /// Records skipped because of ``idPrefix``.
    public private(set) var otherRecords = 0

    /// Starts an audit of `expected` ids; with `idPrefix`, only records whose id starts with it are considered.
    public init(expected: [String], idPrefix: String? = nil) {
        self.idPrefix = idPrefix.flatMap { $0.isEmpty ? nil : $0 }
        var seen = Set<String>()
        var ordered: [String] = []
        ordered.reserveCapacity(expected.count)
        var duplicates = 0
        for id in expected {
            if seen.insert(id).inserted { ordered.append(id) } else { duplicates += 1 }
        }
        self.expected = ordered
        self.expectedSet = seen
        self.duplicateExpectedLines = duplicates
    }

    /// Registers a container (file, shard…) and returns its number for ``delivered(_:container:position:)``.
    public mutating func openContainer(_ name: String) -> Int {
        containers.append(name)
        return containers.count - 1
    }

    /// An event `id` was found at `position` of container `container`.
    public mutating func delivered(_ id: String, container: Int, position: Int) {
        recordsRead += 1
        if let idPrefix, !id.hasPrefix(idPrefix) {
            otherRecords += 1
            return
        }
        if var sighting = delivered[id] {
            sighting.count += 1
            if sighting.more.count < 4 { sighting.more.append(location(container, position)) }
            delivered[id] = sighting
        } else {
            delivered[id] = Sighting(count: 1, container: Int32(container), position: position)
        }
    }

    /// An event `id` was found among the dead letters (records the destination rejected for good), with the reason.
    public mutating func deadLettered(_ id: String, container: Int, position: Int, reason: String) {
        recordsRead += 1
        if let idPrefix, !id.hasPrefix(idPrefix) {
            otherRecords += 1
            return
        }
        deadLetterRecords += 1
        if deadLetters[id] == nil { deadLetters[id] = (location(container, position), reason) }
    }

    /// A record that is not valid.
    public mutating func corruptRecord(container: Int, position: Int, reason: String) {
        recordsRead += 1
        corruptLines += 1
        if corrupt.count < 20 { corrupt.append(CorruptRecord(location: location(container, position).description, reason: reason)) }
    }

    /// A whole container that is damaged (its readable records, if any, are reported separately).
    public mutating func corruptContainer(_ container: Int, reason: String) {
        corruptContainers += 1
        if corrupt.count < 20 { corrupt.append(CorruptRecord(location: containers[container], reason: reason)) }
    }

    func location(_ container: Int, _ position: Int) -> EventLocation {
        EventLocation(container: containers.indices.contains(container) ? containers[container] : "?", position: position)
    }

    /// The verdict.
    /// - Parameters:
    ///   - sources: the names of the sources read.
    ///   - idsFile: where the expected ids came from.
    ///   - failOnDuplicates: whether duplicates fail the verification.
    ///   - sampleSize: how many ids each list shows.
    ///   - containerNoun: what a container is called in the text report (`file`, `shard/partition`).
    public func report(
        sources: [String], idsFile: String, failOnDuplicates: Bool = false, sampleSize: Int = 20, containerNoun: String = "file"
    ) -> VerificationReport {
        var missing: [String] = []
        var missingCount = 0
        var deadLettered: [DeadLetteredID] = []
        var deadLetteredCount = 0
        var found = 0
        for id in expected {
            if delivered[id] != nil {
                found += 1
            } else if let letter = deadLetters[id] {
                deadLetteredCount += 1
                if deadLettered.count < sampleSize {
                    deadLettered.append(DeadLetteredID(eventId: id, location: letter.location.description, reason: letter.reason))
                }
            } else {
                missingCount += 1
                if missing.count < sampleSize { missing.append(id) }
            }
        }
        var duplicates: [DuplicatedID] = []
        var duplicatedCount = 0
        var extraCopies = 0
        var unexpected: [String] = []
        var unexpectedCount = 0
        for (id, sighting) in delivered {
            if sighting.count > 1 {
                duplicatedCount += 1
                extraCopies += Int(sighting.count) - 1
                let locations = [location(Int(sighting.container), sighting.position)] + sighting.more
                duplicates.append(DuplicatedID(eventId: id, count: Int(sighting.count), locations: locations.map(\.description)))
            }
            if !expectedSet.contains(id) {
                unexpectedCount += 1
                unexpected.append(id)
            }
        }
        duplicates.sort { $0.count != $1.count ? $0.count > $1.count : $0.eventId < $1.eventId }
        unexpected.sort()
        let failed = missingCount > 0 || deadLetteredCount > 0 || corruptLines > 0 || corruptContainers > 0
            || (failOnDuplicates && duplicatedCount > 0)
        return VerificationReport(
            passed: !failed,
            idsFile: idsFile,
            sources: sources,
            containerNoun: containerNoun,
            filesRead: containers.count,
            recordsRead: recordsRead,
            idPrefix: idPrefix,
            otherRecords: otherRecords,
            expected: expected.count,
            duplicateLinesInIdsFile: duplicateExpectedLines,
            found: found,
            missing: missingCount,
            missingIds: missing,
            deadLettered: deadLetteredCount,
            deadLetteredIds: deadLettered,
            deadLetterRecords: deadLetterRecords,
            duplicated: duplicatedCount,
            extraCopies: extraCopies,
            duplicatedIds: Array(duplicates.prefix(sampleSize)),
            unexpected: unexpectedCount,
            unexpectedIds: Array(unexpected.prefix(sampleSize)),
            corruptLines: corruptLines,
            corruptFiles: corruptContainers,
            corrupt: corrupt,
            failOnDuplicates: failOnDuplicates
        )
    }
}

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
        out += "\n        against \(sources.joined(separator: ", ")): \(filesRead) \(filesRead == 1 ? containerNoun : pluralContainerNoun), \(recordsRead) records"
        if let idPrefix { out += " (\(otherRecords) without the id prefix '\(idPrefix)' skipped)" }
        out += "\n"
        var rows: [(String, String)] = [
            ("found", "\(found)"),
            ("missing", "\(missing)"),
        ]
        if deadLettered > 0 || deadLetterRecords > 0 {
            rows.append(("dead-lettered", "\(deadLettered) expected ids only in the error prefix (\(deadLetterRecords) dead-letter records)"))
        }
        rows.append(("duplicated", duplicated == 0 ? "0" : "\(duplicated) ids (\(extraCopies) extra copies)\(failOnDuplicates ? "" : ", reported only")"))
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

/// Reads an ids file: one id per line; blank lines and surrounding whitespace ignored.
public enum IDsFile {
    /// The ids in `path`.
    /// - Throws: ``VerifyError`` when the file cannot be read.
    public static func read(_ path: String) throws(VerifyError) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw VerifyError(
                .idsFile, exists ? "cannot read the ids file \(path) (permissions?)" : "the ids file \(path) does not exist (write it with sluice bench --ids \(path))"
            )
        }
        return parse(Array(data))
    }

    /// The ids in `bytes`.
    public static func parse(_ bytes: [UInt8]) -> [String] {
        var ids: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var slice = line[...]
            while let first = slice.first, first == 0x20 || first == 0x09 || first == 0x0D { slice = slice.dropFirst() }
            while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0D { slice = slice.dropLast() }
            if !slice.isEmpty { ids.append(String(decoding: slice, as: UTF8.self)) }
        }
        return ids
    }
}
