// The maintenance thread: persists cursors, applies retention, computes the age of each sink cursor's
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
            s.cursors.compactMap { name, c in
                c.committed != c.persisted || (c.hasPosition && !c.hasFile) ? (name, c.committed) : nil
            }
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
                // What was written is what the file holds (a rewound subscription cursor moves back); a commit made
                // meanwhile leaves `committed` different, so it is written on the next pass.
                if s.cursors[name] != nil { s.cursors[name]?.persisted = value }
                s.cursors[name]?.hasFile = true
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

    /// Deletes the sealed segments retention lets go (see ``releaseSegments(_:room:)``), oldest first, and the
    /// files of segments an append already took out of the catalog to make room.
    func applyRetention() -> WALError? {
        let room = configuration.retainsReleasedSegments ? max(1, configuration.segmentSizeBytes) : 0
        let doomed: [UInt64] = state.withLock { s in
            let pending = s.pendingUnlinks
            s.pendingUnlinks = []
            return pending + releaseSegments(&s, room: room).map(\.base)
        }
        var firstError: WALError?
        for base in doomed {
            do throws(WALError) {
                try FileIO.unlink(segmentPath(base))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        return firstError
    }

    /// Removes from the catalog the sealed segments retention lets go, oldest first, and returns them (the caller
    /// unlinks their files, outside the lock). The active segment always stays.
    ///
    /// A sealed segment is a candidate once every sink cursor (`cursorNames`) has a persisted position past its
    /// last record (≥ the next segment's base). Without subscription cursors every candidate goes (and nothing at
    /// all without sink cursors). With subscription cursors, which hold nothing, a candidate is kept for
    /// subscriptions and replay until its newest record is older than `subscriptionRetention` (wall clock), or
    /// while `diskBytes + reservedBytes + room > maxDiskBytes`; the first candidate kept ends the pass, so the
    /// retained segments stay contiguous.
    func releaseSegments(_ s: inout LogState, room: Int) -> [SegmentInfo] {
        let subscriptions = configuration.retainsReleasedSegments
        let released: UInt64
        if let minimum = s.cursors.values.lazy.filter(\.holdsSegments).map(\.persisted).min() {
            released = minimum
        } else if subscriptions {
            released = .max
        } else {
            return []
        }
        let retentionMillis = Int64(clamping: nanoseconds(of: configuration.subscriptionRetention) / 1_000_000)
        let cutoff = subscriptions ? wallClockMillis() - retentionMillis : 0
        var dropCount = 0
        var bytes = s.diskBytes + s.reservedBytes
        // Segment i holds sequences [base_i, base_{i+1}); a candidate when every sink cursor is at or past base_{i+1}.
        while dropCount + 1 < s.segments.count, s.segments[dropCount + 1].base <= released {
            let segment = s.segments[dropCount]
            if subscriptions {
                let expired = (segment.newestMillis ?? .min) < cutoff
                if !expired && bytes + room <= configuration.maxDiskBytes { break }
            }
            bytes -= segment.size
            dropCount += 1
        }
        guard dropCount > 0 else { return [] }
        let doomed = Array(s.segments.prefix(dropCount))
        s.segments.removeFirst(dropCount)
        for d in doomed { s.diskBytes -= d.size }
        s.quotaRefusing = false
        s.generation &+= 1
        return doomed
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
            for (name, c) in s.cursors where c.holdsSegments {
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
