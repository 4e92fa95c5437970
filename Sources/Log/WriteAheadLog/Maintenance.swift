// The maintenance thread: persists cursors, applies retention, computes the age of each cursor's
// oldest unacknowledged record. Runs every `maintenanceInterval` (100 ms by default, whatever the fsync policy),
// on `checkpoint()`, after a quota refusal, and once more at close.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cursor file format (16 bytes, little-endian): magic 'S' 'L' 'C' 0x01, next sequence u64,
/// CRC-32C of the 8 sequence bytes u32. Written to `tmp-cursor-<name>`, synced, renamed over
/// `cursor-<name>`, then the directory is synced.
enum CursorFile {
    static let magicValue: UInt32 = 0x0143_4C53
    static let size = 16
    static let temporaryPrefix = "tmp-cursor-"

    /// Encodes a cursor value.
    static func encode(_ next: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: magicValue.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: next.littleEndian, toByteOffset: 4, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[4..<12]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        return bytes
    }

    /// Decodes a cursor file, nil if it is not a valid one.
    static func decode(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == size else { return nil }
        return bytes.withUnsafeBytes { raw -> UInt64? in
            guard UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magicValue else { return nil }
            let crc = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[4..<12])) else { return nil }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        }
    }
}

extension LogCore {
    /// How often the maintenance thread runs when nothing wakes it.
    var maintenancePeriodNanos: UInt64 {
        max(nanoseconds(of: configuration.maintenanceInterval), 1_000_000)
    }

    /// The maintenance thread's loop.
    func runMaintenance() {
        let period = maintenancePeriodNanos
        while true {
            let (requests, mode): ([UnsafeContinuation<WALError?, Never>], StopMode?) = state.withLock { s in
                let r = s.maintenanceRequests
                s.maintenanceRequests = []
                return (r, s.stopMode)
            }
            if mode == .crash {
                for r in requests { r.resume(returning: WALError(.closed, "the log was closed")) }
                break
            }
            var error = persistCursors()
            if let e = applyRetention(), error == nil { error = e }
            refreshCursorAges()
            for r in requests { r.resume(returning: error) }
            if mode == .graceful { break }
            maintenanceWake.wait(untilNanos: monotonicNanos() &+ period)
        }
        let leftovers: [UnsafeContinuation<WALError?, Never>] = state.withLock { s in
            s.maintenanceRunning = false
            let r = s.maintenanceRequests
            s.maintenanceRequests = []
            return r
        }
        for r in leftovers { r.resume(returning: WALError(.closed, "the log was closed")) }
        threadExited()
    }

    /// Writes every cursor whose committed value differs from the persisted one (temp file + sync + rename,
    /// then one directory sync). Returns the first error (the cursor stays dirty and is retried).
    func persistCursors() -> WALError? {
        let dirty: [(String, UInt64)] = state.withLock { s in
            s.cursors.compactMap { $0.value.committed != $0.value.persisted ? ($0.key, $0.value.committed) : nil }
        }
        if dirty.isEmpty { return nil }
        var done: [(String, UInt64)] = []
        var firstError: WALError?
        for (name, value) in dirty {
            do throws(WALError) {
                try writeCursorFile(name: name, value: value)
                done.append((name, value))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if !done.isEmpty {
            do throws(WALError) {
                try FileIO.fsyncDirectory(directory)
            } catch {
                if firstError == nil { firstError = error }
                done = []
            }
        }
        state.withLock { s in
            for (name, value) in done {
                if let c = s.cursors[name], value > c.persisted { s.cursors[name]?.persisted = value }
            }
        }
        return firstError
    }

    private func writeCursorFile(name: String, value: UInt64) throws(WALError) {
        let temporary = directory + "/" + CursorFile.temporaryPrefix + name
        let fd = try FileIO.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(WALError) {
            let bytes = CursorFile.encode(value)
            let written = bytes.withUnsafeBytes { raw -> Result<Void, WALError> in
                guard let base = raw.baseAddress else { return .success(()) }
                return Result { () throws(WALError) in try FileIO.pwriteAll(fd, base, raw.count, at: 0, path: temporary) }
            }
            try written.get()
            try FileIO.fdatasync(fd, path: temporary)
        } catch {
            FileIO.closeQuietly(fd)
            throw error
        }
        FileIO.closeQuietly(fd)
        try FileIO.rename(temporary, cursorPath(name))
    }

    /// Deletes sealed segments every cursor has passed (by persisted position), oldest first.
    /// With no cursors configured nothing is ever deleted.
    func applyRetention() -> WALError? {
        let doomed: [SegmentInfo] = state.withLock { s in
            guard let minimum = s.cursors.values.map(\.persisted).min() else { return [] }
            var doomed: [SegmentInfo] = []
            // Segment i holds sequences [base_i, base_{i+1}); deletable when every cursor is at or past base_{i+1}.
            var dropCount = 0
            while dropCount + 1 < s.segments.count, s.segments[dropCount + 1].base <= minimum {
                doomed.append(s.segments[dropCount])
                dropCount += 1
            }
            if dropCount > 0 {
                s.segments.removeFirst(dropCount)
                for d in doomed { s.diskBytes -= d.size }
                s.quotaRefusing = false
                s.generation &+= 1
            }
            return doomed
        }
        var firstError: WALError?
        for segment in doomed {
            do throws(WALError) {
                try FileIO.unlink(segmentPath(segment.base))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        return firstError
    }

    /// Finds `receivedAtMillis` of the record at each lagging cursor's position when it is no longer in memory.
    func refreshCursorAges() {
        struct Work {
            var name: String
            var position: UInt64
            var segment: SegmentInfo
            var probe: FileHint?
        }
        let work: [Work] = state.withLock { s in
            var work: [Work] = []
            let first = s.firstSequence
            for (name, c) in s.cursors {
                let position = max(c.committed, first)
                if position >= s.nextSequence {
                    s.cursors[name]?.age = nil
                    continue
                }
                if s.tail.entry(at: position) != nil || c.age?.sequence == position { continue }
                guard let segment = s.segments.last(where: { $0.base <= position }) else { continue }
                work.append(Work(name: name, position: position, segment: segment, probe: c.probe))
            }
            return work
        }
        for item in work {
            let path = segmentPath(item.segment.base)
            guard let fd = try? FileIO.open(path, O_RDONLY) else { continue }
            let found = try? SegmentScan.locate(
                fd: fd, path: path, segment: item.segment.base, target: item.position, hint: item.probe,
                endBytes: item.segment.size)
            FileIO.closeQuietly(fd)
            guard let found else { continue }
            state.withLock { s in
                s.cursors[item.name]?.age = (item.position, found.header.receivedAtMillis)
                s.cursors[item.name]?.probe = FileHint(segment: item.segment.base, offset: found.offset, sequence: item.position)
            }
        }
    }
}
