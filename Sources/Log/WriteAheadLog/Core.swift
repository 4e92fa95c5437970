// Shared state of an open log and the object the background threads and readers hold on to.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A segment file as published to readers, retention and stats.
struct SegmentInfo: Sendable, Equatable {
    /// Base sequence: the sequence of its first record and its file name.
    var base: UInt64
    /// Bytes of acknowledged (published) records in it.
    var size: Int
    /// The largest `receivedAtMillis` among its records, nil while it holds none (subscription retention). Set by
    /// the writer at publication and by the recovery scan for the active segment; for the other segments found at
    /// open, the file's modification time (written after its records were received, so never earlier).
    var newestMillis: Int64? = nil
}

/// Work handed to the writer thread.
enum WriterItem: Sendable {
    /// An `append` call: its entries, their encoded size, and the continuation resumed with the receipts.
    case append([LogEntry], bytes: Int, UnsafeContinuation<Result<[AppendReceipt], WALError>, Never>)
    /// A sync request (`checkpoint`): resumed once everything written before it is synced.
    case sync(UnsafeContinuation<Result<Void, WALError>, Never>)
}

/// How the background threads stop.
enum StopMode: Sendable, Equatable {
    /// `close()`: drain queued appends, sync, persist cursors.
    case graceful
    /// Test seam simulating `kill -9`: stop without syncing data or persisting cursors.
    case crash
}

/// State of one cursor.
struct CursorState: Sendable {
    /// Next sequence to deliver, as committed in memory (monotonic).
    var committed: UInt64
    /// Value last written to the cursor file (or loaded from it).
    var persisted: UInt64
    /// `receivedAtMillis` of the record at `sequence`, computed by the maintenance thread.
    var age: (sequence: UInt64, millis: Int64)?
    /// Where the maintenance thread last found a record of this cursor's segment (speeds the next lookup).
    var probe: FileHint?
    /// True for sink cursors (`cursorNames`), which hold segments; false for subscription cursors.
    var holdsSegments: Bool
    /// Loaded from a cursor file at open, or committed since.
    var hasPosition: Bool
    /// A cursor file holds `persisted` (so a position committed at its initial value is still written once).
    var hasFile: Bool
}

/// Everything shared between API callers, the writer thread, the maintenance thread and readers.
struct LogState: Sendable {
    var closed = false
    var stopMode: StopMode?
    /// Sticky failure after a failed write/sync: appends are refused until the log is reopened.
    var failure: WALError?
    /// Appends and sync requests waiting for the writer (bounded: appends reserve quota bytes).
    var queue: [WriterItem] = []
    /// Appends the writer took but has not published yet (test seam / stats).
    var inFlightAppends = 0
    /// Encoded bytes of queued and in-flight appends (counted against the quota).
    var reservedBytes = 0
    /// Test seam: while true the writer leaves the queue alone.
    var writerPaused = false
    /// Published segments, ascending; the last is the active one. Never empty while open.
    var segments: [SegmentInfo]
    /// Sum of `segments[*].size`.
    var diskBytes: Int
    /// Next sequence to be published; records below it are acknowledged (visible to readers).
    var nextSequence: UInt64
    var tail: MemoryTail
    /// Bumped on every publication, retention pass and close; readers wait for it to change.
    var generation: UInt64 = 0
    var readerWaiters: [Int: UnsafeContinuation<Void, Never>] = [:]
    var nextWaiterID = 0
    /// Sink and subscription cursors (see `CursorState.holdsSegments`).
    var cursors: [String: CursorState]
    var quotaRefusing = false
    /// Segments an append removed from the catalog to make room (subscription retention), for the maintenance
    /// thread to unlink.
    var pendingUnlinks: [UInt64] = []
    var maintenanceRequests: [UnsafeContinuation<WALError?, Never>] = []
    var maintenanceRunning = true
    var threadsRunning = 2
    var closeWaiters: [UnsafeContinuation<Void, Never>] = []
    /// Descriptor holding the directory's `flock`, released when the last thread exits.
    var lockFD: Int32

    /// Oldest retained sequence.
    var firstSequence: UInt64 { segments.first?.base ?? nextSequence }
}

/// The shared core of a log: configuration, state, wake-ups and counters.
final class LogCore: Sendable {
    let configuration: WALConfiguration
    let directory: String
    let state: Mutex<LogState>
    let writerWake = WakeSignal()
    /// Wakes the syncer thread (`.interval` policy only) when it sleeps with nothing to sync.
    let syncerWake = WakeSignal()
    /// Bumped by the writer after every write (the syncer compares it with what it last synced).
    let writtenGeneration = Atomic<UInt64>(0)
    /// The highest `writtenGeneration` known synced (by the writer's or the syncer's `fdatasync`).
    let syncedGeneration = Atomic<UInt64>(0)
    /// Base sequence of the active segment, stored by the writer before it bumps `writtenGeneration`.
    let activeSegmentBase = Atomic<UInt64>(0)
    /// True while the syncer sleeps without a deadline (so the writer only signals it then).
    let syncerIdle = Atomic<Bool>(false)
    let maintenanceWake = WakeSignal()
    /// Serial queue on which readers' blocking file reads run (off the cooperative pool).
    let readerIO = DispatchQueue(label: "sluice.wal.reader-io")
    let recovery: RecoveryReport

    /// Test seams: system calls made by the writer.
    let writeCalls = Atomic<Int>(0)
    let syncCalls = Atomic<Int>(0)
    let batchCount = Atomic<Int>(0)

    init(configuration: WALConfiguration, state: LogState, recovery: RecoveryReport) {
        self.configuration = configuration
        var dir = configuration.directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        self.state = Mutex(state)
        self.recovery = recovery
    }

    /// Path of a segment file.
    func segmentPath(_ base: UInt64) -> String {
        directory + "/" + Self.segmentFileName(base)
    }

    /// Path of a cursor file.
    func cursorPath(_ name: String) -> String {
        directory + "/cursor-" + name
    }

    /// `00000000000000000042.seg`: base sequence, 20 digits zero-padded.
    static func segmentFileName(_ base: UInt64) -> String {
        let digits = String(base)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    /// Parses a segment file name, nil if it is not one.
    static func segmentBase(fileName: String) -> UInt64? {
        guard fileName.hasSuffix(".seg") else { return nil }
        let digits = fileName.dropLast(4)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    /// Starts the maintenance, writer and (for `.interval`) syncer threads, handing them the writer context
    /// and the directory lock. On failure every descriptor is released (directly, or by the threads that did
    /// start as they exit).
    func startThreads(writer: WriterContext) throws(WALError) {
        var intervalNanos: UInt64?
        if case .interval(let d) = configuration.fsync { intervalNanos = max(1, nanoseconds(of: d)) }
        activeSegmentBase.store(writer.activeBase, ordering: .releasing)
        let threads =
            [
                BackgroundThread(name: "wal-maintenance") { [self] in runMaintenance() },
                BackgroundThread(name: "wal-writer") { [self] in runWriter(writer) },
            ] + (intervalNanos.map { interval in [BackgroundThread(name: "wal-syncer") { [self] in runSyncer(intervalNanos: interval) }] } ?? [])
        state.withLock { s in s.threadsRunning = threads.count }
        for (index, thread) in threads.enumerated() {
            do {
                try thread.start()
            } catch {
                if index <= 1 { FileIO.closeQuietly(writer.fd) } // the writer never started: its descriptor is ours
                if index == 0 {
                    let lockFD = state.withLock { s in
                        s.threadsRunning = 0
                        s.closed = true
                        return s.lockFD
                    }
                    FileIO.closeQuietly(lockFD)
                } else {
                    // The threads already started release the directory lock as the last of them exits.
                    state.withLock { s in s.threadsRunning = index }
                    requestStop()
                }
                throw error
            }
        }
    }

    /// Called by each background thread as it exits; the last one releases the directory lock and
    /// resumes `close()` callers.
    func threadExited() {
        let (waiters, lockFD): ([UnsafeContinuation<Void, Never>], Int32?) = state.withLock { s in
            s.threadsRunning -= 1
            guard s.threadsRunning == 0 else { return ([], nil) }
            let w = s.closeWaiters
            s.closeWaiters = []
            let fd = s.lockFD
            s.lockFD = -1
            return (w, fd)
        }
        if let lockFD, lockFD >= 0 { FileIO.closeQuietly(lockFD) }
        for w in waiters { w.resume() }
    }

    /// Stops the background work (`close()` or the crash test seam) and waits until it has stopped.
    func shutdown(_ mode: StopMode) async {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            let (done, readers) = beginShutdown(mode, closeWaiter: c)
            for r in readers { r.resume() }
            if done {
                c.resume()
            } else {
                writerWake.signal()
                maintenanceWake.signal()
                syncerWake.signal()
            }
        }
    }

    /// Marks the log closed without waiting (deinit of the log object).
    func requestStop() {
        let (_, readers) = beginShutdown(.graceful, closeWaiter: nil)
        for r in readers { r.resume() }
        writerWake.signal()
        maintenanceWake.signal()
        syncerWake.signal()
    }

    private func beginShutdown(
        _ mode: StopMode, closeWaiter: UnsafeContinuation<Void, Never>?
    ) -> (done: Bool, readers: [UnsafeContinuation<Void, Never>]) {
        state.withLock { s in
            if s.threadsRunning == 0 { return (true, []) }
            if let closeWaiter { s.closeWaiters.append(closeWaiter) }
            if !s.closed {
                s.closed = true
                s.stopMode = mode
                s.generation &+= 1
            }
            let readers = Array(s.readerWaiters.values)
            s.readerWaiters = [:]
            return (false, readers)
        }
    }

    /// Waits until the publication generation differs from `generation`, the log closes, or the task is cancelled.
    func waitForPublication(after generation: UInt64) async {
        let id = state.withLock { s in
            s.nextWaiterID &+= 1
            return s.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.closed || s.generation != generation || Task.isCancelled { return true }
                    s.readerWaiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s in s.readerWaiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}

/// A dedicated OS thread (not part of Swift's cooperative pool) running one closure.
final class BackgroundThread: Sendable {
    private let name: String
    private let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    /// Starts the thread, detached; it ends when `body` returns.
    func start() throws(WALError) {
        let box = Unmanaged.passRetained(self)
        var thread: pthread_t = 0
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let me = Unmanaged<BackgroundThread>.fromOpaque(raw).takeRetainedValue()
                #if os(Linux)
                // Named threads show up separately in top, perf and /proc/PID/task (Linux keeps 15 characters).
                // Glibc's pthread_setname_np is not visible to Swift, so write the name where the kernel reads it.
                let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
                if fd >= 0 {
                    let name = Array(me.name.utf8.prefix(15))
                    _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                }
                #endif
                me.body()
                return nil
            }, box.toOpaque())
        if rc == 0 { pthread_detach(thread) }
        if rc != 0 {
            box.release()
            throw WALError(.io, "cannot start thread \(name)", errno: rc)
        }
    }
}
