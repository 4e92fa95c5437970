internal import Foundation

extension DeadLetter {
    /// `{"count":total,"dead_letters":[…]}`: what the HTTP API and `sluice dlq` show (`letters` may be the first
    /// `limit` of `total`).
    public static func listJSON(_ letters: [DeadLetter], total: Int? = nil) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let items = letters.compactMap { try? encoder.encode($0) }
        var out = Array(#"{"count":"#.utf8) + Array(String(total ?? letters.count).utf8) + Array(#","dead_letters":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += item
        }
        out += Array("]}".utf8)
        return out
    }

    /// One dead letter's JSON (as stored).
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map(Array.init) ?? Array("{}".utf8)
    }

    /// The dead letter as messages of at most `maxBytes` of JSON each, for a destination with a size limit (a Kafka
    /// message, a Kinesis record): itself when it fits, else its records split into consecutive parts (each with the
    /// dead letter's id and metadata, its own sequence range, `part` and `parts`). A record too large on its own is
    /// sent as its metadata only, with `records_omitted: 1`; the gateway's store keeps it whole.
    public func parts(fittingIn maxBytes: Int) -> [[UInt8]] {
        let whole = json
        guard whole.count > maxBytes, !records.isEmpty else { return [whole] }
        var groups: [ArraySlice<SubscriptionRecord>] = []
        split(records[...], maxBytes: maxBytes, into: &groups)
        return groups.enumerated().map { index, group in
            var part = self
            part.records = Array(group)
            part.part = index + 1
            part.parts = groups.count
            if let first = group.first, let last = group.last {
                part.firstSequence = first.sequence
                part.lastSequence = last.sequence
                part.firstReceivedAtMillis = first.receivedAtMillis
                part.lastReceivedAtMillis = last.receivedAtMillis
            }
            var encoded = part.json
            if encoded.count > maxBytes {
                part.records = []
                part.recordsOmitted = group.count
                encoded = part.json
            }
            return encoded
        }
    }

    /// Halves `records` until each group's dead letter fits in `maxBytes` (a single record always makes a group).
    private func split(_ records: ArraySlice<SubscriptionRecord>, maxBytes: Int, into groups: inout [ArraySlice<SubscriptionRecord>]) {
        var probe = self
        probe.records = Array(records)
        probe.part = Int.max
        probe.parts = Int.max
        if records.count <= 1 || probe.json.count <= maxBytes {
            groups.append(records)
            return
        }
        let middle = records.startIndex + records.count / 2
        split(records[..<middle], maxBytes: maxBytes, into: &groups)
        split(records[middle...], maxBytes: maxBytes, into: &groups)
    }
}
