// Fuzz target: the write-ahead log's record decoder (`RecordCodec`: magic, lengths, CRC-32C).
//
// The input is the bytes at a record position of a segment file. Checked: a decoded record fits the bytes and
// re-encodes to exactly them (when its event id is valid UTF-8); `header` agrees with `decode`; every proper prefix
// of a record is `.incomplete`, never `.damaged` or a record. The encoder is fuzzed too: the input, read as an
// entry, must survive encode → decode unchanged.

import FuzzDriver

@testable import WriteAheadLog

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let parsed = RecordCodec.decode(bytes, segment: 7, offset: 99)
    switch parsed {
    case .record(let record, let recordSize):
        precondition(recordSize >= RecordCodec.fixedSize && recordSize <= size, "record size \(recordSize) of \(size) bytes")
        precondition(record.segment == 7 && record.offset == 99, "location not carried")
        let idLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self)))
        precondition(RecordCodec.fixedSize + idLength + record.body.count == recordSize, "lengths disagree")
        if String(validating: UnsafeRawBufferPointer(rebasing: bytes[36..<(36 + idLength)]), as: UTF8.self) != nil {
            let again = RecordCodec.encode(record.entry, sequence: record.sequence)
            precondition(again.elementsEqual(bytes[0..<recordSize]), "a decoded record does not re-encode to its bytes")
        }
        guard case .success(let header) = RecordCodec.header(bytes) else { preconditionFailure("decodable but no header") }
        precondition(header.totalLength == recordSize && header.sequence == record.sequence, "header disagrees with decode")
        precondition(header.receivedAtMillis == record.receivedAtMillis, "header time disagrees with decode")
        for cut in Set([0, 1, RecordCodec.prefixSize - 1, RecordCodec.prefixSize, 36, recordSize / 2, recordSize - 1]) where cut < recordSize {
            let prefix = UnsafeRawBufferPointer(rebasing: bytes[0..<cut])
            guard case .incomplete(let needed) = RecordCodec.decode(prefix, segment: 7, offset: 99) else {
                preconditionFailure("a \(cut)-byte prefix of a \(recordSize)-byte record is not incomplete")
            }
            precondition(needed > cut && needed <= recordSize, "prefix of \(cut) bytes needs \(needed)")
        }
    case .incomplete(let needed):
        precondition(needed > size && needed <= RecordCodec.maxRecordSize, "incomplete with \(size) bytes, needs \(needed)")
    case .damaged(let why):
        precondition(!why.isEmpty, "damaged without a reason")
    }

    // Encoder round trip: byte 0 splits the rest into event id and body.
    if size > 0 {
        let idLength = min(Int(bytes[0]), size - 1)
        let entry = LogEntry(
            eventID: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[1..<(1 + idLength)]), as: UTF8.self),
            routes: UInt32(truncatingIfNeeded: size),
            receivedAtMillis: Int64(size) - 64,
            body: [UInt8](bytes[(1 + idLength)...]))
        let encoded = RecordCodec.encode(entry, sequence: UInt64(size) &* 0x9E37_79B9_7F4A_7C15)
        precondition(encoded.count == RecordCodec.encodedSize(entry), "encoded size differs from encodedSize")
        let decoded = encoded.withUnsafeBytes { RecordCodec.decode($0, segment: 0, offset: 0) }
        guard case .record(let record, let recordSize) = decoded, recordSize == encoded.count, record.entry == entry else {
            preconditionFailure("encode → decode changed the entry: \(decoded)")
        }
    }
    return 0
}

/// Hands the process to libFuzzer.
@main
enum FuzzMain {
    static func main() {
        exit(sluice_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzz))
    }
}
