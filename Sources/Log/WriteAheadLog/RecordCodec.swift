// Record framing. All integers little-endian. A record is:
//
//   offset  size  field
//   0       4     magic+version: 0x53 'S', 0x4C 'L', 0x57 'W', 0x01 (format version 1)
//   4       4     totalLength u32: bytes of the whole record, header included (= 40 + E + B)
//   8       4     crc u32: CRC-32C over bytes [12, totalLength)
//   12      8     sequence u64
//   20      8     receivedAtMillis i64
//   28      4     routes u32
//   32      4     eventIDLength u32 (E)
//   36      E     eventID, UTF-8
//   36+E    4     bodyLength u32 (B)
//   40+E    B     body
//
// The length field is not under the CRC, but it must equal 40 + E + B, which are.

/// Encoding and verification of records (see the table above).
enum RecordCodec {
    /// Magic + version bytes at the start of every record.
    static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x53, 0x4C, 0x57, 0x01)
    /// `magic` as a little-endian u32.
    static let magicValue: UInt32 = 0x0157_4C53
    /// Bytes of fixed fields (everything but the event id and body).
    static let fixedSize = 40
    /// Bytes that must be present to learn a record's total length.
    static let prefixSize = 12
    /// Records larger than this are rejected on append and treated as garbage when read (1 GiB).
    static let maxRecordSize = 1 << 30

    /// Encoded size of an entry (`fixedSize` + UTF-8 event id + body).
    static func encodedSize(_ entry: LogEntry) -> Int {
        fixedSize + entry.eventID.utf8.count + entry.body.count
    }

    /// Encodes `entry` with `sequence` at `base` (which must have `encodedSize(entry)` writable bytes).
    static func encode(_ entry: LogEntry, sequence: UInt64, into base: UnsafeMutableRawPointer) -> Int {
        var eventID = entry.eventID
        return eventID.withUTF8 { id in
            entry.body.withUnsafeBytes { body in
                let total = fixedSize + id.count + body.count
                base.storeBytes(of: magicValue.littleEndian, toByteOffset: 0, as: UInt32.self)
                base.storeBytes(of: UInt32(truncatingIfNeeded: total).littleEndian, toByteOffset: 4, as: UInt32.self)
                base.storeBytes(of: sequence.littleEndian, toByteOffset: 12, as: UInt64.self)
                base.storeBytes(of: entry.receivedAtMillis.littleEndian, toByteOffset: 20, as: Int64.self)
                base.storeBytes(of: entry.routes.littleEndian, toByteOffset: 28, as: UInt32.self)
                base.storeBytes(of: UInt32(truncatingIfNeeded: id.count).littleEndian, toByteOffset: 32, as: UInt32.self)
                if let idBase = id.baseAddress, id.count > 0 {
                    (base + 36).copyMemory(from: idBase, byteCount: id.count)
                }
                base.storeBytes(of: UInt32(truncatingIfNeeded: body.count).littleEndian, toByteOffset: 36 + id.count, as: UInt32.self)
                if let bodyBase = body.baseAddress, body.count > 0 {
                    (base + 40 + id.count).copyMemory(from: bodyBase, byteCount: body.count)
                }
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: base + 12, count: total - 12))
                base.storeBytes(of: crc.littleEndian, toByteOffset: 8, as: UInt32.self)
                return total
            }
        }
    }

    /// Encodes one record into a new array (tests and tools).
    static func encode(_ entry: LogEntry, sequence: UInt64) -> [UInt8] {
        let size = encodedSize(entry)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            initialized = encode(entry, sequence: sequence, into: UnsafeMutableRawPointer(base))
        }
    }

    /// Result of looking at the bytes at a record position.
    enum Parse {
        /// A valid record of `size` bytes.
        case record(LogRecord, size: Int)
        /// Fewer bytes than the record needs; `needed` is its total length when known (else the prefix size).
        case incomplete(needed: Int)
        /// Bytes that are not a valid record.
        case damaged(String)
    }

    /// Reads the total length from a record prefix (at least `prefixSize` bytes), validating magic and bounds.
    static func totalLength(_ bytes: UnsafeRawBufferPointer) -> Result<Int, ParseFailure> {
        guard bytes.count >= prefixSize else { return .failure(.incomplete(prefixSize)) }
        let m = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard m == magicValue else {
            return .failure(.damaged("bad magic/version \(hex(m))"))
        }
        let total = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard total >= fixedSize, total <= maxRecordSize else {
            return .failure(.damaged("implausible record length \(total)"))
        }
        return .success(total)
    }

    /// Why a prefix could not be parsed.
    enum ParseFailure: Error {
        case incomplete(Int)
        case damaged(String)
    }

    /// Header fields readable without the body (used to skip through a segment).
    struct Header {
        var totalLength: Int
        var sequence: UInt64
        var receivedAtMillis: Int64
    }

    /// Parses the fixed header (first 36 bytes are enough) without verifying the CRC.
    static func header(_ bytes: UnsafeRawBufferPointer) -> Result<Header, ParseFailure> {
        switch totalLength(bytes) {
        case .failure(let f): return .failure(f)
        case .success(let total):
            guard bytes.count >= 36 else { return .failure(.incomplete(36)) }
            let seq = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
            let at = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: Int64.self))
            let idLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self)))
            guard idLength <= total - fixedSize else {
                return .failure(.damaged("event id length \(idLength) exceeds record length \(total)"))
            }
            return .success(Header(totalLength: total, sequence: seq, receivedAtMillis: at))
        }
    }

    /// Decodes and verifies the record at the start of `bytes` (which may hold more data after it).
    static func decode(_ bytes: UnsafeRawBufferPointer, segment: UInt64, offset: Int) -> Parse {
        let total: Int
        switch totalLength(bytes) {
        case .failure(.incomplete(let n)): return .incomplete(needed: n)
        case .failure(.damaged(let why)): return .damaged(why)
        case .success(let t): total = t
        }
        guard bytes.count >= total else { return .incomplete(needed: total) }
        let idLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self)))
        guard idLength <= total - fixedSize else {
            return .damaged("event id length \(idLength) exceeds record length \(total)")
        }
        let bodyLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 36 + idLength, as: UInt32.self)))
        guard fixedSize + idLength + bodyLength == total else {
            return .damaged("lengths disagree: 40 + \(idLength) + \(bodyLength) != \(total)")
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[12..<total]))
        guard stored == computed else {
            return .damaged("CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        let seq = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
        let at = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: Int64.self))
        let routes = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        let eventID = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[36..<(36 + idLength)]), as: UTF8.self)
        let body = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[(40 + idLength)..<total]))
        let record = LogRecord(
            sequence: seq, segment: segment, offset: offset, eventID: eventID, routes: routes,
            receivedAtMillis: at, body: body)
        return .record(record, size: total)
    }

    /// `0x` + 8 hex digits.
    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
