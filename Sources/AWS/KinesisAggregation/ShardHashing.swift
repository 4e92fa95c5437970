internal import Crypto

/// Partition key → hash key mapping as Kinesis does it, plus the decimal text form
/// Kinesis uses for `ExplicitHashKey` and shard `HashKeyRange` values.
public enum ShardHashing {
    /// MD5 of the UTF-8 partition key as a 128-bit unsigned integer (big-endian), as Kinesis maps keys to shards.
    public static func hashKey(_ partitionKey: String) -> UInt128 {
        let digest = md5(Array(partitionKey.utf8))
        var value: UInt128 = 0
        for byte in digest {
            value = value << 8 | UInt128(byte)
        }
        return value
    }

    /// The hash key that decides a record's shard: its explicit hash key when set
    /// (nil if that is not a valid decimal in 0...2^128-1, which Kinesis rejects),
    /// otherwise the MD5 of its partition key.
    public static func effectiveHashKey(of record: UserRecord) -> UInt128? {
        if let explicit = record.explicitHashKey {
            return parseDecimal(explicit)
        }
        return hashKey(record.partitionKey)
    }

    /// Decimal text of `value` (no sign, no leading zeros), as Kinesis expects for ExplicitHashKey.
    public static func decimalString(_ value: UInt128) -> String {
        if value == 0 { return "0" }
        var digits: [UInt8] = []
        digits.reserveCapacity(39)
        var rest = value
        // Peel off 19 decimal digits at a time to limit the number of 128-bit divisions.
        let chunk: UInt128 = 10_000_000_000_000_000_000
        while rest != 0 {
            let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: chunk)
            var part = UInt64(remainder)
            let isLast = quotient == 0
            var count = 0
            while isLast ? part != 0 : count < 19 {
                digits.append(UInt8(part % 10) + UInt8(ascii: "0"))
                part /= 10
                count += 1
            }
            rest = quotient
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// Parses a non-empty string of ASCII decimal digits (leading zeros allowed, no sign,
    /// no whitespace) into a value in 0...2^128-1; nil otherwise (including overflow).
    public static func parseDecimal(_ text: String) -> UInt128? {
        var value: UInt128 = 0
        var sawDigit = false
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt128(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            sawDigit = true
        }
        return sawDigit ? value : nil
    }

    /// MD5 digest (16 bytes) of `bytes`.
    static func md5(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = Insecure.MD5()
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if contiguous == nil {
            Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Array(hasher.finalize())
    }
}
