public import Delivery
public import GatewayCore
public import NIOCore

/// One archive file to publish: its path under the root, its NDJSON lines (uncompressed) and the records in it.
public struct ArchiveRequest: Sendable {
    /// Where the file goes, relative to the archive's root.
    public var relativePath: String
    /// One envelope per line, each ending in `\n`.
    public var lines: ByteBuffer
    /// The log sequences of the records in the file, in order.
    public var sequences: [UInt64]
}

/// Turns one partition's batch of records into an ``ArchiveRequest``: the partition directory from the template, a
/// unique time-ordered file name, the envelopes as NDJSON.
public struct ArchiveRequestBuilder: RequestBuilder {
    /// Renders the partition directory.
    public var partitionTemplate: PartitionTemplate

    public init(partitionTemplate: PartitionTemplate) {
        self.partitionTemplate = partitionTemplate
    }

    /// A record's line: its envelope and the newline.
    public func size(of record: SinkRecord) -> Int {
        record.event.envelope.count + 1
    }

    /// The file for `records`, which all belong to one partition (the first one's team, app and hour name it).
    public func makeRequest(for records: [SinkRecord]) -> ArchiveRequest {
        var lines = ByteBuffer()
        lines.reserveCapacity(records.reduce(0) { $0 + size(of: $1) })
        for record in records {
            lines.writeBytes(record.event.envelope)
            lines.writeInteger(UInt8(ascii: "\n"))
        }
        let first = records.first
        let directory =
            first.map {
                partitionTemplate.render(team: $0.event.team, app: $0.event.app, millis: $0.event.receivedAtMillis)
            } ?? ""
        return ArchiveRequest(
            relativePath: directory + Self.fileName(firstSequence: first?.sequence ?? 0),
            lines: lines,
            sequences: records.map(\.sequence)
        )
    }

    /// A unique, time-ordered file name: publish time, first sequence, random suffix.
    static func fileName(firstSequence: UInt64) -> String {
        var out: [UInt8] = Array("sluice-".utf8)
        let civil = Timestamp.civil(millis: Timestamp.nowMillis())
        Timestamp.appendDigits(civil.year, width: 4, to: &out)
        Timestamp.appendDigits(civil.month, width: 2, to: &out)
        Timestamp.appendDigits(civil.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        Timestamp.appendDigits(civil.hour, width: 2, to: &out)
        Timestamp.appendDigits(civil.minute, width: 2, to: &out)
        Timestamp.appendDigits(civil.second, width: 2, to: &out)
        Timestamp.appendDigits(civil.millisecond, width: 3, to: &out)
        out.append(contentsOf: "Z-".utf8)
        Timestamp.appendDigits(Int(truncatingIfNeeded: firstSequence), width: 12, to: &out)
        out.append(UInt8(ascii: "-"))
        let random = UInt32.random(in: .min ... .max)
        let hex = Array("0123456789abcdef".utf8)
        for shift in stride(from: 28, through: 0, by: -4) { out.append(hex[Int((random >> UInt32(shift)) & 0xF)]) }
        out.append(contentsOf: ".ndjson.gz".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
