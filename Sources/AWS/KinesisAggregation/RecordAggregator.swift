/// Constants of the KPL aggregated record format
/// (`magic ‖ protobuf AggregatedRecord ‖ MD5(protobuf)`).
public enum AggregationFormat {
    /// The four bytes every aggregated record starts with.
    public static let magic: [UInt8] = [0xF3, 0x89, 0x9A, 0xC2]
    /// Length of the trailing MD5 checksum.
    public static let checksumSize = 16
    /// Bytes an aggregate adds around its protobuf body (magic + MD5).
    public static let overhead = magic.count + checksumSize
    /// KPL default `AggregationMaxSize`.
    public static let defaultMaxBytes = 51_200

    /// The trailing checksum of an aggregated record: MD5 of the protobuf body.
    public static func checksum(of body: [UInt8]) -> [UInt8] {
        ShardHashing.md5(body)
    }
}

/// Builds one KPL aggregated record from user records, up to a size limit.
///
/// Usage by a producer (the KPL's scheme):
/// - Only put records that map to the same shard into one aggregator (group by
///   `ShardHashing.effectiveHashKey(of:)` against the shard map). Kinesis routes the whole
///   aggregate by `explicitHashKey` (the first record's hash key), so a record of another
///   shard would be stored on the first record's shard.
/// - When `append` returns `false` on a non-empty aggregator, send the aggregate
///   (`encode()`, `partitionKey`, `explicitHashKey`), `reset()`, and append again.
/// - When `append` returns `false` on an EMPTY aggregator, the record alone exceeds
///   `maxBytes` once wrapped: the aggregator never holds it; send it un-aggregated
///   (its own partition key, explicit hash key and raw data), as the KPL does.
/// - With `count == 1` the producer may also send the single record un-aggregated.
public struct RecordAggregator: Sendable {
    private struct Entry: Sendable {
        var partitionKeyIndex: Int
        var explicitHashKeyIndex: Int?
        var data: [UInt8]
    }

    /// Limit for the whole aggregated record (magic + protobuf + MD5), in bytes.
    public let maxBytes: Int

    private var partitionKeys: [String] = []
    // Tables are keyed by UTF-8 bytes, not `String`: Swift's String equality is canonical
    // equivalence ("é" == "e\u{301}"), but Kinesis hashes the exact bytes.
    private var partitionKeyIndex: [[UInt8]: Int] = [:]
    private var explicitHashKeys: [String] = []
    private var explicitHashKeyIndex: [[UInt8]: Int] = [:]
    private var entries: [Entry] = []
    /// Exact size of the protobuf body.
    private var bodySize = 0
    private var firstRecordHashKey: String?

    /// - Parameter maxBytes: limit for the whole aggregated record including magic and MD5
    ///   (KPL default 51,200). Kinesis itself allows 1 MiB of data + partition key per record.
    public init(maxBytes: Int = AggregationFormat.defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    /// Number of user records in the aggregate.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Current exact size of `encode()`.
    public var size: Int { AggregationFormat.overhead + bodySize }

    /// Size `encode()` would have if `record` were added (exact, for batching decisions).
    public func size(adding record: UserRecord) -> Int {
        AggregationFormat.overhead + bodySize + growth(adding: record)
    }

    /// Adds `record` if the aggregate stays within `maxBytes`; returns false (and adds
    /// nothing) otherwise, including for a record too big to fit even alone — see the type's
    /// documentation for what the producer does then.
    public mutating func append(_ record: UserRecord) -> Bool {
        let added = growth(adding: record)
        guard AggregationFormat.overhead + bodySize + added <= maxBytes else { return false }

        let pkBytes = Array(record.partitionKey.utf8)
        let pkIndex: Int
        if let existing = partitionKeyIndex[pkBytes] {
            pkIndex = existing
        } else {
            pkIndex = partitionKeys.count
            partitionKeys.append(record.partitionKey)
            partitionKeyIndex[pkBytes] = pkIndex
        }
        var ehkIndex: Int?
        if let ehk = record.explicitHashKey {
            let ehkBytes = Array(ehk.utf8)
            if let existing = explicitHashKeyIndex[ehkBytes] {
                ehkIndex = existing
            } else {
                ehkIndex = explicitHashKeys.count
                explicitHashKeys.append(ehk)
                explicitHashKeyIndex[ehkBytes] = ehkIndex
            }
        }
        if entries.isEmpty {
            firstRecordHashKey =
                record.explicitHashKey
                ?? ShardHashing.decimalString(ShardHashing.hashKey(record.partitionKey))
        }
        entries.append(Entry(partitionKeyIndex: pkIndex, explicitHashKeyIndex: ehkIndex, data: record.data))
        bodySize += added
        return true
    }

    /// Partition key for the PutRecord(s) request of the aggregate: the first user record's
    /// key (as the KPL does); nil when empty. Routing is decided by `explicitHashKey`.
    public var partitionKey: String? {
        entries.first.map { partitionKeys[$0.partitionKeyIndex] }
    }

    /// ExplicitHashKey for the PutRecord(s) request of the aggregate (decimal string): the first
    /// user record's explicit hash key, or the MD5 of its partition key, so the aggregate lands
    /// on the shard of its records (as the KPL does); nil when empty.
    public var explicitHashKey: String? { firstRecordHashKey }

    /// The user records currently held, in order.
    public var records: [UserRecord] {
        entries.map {
            UserRecord(
                partitionKey: partitionKeys[$0.partitionKeyIndex],
                explicitHashKey: $0.explicitHashKeyIndex.map { explicitHashKeys[$0] },
                data: $0.data)
        }
    }

    /// The aggregated record's bytes: magic ‖ protobuf AggregatedRecord ‖ MD5(protobuf).
    /// With a single record, callers may send that record un-aggregated instead (KPL does).
    /// An empty aggregator encodes to magic ‖ MD5("") (zero records).
    public func encode() -> [UInt8] {
        var writer = ProtobufWriter(capacity: AggregationFormat.overhead + bodySize)
        writer.bytes.append(contentsOf: AggregationFormat.magic)
        // Fields in field-number order, as protobuf serializers (and the KPL) emit them.
        for key in partitionKeys { writer.writeStringField(1, key) }
        for key in explicitHashKeys { writer.writeStringField(2, key) }
        for entry in entries {
            writer.writeTag(field: 3, wireType: .lengthDelimited)
            writer.writeVarint(UInt64(Self.recordMessageSize(entry)))
            writer.writeVarintField(1, UInt64(entry.partitionKeyIndex))
            if let ehkIndex = entry.explicitHashKeyIndex {
                writer.writeVarintField(2, UInt64(ehkIndex))
            }
            writer.writeBytesField(3, entry.data)
        }
        let body = writer.bytes[AggregationFormat.magic.count...]
        assert(body.count == bodySize, "size bookkeeping out of sync with encoding")
        writer.bytes.append(contentsOf: ShardHashing.md5(body))
        return writer.bytes
    }

    public mutating func reset() {
        partitionKeys.removeAll(keepingCapacity: true)
        partitionKeyIndex.removeAll(keepingCapacity: true)
        explicitHashKeys.removeAll(keepingCapacity: true)
        explicitHashKeyIndex.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        bodySize = 0
        firstRecordHashKey = nil
    }

    // MARK: - Size bookkeeping

    /// Bytes the protobuf body grows by when `record` is added.
    private func growth(adding record: UserRecord) -> Int {
        var size = 0
        let pkIndex: Int
        if let existing = partitionKeyIndex[Array(record.partitionKey.utf8)] {
            pkIndex = existing
        } else {
            pkIndex = partitionKeys.count
            size += ProtobufWire.lengthDelimitedFieldSize(payload: record.partitionKey.utf8.count)
        }
        var ehkIndex: Int?
        if let ehk = record.explicitHashKey {
            if let existing = explicitHashKeyIndex[Array(ehk.utf8)] {
                ehkIndex = existing
            } else {
                ehkIndex = explicitHashKeys.count
                size += ProtobufWire.lengthDelimitedFieldSize(payload: ehk.utf8.count)
            }
        }
        let recordSize = Self.recordMessageSize(
            Entry(partitionKeyIndex: pkIndex, explicitHashKeyIndex: ehkIndex, data: []),
            dataCount: record.data.count)
        size += ProtobufWire.lengthDelimitedFieldSize(payload: recordSize)
        return size
    }

    private static func recordMessageSize(_ entry: Entry, dataCount: Int? = nil) -> Int {
        var size = ProtobufWire.varintFieldSize(entry.partitionKeyIndex)
        if let ehkIndex = entry.explicitHashKeyIndex {
            size += ProtobufWire.varintFieldSize(ehkIndex)
        }
        size += ProtobufWire.lengthDelimitedFieldSize(payload: dataCount ?? entry.data.count)
        return size
    }
}
