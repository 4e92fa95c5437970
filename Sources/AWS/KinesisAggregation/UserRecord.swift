/// One user record to aggregate (or one record recovered by deaggregation).
public struct UserRecord: Sendable, Equatable, Hashable {
    /// The record's partition key (Kinesis allows 1...256 Unicode characters).
    public var partitionKey: String
    /// Optional explicit hash key: a decimal string in 0...2^128-1 that overrides
    /// the MD5 of the partition key for shard routing.
    public var explicitHashKey: String?
    /// The record's payload.
    public var data: [UInt8]

    public init(partitionKey: String, explicitHashKey: String? = nil, data: [UInt8]) {
        self.partitionKey = partitionKey
        self.explicitHashKey = explicitHashKey
        self.data = data
    }

    /// Byte-exact equality: keys compare by their UTF-8 bytes, not by Swift's canonical
    /// string equivalence, because Kinesis hashes and stores the exact bytes
    /// ("é" and "e\u{301}" are different partition keys).
    public static func == (lhs: UserRecord, rhs: UserRecord) -> Bool {
        lhs.data == rhs.data
            && lhs.partitionKey.utf8.elementsEqual(rhs.partitionKey.utf8)
            && optionalBytesEqual(lhs.explicitHashKey, rhs.explicitHashKey)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(data)
        hasher.combine(partitionKey.utf8.count)
        for byte in partitionKey.utf8 { hasher.combine(byte) }
        if let explicitHashKey {
            hasher.combine(true)
            for byte in explicitHashKey.utf8 { hasher.combine(byte) }
        } else {
            hasher.combine(false)
        }
    }

    private static func optionalBytesEqual(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case let (l?, r?): l.utf8.elementsEqual(r.utf8)
        default: false
        }
    }
}

/// Why an aggregated record could not be decoded.
public struct AggregationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, Hashable {
        /// The data starts with the KPL magic but the trailing MD5 does not match the protobuf bytes.
        case checksumMismatch
        /// The protobuf `AggregatedRecord` is malformed (truncated varint or field, bad wire type, ...).
        case malformedProtobuf
        /// A required protobuf field (`partition_key_index`, `data`) is missing.
        case missingRequiredField
        /// A record's key index points outside the partition/explicit hash key table.
        case indexOutOfRange
        /// A key table entry is not valid UTF-8.
        case invalidUTF8
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "AggregationError.\(kind): \(message)" }
}
