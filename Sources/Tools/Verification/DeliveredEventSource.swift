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
