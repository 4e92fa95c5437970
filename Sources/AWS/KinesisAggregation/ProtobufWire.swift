/// Minimal protobuf wire-format helpers: just what the KPL aggregation format needs.
enum ProtobufWire {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    /// Number of bytes of the varint encoding of `value`.
    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var v = value >> 7
        while v != 0 {
            size += 1
            v >>= 7
        }
        return size
    }

    static func varintSize(_ value: Int) -> Int { varintSize(UInt64(value)) }

    /// Size of a length-delimited field with a one-byte tag (field numbers 1...15).
    static func lengthDelimitedFieldSize(payload: Int) -> Int {
        1 + varintSize(payload) + payload
    }

    /// Size of a varint field with a one-byte tag.
    static func varintFieldSize(_ value: Int) -> Int { 1 + varintSize(value) }
}

/// Appends protobuf wire-format data to a byte buffer.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func writeTag(field: UInt64, wireType: ProtobufWire.WireType) {
        writeVarint(field << 3 | UInt64(wireType.rawValue))
    }

    mutating func writeVarintField(_ field: UInt64, _ value: UInt64) {
        writeTag(field: field, wireType: .varint)
        writeVarint(value)
    }

    mutating func writeBytesField(_ field: UInt64, _ value: some Collection<UInt8>) {
        writeTag(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func writeStringField(_ field: UInt64, _ value: String) {
        writeBytesField(field, value.utf8)
    }
}

/// Reads protobuf wire-format data from a byte slice.
struct ProtobufReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }

    mutating func readVarint() throws(AggregationError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else {
                throw AggregationError(.malformedProtobuf, "truncated varint")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw AggregationError(.malformedProtobuf, "varint overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 {
                throw AggregationError(.malformedProtobuf, "varint longer than 10 bytes")
            }
        }
    }

    /// Reads a tag; returns (field number, wire type).
    mutating func readTag() throws(AggregationError) -> (field: UInt64, wireType: ProtobufWire.WireType) {
        let key = try readVarint()
        let field = key >> 3
        guard field != 0 else { throw AggregationError(.malformedProtobuf, "field number 0") }
        guard let wireType = ProtobufWire.WireType(rawValue: UInt8(key & 7)) else {
            throw AggregationError(.malformedProtobuf, "invalid wire type \(key & 7) for field \(field)")
        }
        return (field, wireType)
    }

    mutating func readLengthDelimited() throws(AggregationError) -> ArraySlice<UInt8> {
        let length = try readVarint()
        guard length <= UInt64(bytes.endIndex - position) else {
            throw AggregationError(.malformedProtobuf, "length-delimited field of \(length) bytes exceeds the remaining \(bytes.endIndex - position)")
        }
        let end = position + Int(length)
        defer { position = end }
        return bytes[position..<end]
    }

    mutating func skip(_ wireType: ProtobufWire.WireType) throws(AggregationError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed64: try advance(8)
        case .fixed32: try advance(4)
        case .startGroup, .endGroup:
            throw AggregationError(.malformedProtobuf, "groups are not supported")
        }
    }

    private mutating func advance(_ count: Int) throws(AggregationError) {
        guard bytes.endIndex - position >= count else {
            throw AggregationError(.malformedProtobuf, "truncated fixed-width field")
        }
        position += count
    }
}
