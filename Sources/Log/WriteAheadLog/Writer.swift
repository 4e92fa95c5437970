// The writer thread: group commit, segment rollover, fsync policy.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State private to the writer thread.
struct WriterContext: Sendable {
    /// Descriptor of the active segment (-1 once closed or after a failure).
    var fd: Int32
    /// Base sequence of the active segment.
    var activeBase: UInt64
    /// Bytes written to the active segment.
    var activeSize: Int
    /// Sequence the next record gets.
    var nextSequence: UInt64
    /// Something was written since the last `fdatasync`.
    var dirty = false
    /// Monotonic time of the last `fdatasync` (or of the start).
    var lastSyncNanos: UInt64 = 0
}

extension LogCore {
    /// The writer thread's loop: take everything queued, write it with one `write()` (two or more only at a
    /// segment rollover), sync if the policy is `.always` or a checkpoint asked, publish, resume the callers;
    /// sleep when idle. (`.interval` syncs run on the syncer thread, concurrently with the next writes.)
    func runWriter(_ initial: WriterContext) {
        var w = initial
        w.lastSyncNanos = monotonicNanos()
        var stop: StopMode?

        while true {
            let (items, stopMode, failure): ([WriterItem], StopMode?, WALError?) = state.withLock { s in
                if s.writerPaused && s.stopMode == nil { return ([], nil, s.failure) }
                let items = s.queue
                s.queue = []
                for item in items { if case .append = item { s.inFlightAppends += 1 } }
                return (items, s.stopMode, s.failure)
            }
            stop = stopMode
            if stop == .crash {
                fail(items, with: WALError(.closed, "the log was closed"))
                break
            }
            if !items.isEmpty {
                if let failure {
                    fail(items, with: failure)
                } else {
                    process(items, &w)
                }
            }
            if items.isEmpty {
                if stop != nil { break }
                writerWake.wait(untilNanos: nil)
            }
        }

        if w.fd >= 0 {
            if stop == .graceful && w.dirty && writtenGeneration.load(ordering: .acquiring) > syncedGeneration.load(ordering: .acquiring) {
                syncActive(&w)
            }
            FileIO.closeQuietly(w.fd)
            w.fd = -1
        }
        threadExited()
    }

    /// Resumes every item with `error` and releases their quota reservations.
    private func fail(_ items: [WriterItem], with error: WALError) {
        var released = 0
        var appends = 0
        for item in items {
            if case .append(_, let bytes, _) = item {
                released += bytes
                appends += 1
            }
        }
        state.withLock { s in
            s.reservedBytes -= released
            s.inFlightAppends -= appends
        }
        for item in items {
            switch item {
            case .append(_, _, let c): c.resume(returning: .failure(error))
            case .sync(let c): c.resume(returning: .failure(error))
            }
        }
    }

    /// `fdatasync` of the active segment; a failure makes the log fail (the page cache state is unknown).
    private func syncActive(_ w: inout WriterContext) {
        do throws(WALError) {
            let generation = writtenGeneration.load(ordering: .acquiring)
            try FileIO.fdatasync(w.fd, path: segmentPath(w.activeBase))
            syncCalls.add(1, ordering: .relaxed)
            syncedGeneration.max(generation, ordering: .releasing)
            w.dirty = false
            w.lastSyncNanos = monotonicNanos()
        } catch {
            enterFailure(error, &w)
        }
    }

    /// Records a sticky failure and closes the active segment.
    private func enterFailure(_ error: WALError, _ w: inout WriterContext) {
        state.withLock { s in
            if s.failure == nil { s.failure = error }
        }
        if w.fd >= 0 {
            FileIO.closeQuietly(w.fd)
            w.fd = -1
        }
        w.dirty = false
    }

    /// Writes one batch: encodes all records into one buffer, writes it (split only at rollovers), syncs
    /// per policy, publishes, and resumes the callers.
    private func process(_ items: [WriterItem], _ w: inout WriterContext) {
        batchCount.add(1, ordering: .relaxed)
        var totalBytes = 0
        var appendCount = 0
        var wantsSync = false
        for item in items {
            switch item {
            case .append(_, let bytes, _):
                totalBytes += bytes
                appendCount += 1
            case .sync:
                wantsSync = true
            }
        }
        if configuration.fsync == .always { wantsSync = true }

        let segmentSize = max(1, configuration.segmentSizeBytes)
        let keepTail = configuration.memoryTailBytes > 0
        var receipts: [[AppendReceipt]] = []
        receipts.reserveCapacity(appendCount)
        var tailEntries: [TailEntry] = []
        var sizeUpdates: [(base: UInt64, size: Int, newestMillis: Int64?)] = []
        var newestMillis: Int64? // of the records of this batch in the active segment
        var newSegments: [UInt64] = []
        var written = 0
        var failure: WALError?

        var capacity = 0
        for item in items {
            if case .append(let entries, _, _) = item {
                for entry in entries { capacity += RecordCodec.encodedSize(entry) }
            }
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity), alignment: 16)
        defer { buffer.deallocate() }
        var pending = 0 // start of the not-yet-written part of `buffer`
        var used = 0 // bytes encoded into `buffer`

        /// Writes buffer[pending..<used] at the end of the active segment.
        func flush(_ w: inout WriterContext) throws(WALError) {
            let count = used - pending
            if count == 0 { return }
            try FileIO.pwriteAll(w.fd, buffer + pending, count, at: w.activeSize, path: segmentPath(w.activeBase))
            writeCalls.add(1, ordering: .relaxed)
            w.activeSize += count
            w.dirty = true
            written += count
            pending = used
            writtenGeneration.add(1, ordering: .releasing)
        }

        do throws(WALError) {
            if w.fd < 0 { throw WALError(.io, "the active segment is not open", path: segmentPath(w.activeBase)) }
            for item in items {
                guard case .append(let entries, _, _) = item else { continue }
                var itemReceipts: [AppendReceipt] = []
                itemReceipts.reserveCapacity(entries.count)
                for entry in entries {
                    let sequence = w.nextSequence
                    let offset = w.activeSize + (used - pending)
                    let size = RecordCodec.encode(entry, sequence: sequence, into: buffer + used)
                    used += size
                    w.nextSequence += 1
                    newestMillis = max(newestMillis ?? .min, entry.receivedAtMillis)
                    itemReceipts.append(AppendReceipt(sequence: sequence, segment: w.activeBase, offset: offset))
                    if keepTail {
                        tailEntries.append(
                            TailEntry(
                                record: LogRecord(
                                    sequence: sequence, segment: w.activeBase, offset: offset,
                                    eventID: entry.eventID, routes: entry.routes,
                                    receivedAtMillis: entry.receivedAtMillis, body: entry.body),
                                size: size))
                    }
                    if w.activeSize + (used - pending) >= segmentSize {
                        try flush(&w)
                        sizeUpdates.append((w.activeBase, w.activeSize, newestMillis))
                        newestMillis = nil
                        try rollover(&w)
                        newSegments.append(w.activeBase)
                    }
                }
                receipts.append(itemReceipts)
            }
            try flush(&w)
            if wantsSync && w.dirty && writtenGeneration.load(ordering: .acquiring) > syncedGeneration.load(ordering: .acquiring) {
                let generation = writtenGeneration.load(ordering: .acquiring)
                try FileIO.fdatasync(w.fd, path: segmentPath(w.activeBase))
                syncCalls.add(1, ordering: .relaxed)
                syncedGeneration.max(generation, ordering: .releasing)
                w.dirty = false
                w.lastSyncNanos = monotonicNanos()
            }
        } catch {
            failure = error
        }

        if let failure {
            // Unknown on-disk state (partial write or failed sync): fail this batch and everything after it.
            // Records that did reach the file may reappear after reopen (at-least-once for the caller, who
            // got an error and will retry).
            enterFailure(failure, &w)
            state.withLock { s in s.diskBytes += written }
            fail(items, with: failure)
            return
        }

        // Publish: catalog sizes, next sequence, memory tail, then resume appenders and waiting readers.
        let activeBase = w.activeBase
        let activeSize = w.activeSize
        let nextSequence = w.nextSequence
        sizeUpdates.append((activeBase, activeSize, newestMillis))
        let readers: [UnsafeContinuation<Void, Never>] = state.withLock { s in
            for base in newSegments { s.segments.append(SegmentInfo(base: base, size: 0)) }
            for update in sizeUpdates {
                if let i = s.segments.lastIndex(where: { $0.base == update.base }) {
                    s.segments[i].size = update.size
                    if let newest = update.newestMillis { s.segments[i].newestMillis = max(s.segments[i].newestMillis ?? .min, newest) }
                }
            }
            s.diskBytes += written
            s.reservedBytes -= totalBytes
            s.inFlightAppends -= appendCount
            s.nextSequence = nextSequence
            for entry in tailEntries { s.tail.append(entry) }
            s.generation &+= 1
            let readers = Array(s.readerWaiters.values)
            s.readerWaiters = [:]
            return readers
        }
        var receiptIndex = 0
        for item in items {
            switch item {
            case .append(_, _, let c):
                c.resume(returning: .success(receipts[receiptIndex]))
                receiptIndex += 1
            case .sync(let c):
                c.resume(returning: .success(()))
            }
        }
        for r in readers { r.resume() }
        if written > 0, syncerIdle.exchange(false, ordering: .acquiringAndReleasing) { syncerWake.signal() }
    }

    /// Seals the active segment (`fdatasync`, close) and begins the next one, named after the next sequence.
    /// The new file is created only after the old one's sync returned, so the existence of a later segment
    /// proves the earlier one is complete; the directory is synced so the new file survives power loss.
    private func rollover(_ w: inout WriterContext) throws(WALError) {
        let generation = writtenGeneration.load(ordering: .acquiring)
        try FileIO.fdatasync(w.fd, path: segmentPath(w.activeBase))
        syncCalls.add(1, ordering: .relaxed)
        syncedGeneration.max(generation, ordering: .releasing)
        FileIO.closeQuietly(w.fd)
        w.fd = -1
        let base = w.nextSequence
        w.fd = try FileIO.open(segmentPath(base), O_WRONLY | O_CREAT | O_EXCL)
        w.activeBase = base
        activeSegmentBase.store(base, ordering: .releasing)
        w.activeSize = 0
        w.dirty = false
        w.lastSyncNanos = monotonicNanos()
        try FileIO.fsyncDirectory(directory)
    }

    /// The syncer thread (`.interval` policy): `fdatasync`s the active segment at most once per interval and
    /// only when something was written since its last sync, concurrently with the writer's next writes (so
    /// the writer never stalls on a sync). It opens the segment by path: `fdatasync` flushes the file, whatever
    /// descriptor is used. Data of a segment sealed in between was synced by the seal itself.
    func runSyncer(intervalNanos: UInt64) {
        var lastSyncNanos: UInt64 = 0
        while true {
            if state.withLock({ $0.stopMode != nil }) { break } // the writer does the final sync at close
            let generation = writtenGeneration.load(ordering: .acquiring)
            if generation <= syncedGeneration.load(ordering: .acquiring) {
                syncerIdle.store(true, ordering: .releasing)
                if writtenGeneration.load(ordering: .acquiring) > syncedGeneration.load(ordering: .acquiring) {
                    syncerIdle.store(false, ordering: .releasing)
                    continue
                }
                syncerWake.wait(untilNanos: nil)
                syncerIdle.store(false, ordering: .releasing)
                continue
            }
            let now = monotonicNanos()
            if now &- lastSyncNanos < intervalNanos {
                syncerWake.wait(untilNanos: lastSyncNanos &+ intervalNanos)
                continue
            }
            let path = segmentPath(activeSegmentBase.load(ordering: .acquiring))
            do {
                let fd = try FileIO.open(path, O_RDONLY)
                defer { FileIO.closeQuietly(fd) }
                try FileIO.fdatasync(fd, path: path)
                syncCalls.add(1, ordering: .relaxed)
                syncedGeneration.max(generation, ordering: .releasing)
                lastSyncNanos = monotonicNanos()
            } catch {
                // As for a failed write: the page cache state is unknown, stop accepting appends.
                state.withLock { s in if s.failure == nil { s.failure = error } }
                break
            }
        }
        threadExited()
    }
}
