// Reading records back from segment files with bounded buffers: positioning by header skipping,
// verified sequential reads, and the recovery scan.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sequential, verified access to segment files.
enum SegmentScan {
    /// Buffer used by the recovery scan.
    static let recoveryChunk = 1 << 20

    /// A `.corrupt` error at a location.
    static func corrupt(_ why: String, path: String, segment: UInt64, offset: Int) -> WALError {
        WALError(.corrupt, why, path: path, segment: segment, offset: offset)
    }

    /// Finds the record with sequence `target` in a segment by reading only record headers, starting at
    /// `hint` when it lies in this segment at or before the target, else at offset 0.
    static func locate(
        fd: Int32, path: String, segment: UInt64, target: UInt64, hint: FileHint?, endBytes: Int
    ) throws(WALError) -> (offset: Int, header: RecordCodec.Header) {
        var offset = 0
        var sequence = segment
        if let hint, hint.segment == segment, hint.sequence <= target, hint.sequence >= segment, hint.offset <= endBytes {
            offset = hint.offset
            sequence = hint.sequence
        }
        var header = [UInt8](repeating: 0, count: 36)
        while true {
            if offset >= endBytes {
                throw corrupt("segment ends at byte \(endBytes) before sequence \(target)", path: path, segment: segment, offset: offset)
            }
            let n = try header.withUnsafeMutableBytes { raw -> Result<Int, WALError> in
                guard let base = raw.baseAddress else { return .success(0) }
                return Result { () throws(WALError) in try FileIO.preadUpTo(fd, base, raw.count, at: offset, path: path) }
            }.get()
            let parsed = header.withUnsafeBytes { RecordCodec.header(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            switch parsed {
            case .failure(.incomplete):
                throw corrupt("incomplete record header", path: path, segment: segment, offset: offset)
            case .failure(.damaged(let why)):
                throw corrupt(why, path: path, segment: segment, offset: offset)
            case .success(let h):
                guard h.sequence == sequence else {
                    throw corrupt("expected sequence \(sequence), found \(h.sequence)", path: path, segment: segment, offset: offset)
                }
                if sequence == target { return (offset, h) }
                offset += h.totalLength
                sequence += 1
            }
        }
    }

    /// What a reader asks to read from one segment.
    struct ReadRequest: Sendable {
        var segment: UInt64
        var path: String
        /// Sequence of the first record wanted.
        var sequence: UInt64
        /// Its byte offset if known (else found with `locate`).
        var offset: Int?
        var hint: FileHint?
        /// Bytes of the segment that hold acknowledged records.
        var endBytes: Int
        /// Records at or above this sequence are not acknowledged yet and are not returned.
        var limitSequence: UInt64
        var maxRecords: Int
        var maxBytes: Int
    }

    /// Reads verified records for `request`: at least one, at most `maxRecords`, about `maxBytes`.
    /// Throws `.corrupt` when the first record wanted cannot be read intact.
    static func read(fd: Int32, _ request: ReadRequest) throws(WALError) -> (records: [LogRecord], nextOffset: Int) {
        let path = request.path
        let segment = request.segment
        let endBytes = request.endBytes
        var offset: Int
        if let known = request.offset {
            offset = known
        } else {
            offset = try locate(
                fd: fd, path: path, segment: segment, target: request.sequence, hint: request.hint, endBytes: endBytes
            ).offset
        }
        let readAhead = min(max(request.maxBytes, 64 << 10), 8 << 20)
        var records: [LogRecord] = []
        var total = 0
        var expected = request.sequence
        var buffer = try FileIO.pread(fd, count: min(max(0, endBytes - offset), readAhead), at: offset, path: path)
        var bufferStart = offset

        scan: while records.count < request.maxRecords, expected < request.limitSequence, offset < endBytes {
            let relative = offset - bufferStart
            let parsed = buffer.withUnsafeBytes { raw in
                RecordCodec.decode(
                    UnsafeRawBufferPointer(rebasing: raw[min(relative, raw.count)...]), segment: segment, offset: offset)
            }
            switch parsed {
            case .record(let record, let size):
                guard record.sequence == expected else {
                    if !records.isEmpty { break scan }
                    throw corrupt(
                        "expected sequence \(expected), found \(record.sequence)", path: path, segment: segment, offset: offset)
                }
                if !records.isEmpty && total + size > request.maxBytes { break scan }
                records.append(record)
                total += size
                offset += size
                expected += 1
            case .incomplete(let needed):
                if offset + needed > endBytes {
                    if !records.isEmpty { break scan }
                    throw corrupt(
                        "record needs \(needed) bytes, only \(endBytes - offset) remain in the segment",
                        path: path, segment: segment, offset: offset)
                }
                if !records.isEmpty && total + needed > request.maxBytes { break scan }
                let count = min(endBytes - offset, max(readAhead, needed))
                buffer = try FileIO.pread(fd, count: count, at: offset, path: path)
                bufferStart = offset
                if buffer.count < needed {
                    throw corrupt("segment file is shorter than expected", path: path, segment: segment, offset: offset)
                }
            case .damaged(let why):
                if !records.isEmpty { break scan }
                throw corrupt(why, path: path, segment: segment, offset: offset)
            }
        }
        if records.isEmpty {
            throw corrupt(
                "segment ends at byte \(endBytes) before sequence \(expected)", path: path, segment: segment, offset: offset)
        }
        return (records, offset)
    }

    /// Result of scanning a segment at recovery.
    struct RecoveryScan {
        /// Bytes of intact records from the start.
        var validBytes: Int
        /// Intact records.
        var records: Int
        /// The largest `receivedAtMillis` among them, nil if there are none.
        var newestMillis: Int64?
        /// Why the scan stopped before the end of the file, if it did.
        var problem: String?
    }

    /// Verifies every record of a segment from offset 0 (CRC, lengths, consecutive sequences from `base`),
    /// reading with a bounded buffer; stops at the first torn or damaged record.
    static func recoveryScan(fd: Int32, path: String, base: UInt64, fileSize: Int) throws(WALError) -> RecoveryScan {
        var offset = 0
        var expected = base
        var count = 0
        var newest: Int64?
        var buffer: [UInt8] = []
        var bufferStart = 0
        var bufferValid = 0
        while offset < fileSize {
            let relative = offset - bufferStart
            let parsed: RecordCodec.Parse =
                relative >= 0 && relative <= bufferValid
                ? buffer.withUnsafeBytes { raw in
                    RecordCodec.decode(
                        UnsafeRawBufferPointer(rebasing: raw[relative..<bufferValid]), segment: base, offset: offset)
                }
                : .incomplete(needed: RecordCodec.prefixSize)
            switch parsed {
            case .record(let record, let size):
                guard record.sequence == expected else {
                    return RecoveryScan(
                        validBytes: offset, records: count, newestMillis: newest,
                        problem: "expected sequence \(expected) at offset \(offset), found \(record.sequence)")
                }
                // No sequence can follow UInt64.max: such a record (a damaged or forged file) is not kept, so the
                // next sequence (`base + records`) always exists.
                guard expected < UInt64.max else {
                    return RecoveryScan(
                        validBytes: offset, records: count, newestMillis: newest,
                        problem: "sequence \(expected) at offset \(offset) is the largest possible; no record can follow it")
                }
                offset += size
                expected += 1
                count += 1
                newest = max(newest ?? .min, record.receivedAtMillis)
            case .incomplete(let needed):
                if offset + needed > fileSize {
                    return RecoveryScan(
                        validBytes: offset, records: count, newestMillis: newest,
                        problem: "incomplete record at offset \(offset): needs \(needed) bytes, \(fileSize - offset) remain")
                }
                if bufferStart == offset && bufferValid >= needed {
                    // Cannot happen (decode had the bytes); guard against looping.
                    return RecoveryScan(validBytes: offset, records: count, newestMillis: newest, problem: "unreadable record at offset \(offset)")
                }
                let want = min(fileSize - offset, max(recoveryChunk, needed))
                buffer = try FileIO.pread(fd, count: want, at: offset, path: path)
                bufferStart = offset
                bufferValid = buffer.count
                if bufferValid < needed {
                    return RecoveryScan(
                        validBytes: offset, records: count, newestMillis: newest,
                        problem: "incomplete record at offset \(offset): needs \(needed) bytes, \(bufferValid) readable")
                }
            case .damaged(let why):
                return RecoveryScan(validBytes: offset, records: count, newestMillis: newest, problem: "\(why) at offset \(offset)")
            }
        }
        return RecoveryScan(validBytes: offset, records: count, newestMillis: newest, problem: nil)
    }
}
