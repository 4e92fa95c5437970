// WriteAheadLog — the storage layer of Sluice's embedded durable log.
//
// DESIGN
//
// Files. A log is a directory of segment files named by the sequence of their first record, 20 digits
// zero-padded (`00000000000000000000.seg`), holding back-to-back records (framing in RecordCodec.swift:
// magic/version, length, CRC-32C, sequence, receivedAt, routes, event id, body; little-endian), plus one
// 16-byte `cursor-<name>` file per configured (sink or subscription) cursor and a `wal.lock` file `flock`ed
// while the log is open. The last segment is the active one; all others are sealed.
//
// Threading. Blocking I/O never runs on Swift's cooperative pool:
//   * one dedicated writer thread (pthread) owns the active segment's descriptor: it writes, syncs,
//     rolls segments over and resumes the appenders' continuations;
//   * with `.interval`, one syncer thread runs the periodic `fdatasync`s concurrently with the writer's
//     next writes, so appends never wait behind a periodic sync;
//   * one maintenance thread persists cursors, deletes segments (retention) and computes cursor ages;
//   * readers' file reads run on a private serial DispatchQueue.
// Shared state (queue, catalog of segments, memory tail, cursors, waiters) lives in one
// `Mutex<LogState>`; critical sections are short and never do I/O. The background threads sleep on a
// pthread condition variable (`WakeSignal`, a sticky flag so no wake-up is lost).
//
// Group commit. `append` computes the entries' encoded size, then, under the lock, checks the quota
// (published disk bytes + bytes reserved by queued appends + its own ≤ maxDiskBytes), reserves, queues
// one item holding its entries and ONE continuation, and signals the writer. The writer takes the whole
// queue at once, assigns consecutive sequences in queue order, encodes every record into one buffer and
// issues one `pwrite` (a batch is split only where a segment fills up and is sealed), then, for `.always`,
// one `fdatasync` covering the whole batch. Only then does it publish (catalog sizes, next sequence, memory
// tail — all under the lock, so readers see a record exactly when its append is about to return) and
// resume every caller of the batch. While the writer is busy writing or syncing, new appends pile up in
// the queue and form the next batch, so the number of writes and syncs per append falls as load grows.
// `.interval(d)`: callers resume after the write; the syncer thread `fdatasync`s the active segment when
// something was written since the last sync and at least `d` has passed since it (sleeping until that
// deadline, or until the next write when there is nothing to sync). `.never`: sync only when sealing, at
// `checkpoint()` and at `close()`. The writer bumps a "written" generation after each write; every sync
// records the generation it covers, so no sync is issued when nothing new was written.
//
// Rollover. When the active segment reaches `segmentSizeBytes` the writer `fdatasync`s and closes it,
// creates the next segment (named by the next sequence) and syncs the directory. A segment file is only
// ever created after its predecessor's final sync returned, so every segment that has a successor is
// complete ("known sealed").
//
// Recovery (at open). Sealed segments are trusted (their integrity is still checked record by record
// whenever a reader reads them; damage there surfaces as `WALError.corrupt` and the reader skips to the
// next segment). The last segment is scanned from offset 0 with a bounded buffer: every record's magic,
// lengths, CRC-32C and sequence (consecutive from the file name) are verified; at the first torn or
// damaged record the file is truncated (`ftruncate` + `fdatasync`) and the fact is reported in
// `RecoveryReport`. Appends continue with the next sequence. Sink cursors are loaded and clamped into
// [oldest retained, next sequence]; subscription cursors only to the next sequence.
//
// Retention (Maintenance.swift). A sealed segment is never deleted before every sink cursor (`cursorNames`)
// has a persisted position past it. Without subscription cursors it is deleted as soon as they have. With
// subscription cursors (`subscriptionCursorNames`, which hold nothing) it is kept, for subscriptions and replay,
// until its newest record's `receivedAtMillis` is older than `subscriptionRetention` or the quota needs room:
// the maintenance pass deletes such segments oldest first while disk + reserved bytes + one segment exceed
// `maxDiskBytes`, and an append that would exceed the quota takes them out of the catalog itself (the
// maintenance thread unlinks the files), so it is refused only once none is left. Each segment's newest
// receive time is tracked in the catalog: by the writer, by the recovery scan of the active segment, and from the
// file's modification time for the other segments found at open. A reader whose position was deleted continues
// at the oldest retained record.
//
// Failure. A failed write or sync leaves the file in an unknown state (and after a failed fsync Linux may
// have dropped the dirty pages), so the log enters a sticky failed state: the batch and all later
// appends fail with `.io` until the log is reopened, which truncates any torn tail.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An embedded, segmented, crash-safe append-only log with group commit, per-sink cursors, subscription cursors,
/// retention and a disk quota. See the design notes atop this file and docs/write-ahead-log.md.
public final class WriteAheadLog: Sendable {
    let core: LogCore

    private init(core: LogCore) {
        self.core = core
    }

    deinit {
        core.requestStop()
    }

    /// Opens the log in `configuration.directory`, creating it or recovering it.
    ///
    /// Recovery scans the last (active) segment — every other segment is known sealed — verifies every
    /// record's CRC, truncates at the first torn or damaged record (`ftruncate` + `fdatasync`) and reports
    /// it in ``recovery``. Throws `.invalidConfiguration` for a bad configuration or a directory already
    /// open (in this or another process), `.io` when the files cannot be read or created.
    /// Blocking: the recovery scan (up to one segment) runs on the calling thread; call it at startup.
    public static func open(_ configuration: WALConfiguration) throws(WALError) -> WriteAheadLog {
        try validate(configuration)
        var directory = configuration.directory
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        try FileIO.makeDirectories(directory)

        let lockPath = directory + "/wal.lock"
        let lockFD = try FileIO.open(lockPath, O_RDWR | O_CREAT)
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            FileIO.closeQuietly(lockFD)
            throw WALError(
                .invalidConfiguration, "the log directory is already open", errno: code, path: lockPath)
        }
        let opened: Opened
        do throws(WALError) {
            opened = try recover(configuration, directory: directory, lockFD: lockFD)
        } catch {
            FileIO.closeQuietly(lockFD)
            throw error
        }
        let core = LogCore(configuration: configuration, state: opened.state, recovery: opened.report)
        try core.startThreads(writer: opened.writer)
        return WriteAheadLog(core: core)
    }

    /// What recovery found when the log was opened.
    public var recovery: RecoveryReport {
        core.recovery
    }

    /// Appends entries as one group: they get consecutive sequences and land in the same write.
    ///
    /// Concurrent callers are gathered into ONE `write()` and, for `.always`, ONE `fdatasync`; each caller
    /// resumes after the write (`.never`/`.interval`) or the sync (`.always`) that covers its records.
    /// Sequences are assigned in append order, gap-free. Throws `.quotaExceeded` (nothing written) if the
    /// data would push the segment files over `maxDiskBytes` (with subscription cursors: once every segment kept
    /// only for subscriptions has been let go to make room), `.closed` after `close()`, `.io` after a
    /// failed write or sync, `.invalidArgument` for an entry over 1 GiB. Not cancellable: once queued,
    /// the append completes.
    public func append(_ entries: [LogEntry]) async throws(WALError) -> [AppendReceipt] {
        var bytes = 0
        for entry in entries {
            let size = RecordCodec.encodedSize(entry)
            if size > RecordCodec.maxRecordSize {
                throw WALError(.invalidArgument, "entry \(entry.eventID) encodes to \(size) bytes, over the 1 GiB limit")
            }
            bytes += size
        }
        let core = core
        let maxDisk = core.configuration.maxDiskBytes
        let reclaims = core.configuration.retainsReleasedSegments
        let room = max(bytes, core.configuration.segmentSizeBytes)
        let result = await withUnsafeContinuation { (c: UnsafeContinuation<Result<[AppendReceipt], WALError>, Never>) in
            let (refusal, reclaimed): (WALError?, Bool) = core.state.withLock { s in
                if s.closed { return (WALError(.closed, "the log is closed"), false) }
                if let failure = s.failure { return (failure, false) }
                if entries.isEmpty { return (nil, false) }
                var reclaimed = false
                if s.diskBytes + s.reservedBytes + bytes > maxDisk, reclaims, bytes <= maxDisk {
                    // Segments kept only for subscriptions never cost intake: take them out of the catalog now
                    // (the maintenance thread, woken below, unlinks the files).
                    let freed = core.releaseSegments(&s, room: room)
                    s.pendingUnlinks += freed.map(\.base)
                    reclaimed = !freed.isEmpty
                }
                if s.diskBytes + s.reservedBytes + bytes > maxDisk {
                    s.quotaRefusing = true
                    let error = WALError(
                        .quotaExceeded,
                        "appending \(bytes) bytes would exceed the disk quota of \(maxDisk) bytes "
                            + "(\(s.diskBytes) on disk, \(s.reservedBytes) pending)",
                        path: core.directory)
                    return (error, reclaimed)
                }
                s.reservedBytes += bytes
                s.quotaRefusing = false
                s.queue.append(.append(entries, bytes: bytes, c))
                return (nil, reclaimed)
            }
            if let refusal {
                c.resume(returning: .failure(refusal))
                if refusal.code == .quotaExceeded { core.maintenanceWake.signal() }
            } else if entries.isEmpty {
                c.resume(returning: .success([]))
            } else {
                core.writerWake.signal()
                if reclaimed { core.maintenanceWake.signal() }
            }
        }
        return try result.get()
    }

    /// Appends one entry: the single-entry form of `append(_ entries:)`, with the same guarantees and errors.
    public func append(_ entry: LogEntry) async throws(WALError) -> AppendReceipt {
        let receipts = try await append([entry])
        guard let receipt = receipts.first else {
            throw WALError(.io, "the writer returned no receipt")
        }
        return receipt
    }

    /// A reader that starts at the position of cursor `name` (its last committed value; after a restart the
    /// persisted one; the oldest retained record if it was never committed). Several readers may exist.
    /// Works alike for sink cursors (`cursorNames`) and subscription cursors (`subscriptionCursorNames`); a
    /// subscription cursor behind the oldest retained record starts there (the sequences show the gap).
    /// Throws `.invalidArgument` if `name` is not a configured cursor, `.closed` after `close()`.
    public func makeReader(cursor name: String) throws(WALError) -> LogReader {
        let start: UInt64? = core.state.withLock { s in
            guard let c = s.cursors[name] else { return nil }
            return max(c.committed, s.firstSequence)
        }
        guard let start else {
            let configured = core.configuration.cursorNames + core.configuration.subscriptionCursorNames
            throw WALError(.invalidArgument, "unknown cursor \"\(name)\" (configured: \(configured))")
        }
        if core.state.withLock({ $0.closed }) { throw WALError(.closed, "the log is closed") }
        return LogReader(core: core, cursor: name, position: start)
    }

    /// A reader at `sequence` (clamped to the retained range) that belongs to no cursor: it holds nothing and
    /// persists nothing (live streams, the events API). Throws `.closed` after `close()`.
    public func makeReader(at sequence: UInt64) throws(WALError) -> LogReader {
        let start: UInt64 = core.state.withLock { s in min(max(sequence, s.firstSequence), s.nextSequence) }
        if core.state.withLock({ $0.closed }) { throw WALError(.closed, "the log is closed") }
        return LogReader(core: core, cursor: "", position: start)
    }

    /// Marks every record with sequence < `next` as acknowledged by cursor `name`. Monotonic: lower values
    /// are ignored; values beyond the next sequence are clamped to it; unknown names are ignored. Cheap (in
    /// memory); cursors are persisted (temp file + sync + rename + directory sync) by the background work
    /// every `maintenanceInterval` (100 ms by default, whatever the fsync policy), at ``checkpoint()`` and at
    /// ``close()``. After a crash a cursor
    /// may be behind what was committed: redelivery is at-least-once.
    public func commit(cursor name: String, next: UInt64) {
        core.state.withLock { s in
            guard let c = s.cursors[name] else { return }
            let value = min(next, s.nextSequence)
            if value > c.committed { s.cursors[name]?.committed = value }
            s.cursors[name]?.hasPosition = true
        }
    }

    /// Moves subscription cursor `name` to `next`, backwards too (a replay); sink cursors only move forward
    /// (``commit(cursor:next:)``) and are left alone here.
    public func rewind(cursor name: String, to next: UInt64) {
        guard core.configuration.subscriptionCursorNames.contains(name) else { return }
        core.state.withLock { s in
            guard s.cursors[name] != nil else { return }
            s.cursors[name]?.committed = min(next, s.nextSequence)
            s.cursors[name]?.hasPosition = true
        }
    }

    /// True when cursor `name` has a position of its own: loaded from its cursor file at open, or committed since
    /// (so a new subscription can choose where it starts). False for unknown names.
    public func hasCursorPosition(_ name: String) -> Bool {
        core.state.withLock { $0.cursors[name]?.hasPosition ?? false }
    }

    /// The sequence of the oldest retained record (equals ``nextSequence`` when nothing is retained; cheap).
    public var firstSequence: UInt64 {
        core.state.withLock { $0.firstSequence }
    }

    /// The sequence the next append gets (cheap: one lock, no allocation).
    public var nextSequence: UInt64 {
        core.state.withLock { $0.nextSequence }
    }

    /// Live figures for `/health` and `/metrics`.
    public var stats: WALStats {
        core.state.withLock { s in
            let first = s.firstSequence
            var cursors: [String: UInt64] = [:]
            var subscriptions: [String: UInt64] = [:]
            var ages: [String: Int64?] = [:]
            for (name, c) in s.cursors {
                guard c.holdsSegments else {
                    subscriptions[name] = c.committed
                    continue
                }
                let position = max(c.committed, first)
                cursors[name] = position
                let age: Int64?
                if position >= s.nextSequence {
                    age = nil
                } else if let entry = s.tail.entry(at: position) {
                    age = entry.record.receivedAtMillis
                } else if let cached = c.age {
                    age = cached.millis
                } else if let oldest = s.tail.firstSequence, let entry = s.tail.entry(at: oldest) {
                    age = entry.record.receivedAtMillis
                } else {
                    age = nil
                }
                ages.updateValue(age, forKey: name)
            }
            return WALStats(
                diskBytes: s.diskBytes,
                segmentCount: s.segments.count,
                firstSequence: first,
                nextSequence: s.nextSequence,
                cursors: cursors,
                subscriptionCursors: subscriptions,
                isRefusingIntake: s.closed || s.failure != nil || s.quotaRefusing,
                oldestUnacknowledgedMillis: ages)
        }
    }

    /// Makes everything appended so far durable (`fdatasync` if anything is unsynced), persists the cursors
    /// and applies retention now, returning when all of it is done. Useful before a planned shutdown step, in
    /// tests, and after committing cursors to free quota without waiting for the background period.
    /// Throws `.closed` after `close()`, `.io` if a sync or a cursor write failed.
    public func checkpoint() async throws(WALError) {
        let core = core
        let synced = await withUnsafeContinuation { (c: UnsafeContinuation<Result<Void, WALError>, Never>) in
            let refusal: WALError? = core.state.withLock { s in
                if s.closed { return WALError(.closed, "the log is closed") }
                if let failure = s.failure { return failure }
                s.queue.append(.sync(c))
                return nil
            }
            if let refusal { c.resume(returning: .failure(refusal)) } else { core.writerWake.signal() }
        }
        try synced.get()
        let error = await withUnsafeContinuation { (c: UnsafeContinuation<WALError?, Never>) in
            let running = core.state.withLock { s in
                guard s.maintenanceRunning, !s.closed else { return false }
                s.maintenanceRequests.append(c)
                return true
            }
            if running { core.maintenanceWake.signal() } else { c.resume(returning: WALError(.closed, "the log is closed")) }
        }
        if let error { throw error }
    }

    /// Syncs, persists cursors, stops the background threads and closes files; readers' `next()` return [].
    /// Appends queued before the call complete; appends after it throw `.closed`. Idempotent: every call
    /// returns once everything has stopped.
    public func close() async {
        await core.shutdown(.graceful)
    }

    // MARK: - Configuration checks

    static func validate(_ c: WALConfiguration) throws(WALError) {
        func bad(_ message: String) -> WALError {
            WALError(.invalidConfiguration, message, path: c.directory.isEmpty ? nil : c.directory)
        }
        if c.directory.isEmpty { throw bad("directory is empty") }
        if c.segmentSizeBytes < 1 { throw bad("segmentSizeBytes must be positive") }
        if c.maxDiskBytes < 1 { throw bad("maxDiskBytes must be positive") }
        if c.memoryTailBytes < 0 { throw bad("memoryTailBytes must not be negative") }
        if case .interval(let d) = c.fsync, nanoseconds(of: d) == 0 { throw bad("fsync interval must be positive") }
        if nanoseconds(of: c.maintenanceInterval) == 0 { throw bad("maintenanceInterval must be positive") }
        if c.subscriptionRetention < .zero { throw bad("subscriptionRetention must not be negative") }
        var seen = Set<String>()
        for name in c.cursorNames + c.subscriptionCursorNames {
            if !isValidCursorName(name) { throw bad("invalid cursor name \"\(name)\": use [A-Za-z0-9._-]+") }
            if !seen.insert(name).inserted { throw bad("duplicate cursor name \"\(name)\"") }
        }
    }

    /// Cursor names match `[A-Za-z0-9._-]+` (they become file names).
    static func isValidCursorName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 200
            && name.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
                    || b == 0x2D
            }
            && name != "." && name != ".."
    }

    // MARK: - Recovery

    private struct Opened {
        var state: LogState
        var writer: WriterContext
        var report: RecoveryReport
    }

    /// Lists the directory, verifies and truncates the tail segment, loads cursors.
    private static func recover(_ configuration: WALConfiguration, directory: String, lockFD: Int32) throws(WALError) -> Opened {
        let names = try FileIO.listDirectory(directory)
        for name in names where name.hasPrefix(CursorFile.temporaryPrefix) {
            try FileIO.unlink(directory + "/" + name)
        }
        var bases = names.compactMap(LogCore.segmentBase(fileName:)).sorted()
        func path(_ base: UInt64) -> String { directory + "/" + LogCore.segmentFileName(base) }

        if bases.isEmpty {
            let fd = try FileIO.open(path(0), O_WRONLY | O_CREAT | O_EXCL)
            FileIO.closeQuietly(fd)
            try FileIO.fsyncDirectory(directory)
            bases = [0]
        }
        var segments: [SegmentInfo] = []
        for base in bases.dropLast() {
            // Sealed: not rescanned, so the file's modification time (its last write, after every record in it was
            // received) stands in for its newest record's receive time (subscription retention).
            let status = try FileIO.sizeAndModification(path: path(base))
            segments.append(SegmentInfo(base: base, size: status?.size ?? 0, newestMillis: status?.modifiedMillis))
        }
        // The tail: verify every record, truncate at the first bad one.
        let tailBase = bases[bases.count - 1]
        let tailPath = path(tailBase)
        let fd = try FileIO.open(tailPath, O_RDWR)
        var report = RecoveryReport(segmentsScanned: 1, recordsRecovered: 0, truncatedBytes: 0, truncatedSegment: nil, reason: nil)
        let tailSize: Int
        do throws(WALError) {
            let fileSize = try FileIO.size(fd, path: tailPath)
            let scan = try SegmentScan.recoveryScan(fd: fd, path: tailPath, base: tailBase, fileSize: fileSize)
            if scan.validBytes < fileSize {
                try FileIO.truncate(fd, to: scan.validBytes, path: tailPath)
                try FileIO.fdatasync(fd, path: tailPath)
                report.truncatedBytes = fileSize - scan.validBytes
                report.truncatedSegment = tailBase
                report.reason = scan.problem ?? "trailing bytes after offset \(scan.validBytes)"
            }
            tailSize = scan.validBytes
            let next = tailBase + UInt64(scan.records)
            segments.append(SegmentInfo(base: tailBase, size: tailSize, newestMillis: scan.newestMillis))
            let first = segments[0].base
            // Clamped: segment names are read from disk, and a damaged or forged one can put `first` and `next`
            // more than Int.max apart.
            report.recordsRecovered = Int(clamping: next - first)

            var cursors: [String: CursorState] = [:]
            let subscriptionNames = Set(configuration.subscriptionCursorNames)
            for name in configuration.cursorNames + configuration.subscriptionCursorNames {
                let isSubscription = subscriptionNames.contains(name)
                var value = first
                var stored = false
                let cursorPath = directory + "/cursor-" + name
                if try FileIO.size(path: cursorPath) != nil {
                    let cfd = try FileIO.open(cursorPath, O_RDONLY)
                    let bytes: [UInt8]
                    do throws(WALError) {
                        bytes = try FileIO.pread(cfd, count: CursorFile.size + 1, at: 0, path: cursorPath)
                    } catch {
                        FileIO.closeQuietly(cfd)
                        throw error
                    }
                    FileIO.closeQuietly(cfd)
                    // A damaged cursor file (cannot happen with rename, but disks lie) means "start from the
                    // oldest retained record": redelivery, never loss.
                    if let decoded = CursorFile.decode(bytes) {
                        value = decoded
                        stored = true
                    }
                }
                // A subscription cursor behind the oldest retained record stays there: the gap is its to see.
                value = isSubscription ? min(value, next) : min(max(value, first), next)
                cursors[name] = CursorState(
                    committed: value, persisted: value, age: nil, probe: nil, holdsSegments: !isSubscription,
                    hasPosition: stored, hasFile: stored)
            }
            let state = LogState(
                segments: segments,
                diskBytes: segments.reduce(0) { $0 + $1.size },
                nextSequence: next,
                tail: MemoryTail(limit: configuration.memoryTailBytes),
                cursors: cursors,
                lockFD: lockFD)
            let writer = WriterContext(fd: fd, activeBase: tailBase, activeSize: tailSize, nextSequence: next)
            return Opened(state: state, writer: writer, report: report)
        } catch {
            FileIO.closeQuietly(fd)
            throw error
        }
    }

    // MARK: - Test seams (internal)

    /// `write()` and `fdatasync()` calls made by the writer so far, and batches processed.
    var ioCounters: (writes: Int, syncs: Int, batches: Int) {
        (
            core.writeCalls.load(ordering: .relaxed), core.syncCalls.load(ordering: .relaxed),
            core.batchCount.load(ordering: .relaxed)
        )
    }

    /// Appends queued for the writer and not yet taken by it.
    var queuedAppendCount: Int {
        core.state.withLock { s in
            s.queue.reduce(0) { n, item in if case .append = item { n + 1 } else { n } }
        }
    }

    /// Readers blocked in `next()` waiting for data.
    var waitingReaderCount: Int {
        core.state.withLock { $0.readerWaiters.count }
    }

    /// True while the `.interval` syncer sleeps with nothing left to sync.
    var isSyncerIdle: Bool {
        core.syncerIdle.load(ordering: .acquiring)
    }

    /// Stops the writer from taking queued work (to build a batch deterministically in tests).
    func pauseWriter() {
        core.state.withLock { $0.writerPaused = true }
    }

    /// Lets the writer take queued work again.
    func resumeWriter() {
        core.state.withLock { $0.writerPaused = false }
        core.writerWake.signal()
    }

    /// Simulates `kill -9`: stops the background threads without a final sync and without persisting cursors,
    /// closes the files. What reached the files with `write()` stays there, as after a process crash.
    func simulateCrash() async {
        await core.shutdown(.crash)
    }
}
