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
        let failed =
            missingCount > 0 || deadLetteredCount > 0 || corruptLines > 0 || corruptContainers > 0
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
