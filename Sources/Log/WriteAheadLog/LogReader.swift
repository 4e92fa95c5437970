// Sequential readers: served from the memory tail when possible, from segment files otherwise.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader's private position.
struct ReaderState: Sendable {
    /// Next sequence to return.
    var position: UInt64
    /// Known file offset of a record (from the last read), to continue without searching.
    var hint: FileHint?
    /// Open descriptor of the segment last read.
    var file: (segment: UInt64, fd: Int32)?
    /// After a damaged record: skip the rest of this segment.
    var skipSegment: UInt64?
}

/// What a reader should do next, decided under the log's lock.
enum ReadPlan: Sendable {
    case closed
    case records([LogRecord], after: FileHint?, position: UInt64)
    case file(SegmentScan.ReadRequest)
    case wait(generation: UInt64, position: UInt64)
}

/// Sequential reader for one cursor. Serves records from the in-memory tail when it can and from segment
/// files otherwise (after a restart, or when it fell behind the memory tail), transparently. Use one reader
/// from one task at a time; create several readers for parallel consumers.
public final class LogReader: Sendable {
    let core: LogCore
    /// The cursor this reader was made for.
    public let cursor: String
    let state: Mutex<ReaderState>

    init(core: LogCore, cursor: String, position: UInt64) {
        self.core = core
        self.cursor = cursor
        self.state = Mutex(ReaderState(position: position))
    }

    deinit {
        if let file = state.withLock({ $0.file }) { FileIO.closeQuietly(file.fd) }
    }

    /// The sequence the next call to ``next(maxRecords:maxBytes:)`` starts at.
    public var position: UInt64 {
        state.withLock { $0.position }
    }

    /// Waits until at least one record at/after the reader's position is acknowledged (its append returned
    /// or is about to), then returns up to `maxRecords` records / about `maxBytes` bytes (at least one).
    ///
    /// Returns [] promptly if the calling task is cancelled or the log is closed. Never returns a record
    /// whose CRC fails: a damaged record is reported as `WALError.corrupt` with its location (path, segment,
    /// offset) and the reader skips to the next segment on the following call. If the records at the
    /// position were deleted by retention (another reader committed past them), it continues at the oldest
    /// retained record.
    public func next(maxRecords: Int, maxBytes: Int) async throws(WALError) -> [LogRecord] {
        let maxRecords = max(1, maxRecords)
        let maxBytes = max(1, maxBytes)
        while true {
            if Task.isCancelled { return [] }
            let snapshot = state.withLock { ($0.position, $0.hint, $0.skipSegment) }
            let plan = core.plan(
                position: snapshot.0, hint: snapshot.1, skipSegment: snapshot.2, maxRecords: maxRecords,
                maxBytes: maxBytes)
            switch plan {
            case .closed:
                closeFile()
                return []
            case .records(let records, let after, let position):
                state.withLock { s in
                    s.position = (records.last?.sequence).map { $0 + 1 } ?? position
                    s.hint = after
                    s.skipSegment = nil
                }
                if !records.isEmpty { return records }
            case .wait(let generation, let position):
                state.withLock { s in
                    if s.position != position { s.hint = nil }
                    s.position = position
                    s.skipSegment = nil
                }
                await core.waitForPublication(after: generation)
            case .file(let request):
                let records = try await readFile(request)
                if !records.isEmpty { return records }
            }
        }
    }

    /// Moves the reader to `sequence`, which must lie in [oldest retained, next sequence], e.g. to re-read
    /// records a sink failed to deliver. Throws `.invalidArgument` otherwise.
    public func seek(to sequence: UInt64) throws(WALError) {
        let (first, next) = core.state.withLock { ($0.firstSequence, $0.nextSequence) }
        guard sequence >= first, sequence <= next else {
            throw WALError(.invalidArgument, "cannot seek to \(sequence): retained sequences are \(first)..<\(next)")
        }
        state.withLock { s in
            s.position = sequence
            s.hint = nil
            s.skipSegment = nil
        }
    }

    private func closeFile() {
        if let file = state.withLock({ s in
            let f = s.file
            s.file = nil
            return f
        }) {
            FileIO.closeQuietly(file.fd)
        }
    }

    /// Runs one bounded file read on the log's reader I/O queue and applies its outcome to the position.
    private func readFile(_ request: SegmentScan.ReadRequest) async throws(WALError) -> [LogRecord] {
        // Take the cached descriptor (if it is for this segment) out of the state for the duration of the read.
        let cached: Int32? = state.withLock { s in
            guard let f = s.file else { return nil }
            if f.segment == request.segment {
                s.file = nil
                return f.fd
            }
            return nil
        }
        if cached == nil { closeFile() }
        let outcome: FileOutcome = await withUnsafeContinuation { (c: UnsafeContinuation<FileOutcome, Never>) in
            core.readerIO.async {
                c.resume(returning: Self.performRead(request, cachedFD: cached))
            }
        }
        if let fd = outcome.fd {
            let previous: Int32? = state.withLock { s in
                let old = s.file?.fd
                s.file = (request.segment, fd)
                return old
            }
            if let previous, previous != fd { FileIO.closeQuietly(previous) }
        }
        switch outcome.result {
        case .success(let (records, nextOffset)):
            if let last = records.last {
                state.withLock { s in
                    s.position = last.sequence + 1
                    s.hint = FileHint(segment: request.segment, offset: nextOffset, sequence: last.sequence + 1)
                    s.skipSegment = nil
                }
            }
            return records
        case .failure(let error) where error.code == .corrupt:
            state.withLock { s in
                s.skipSegment = request.segment
                s.hint = nil
            }
            throw error
        case .failure(let error) where error.code == .io && error.errno == ENOENT:
            // Deleted by retention between planning and opening: plan again (the position moves forward).
            let stillListed = core.state.withLock { s in s.segments.contains { $0.base == request.segment } }
            if stillListed { throw error }
            return []
        case .failure(let error):
            throw error
        }
    }

    /// Result of a file read, carrying the descriptor to cache.
    struct FileOutcome: Sendable {
        var result: Result<([LogRecord], Int), WALError>
        var fd: Int32?
    }

    /// Opens (if needed) and reads; runs on the reader I/O queue.
    static func performRead(_ request: SegmentScan.ReadRequest, cachedFD: Int32?) -> FileOutcome {
        let fd: Int32
        if let cachedFD {
            fd = cachedFD
        } else {
            do throws(WALError) {
                fd = try FileIO.open(request.path, O_RDONLY)
            } catch {
                return FileOutcome(result: .failure(error), fd: nil)
            }
        }
        do throws(WALError) {
            let (records, nextOffset) = try SegmentScan.read(fd: fd, request)
            return FileOutcome(result: .success((records, nextOffset)), fd: fd)
        } catch {
            return FileOutcome(result: .failure(error), fd: fd)
        }
    }
}

extension LogCore {
    /// Decides, under the lock, where the next records for a reader come from.
    func plan(
        position start: UInt64, hint: FileHint?, skipSegment: UInt64?, maxRecords: Int, maxBytes: Int
    ) -> ReadPlan {
        state.withLock { s in
            if s.closed { return .closed }
            var position = start
            if let skipSegment {
                guard let next = s.segments.first(where: { $0.base > skipSegment }) else {
                    return .wait(generation: s.generation, position: position)
                }
                position = max(position, next.base)
            }
            position = max(position, s.firstSequence)
            if position >= s.nextSequence { return .wait(generation: s.generation, position: position) }
            if let tailFirst = s.tail.firstSequence, position >= tailFirst {
                let (records, after) = s.tail.collect(from: position, maxRecords: maxRecords, maxBytes: maxBytes)
                return .records(records, after: after, position: position)
            }
            guard let index = s.segments.lastIndex(where: { $0.base <= position }) else {
                return .wait(generation: s.generation, position: position)
            }
            let segment = s.segments[index]
            var offset: Int?
            if let hint, hint.segment == segment.base, hint.sequence == position {
                offset = hint.offset
            } else if position == segment.base {
                offset = 0
            }
            return .file(
                SegmentScan.ReadRequest(
                    segment: segment.base, path: segmentPath(segment.base), sequence: position, offset: offset,
                    hint: hint, endBytes: segment.size, limitSequence: s.nextSequence, maxRecords: maxRecords,
                    maxBytes: maxBytes))
        }
    }
}
