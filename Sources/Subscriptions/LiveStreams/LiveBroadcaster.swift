public import GatewayCore
public import GatewayLog
public import NIOCore
public import ServiceLifecycle
import Synchronization

/// How a live connection sends its events; the broadcaster frames each event once for each format in use.
public enum LiveFormat: Sendable, Hashable {
    /// `text/event-stream`: every event of a read in one buffer.
    case serverSentEvents
    /// One WebSocket text message per event.
    case webSocket
}

/// One stream's part of one broadcaster read: its records and, for connections without a filter, their bytes,
/// framed once and shared by every such connection.
public struct LiveBatch: Sendable {
    /// The stream's records in the read, in log order.
    public var records: [SinkRecord]
    /// Sequences the log dropped before the broadcaster read them (retention), when the read found such a gap.
    public var skipped: ClosedRange<UInt64>?
    /// The first sequence the read covered (every stream's records), and the one after it.
    public var first: UInt64
    public var next: UInt64
    /// Every record as server-sent events, one buffer; nil when no unfiltered SSE connection listened.
    public var serverSentEvents: ByteBuffer?
    /// Every record as a WebSocket message; nil when no unfiltered WebSocket connection listened.
    public var webSocketMessages: [ByteBuffer]?
    /// The same messages as encoded WebSocket text frames, one after another (a server's frames are not masked, so
    /// these bytes are the same for every connection); nil when ``webSocketMessages`` is.
    public var webSocketFrames: ByteBuffer?
}

/// RFC 6455 §5.2 framing of one text message as a server sends it: FIN set, opcode 1, no mask, the payload's length
/// in 7, 7+16 or 7+64 bits.
public enum WebSocketTextFrame {
    /// Appends the frame of `payload` (UTF-8 text) to `out`.
    public static func append(_ payload: [UInt8], to out: inout [UInt8]) {
        out.append(0x81)
        let count = payload.count
        if count < 126 {
            out.append(UInt8(truncatingIfNeeded: count))
        } else if count <= 0xFFFF {
            out.append(126)
            out.append(UInt8(truncatingIfNeeded: count >> 8))
            out.append(UInt8(truncatingIfNeeded: count))
        } else {
            out.append(127)
            let length = UInt64(count)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        }
        out.append(contentsOf: payload)
    }
}

/// A connection's channel, for the broadcaster to write the connection's reads itself, on the channel's event loop:
/// no task of the connection runs per read, and a read is one write and one flush.
public struct LiveDirectOutput: Sendable {
    /// The channel's event loop; ``isWritable`` and ``write`` are called on it.
    public var eventLoop: any EventLoop
    /// Whether the channel is open and takes more without queueing past its high-water mark.
    public var isWritable: @Sendable () -> Bool
    /// Writes the bytes of one read (SSE, or encoded WebSocket frames) and flushes.
    public var write: @Sendable ([ByteBuffer]) -> Void

    public init(eventLoop: any EventLoop, isWritable: @escaping @Sendable () -> Bool, write: @escaping @Sendable ([ByteBuffer]) -> Void) {
        self.eventLoop = eventLoop
        self.isWritable = isWritable
        self.write = write
    }
}

/// One reader of the log's tail shared by every live connection that has caught up with it (docs/live.md).
///
/// A connection starts on a reader of its own (``LiveSubscription``) when it resumes from the past, and joins the
/// broadcaster once it reached the end of the log. The broadcaster reads each record once and frames each event once
/// per format, then hands the same bytes to every connection of the stream, each through a bounded queue. A
/// connection whose queue is full is dropped from the broadcast at that read and goes back to reading the log by
/// itself from there; it never holds the broadcaster, or the other connections, back.
///
/// It reads only while someone listens: with no connection joined it lets go of its reader and waits.
public final class LiveBroadcaster: Service, Sendable {
    struct StreamKey: Hashable, Sendable {
        var team: String
        var app: String
    }

    struct Listener: Sendable {
        var stream: StreamKey
        var filter: LiveFilter
        var format: LiveFormat
        var queue: LiveQueue
        /// Where the broadcaster writes this connection's reads itself (unfiltered connections that gave one); its
        /// queue then only carries the end or a detach.
        var direct: DirectListener?
        /// Records before this sequence are not this connection's (it joined there).
        var from: UInt64 = 0
    }

    /// A direct listener's output and whether it stalled (confined to its event loop once joined).
    final class DirectListener: Sendable {
        let output: LiveDirectOutput
        let stalled = Mutex(false)

        init(output: LiveDirectOutput) {
            self.output = output
        }
    }

    struct State {
        /// The next sequence the broadcaster hands out; nil while nobody listens (no reader).
        var position: UInt64?
        var listeners: [UInt64: Listener] = [:]
        var nextID: UInt64 = 0
        var wake: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    let log: any EventLog
    /// A connection's queue holds at most this many reads, or about this many payload bytes.
    let maxQueuedBatches: Int
    let maxQueuedBytes: Int
    /// The least time between the starts of two reads: under load a read gathers what arrived meanwhile, so each
    /// connection gets one write per interval instead of one per append; an event waits at most this long for it.
    /// (Fixed, not scaled by the connections joined: connections that fall behind leave the broadcast, and a
    /// shorter interval then would cost the rest more writes just when the machine is busiest.)
    let readInterval: Duration
    let clock: ElapsedClock
    private let state = Mutex(State())

    public init(
        log: any EventLog, maxQueuedBatches: Int = 256, maxQueuedBytes: Int = 8 << 20, readInterval: Duration = .milliseconds(50),
        clock: ElapsedClock = ElapsedClock()
    ) {
        self.log = log
        self.maxQueuedBatches = maxQueuedBatches
        self.maxQueuedBytes = maxQueuedBytes
        self.readInterval = readInterval
        self.clock = clock
    }

    /// Reads the log's tail for whoever listens, until graceful shutdown or cancellation; then every joined
    /// connection's queue ends.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.broadcast()
        }
        let queues = state.withLock { state in
            state.stopped = true
            defer { state.listeners.removeAll() }
            return state.listeners.values.map(\.queue)
        }
        for queue in queues { queue.close() }
    }

    /// Joined connections, for tests and figures.
    public var listenerCount: Int { state.withLock { $0.listeners.count } }

    /// Whether it holds no reader (nobody listened at its last read).
    public var isIdle: Bool { state.withLock { $0.position == nil } }

    /// Reads for whoever listens until cancelled. When the log cannot be read (it closed, or an I/O error), every
    /// joined connection goes back to a reader of its own from where the broadcast stopped (which reports the
    /// error or the end), and the broadcaster waits for the next to join.
    func broadcast() async {
        while let start = await listenersArrived() {
            var expected = start
            var idle = false
            if let reader = try? log.makeTailReader(from: start) {
                expected = max(start, log.firstSequence)
                var lastRead = clock.now - readInterval
                while !Task.isCancelled {
                    // Within an interval of the last read, what arrives meanwhile waits for the rest of it.
                    let due = lastRead + readInterval
                    if clock.now < due { try? await clock.sleep(until: due, tolerance: nil) }
                    guard let records = try? await reader.next(maxRecords: 2000, maxBytes: 8 << 20),
                        let first = records.first?.sequence, let last = records.last?.sequence
                    else { break }
                    lastRead = clock.now
                    let skipped = first > expected ? expected...(first - 1) : nil
                    let read = (records: records, skipped: skipped, first: expected, next: last + 1)
                    expected = last + 1
                    if !hand(read) {
                        idle = true
                        break
                    }
                }
            }
            if Task.isCancelled { return }
            if idle { continue }
            let detached = state.withLock { state in
                defer {
                    state.listeners.removeAll()
                    state.position = nil
                }
                return state.listeners.values.map(\.queue)
            }
            for queue in detached { queue.detach(resumeFrom: expected) }
        }
    }

    /// Waits until a connection joined; its position, or nil on cancellation or stop.
    private func listenersArrived() async -> UInt64? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.position != nil || state.stopped || Task.isCancelled { return true }
                    state.wake = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            return state.withLock { $0.stopped || Task.isCancelled ? nil : $0.position }
        } onCancel: {
            state.withLock { state in
                defer { state.wake = nil }
                return state.wake
            }?.resume()
        }
    }

    /// Frames one read for the streams that have listeners and offers it to each of them; false when nobody
    /// listens any more (the broadcaster goes idle).
    private func hand(_ read: (records: [SinkRecord], skipped: ClosedRange<UInt64>?, first: UInt64, next: UInt64)) -> Bool {
        // Which formats each stream's unfiltered listeners want, from a snapshot; listeners that join meanwhile
        // get the read too and frame what is missing themselves.
        let wanted = state.withLock { state in
            var wanted: [StreamKey: Set<LiveFormat>] = [:]
            for listener in state.listeners.values {
                if listener.filter.isEmpty {
                    wanted[listener.stream, default: []].insert(listener.format)
                } else if wanted[listener.stream] == nil {
                    wanted[listener.stream] = []
                }
            }
            return wanted
        }
        var batches: [StreamKey: LiveBatch] = [:]
        for record in read.records {
            let key = StreamKey(team: record.event.team, app: record.event.app)
            guard wanted[key] != nil else { continue }
            batches[key, default: LiveBatch(records: [], skipped: read.skipped, first: read.first, next: read.next)].records.append(record)
        }
        for (key, formats) in wanted {
            guard var batch = batches[key] else { continue }
            if formats.contains(.serverSentEvents) {
                var out: [UInt8] = []
                for record in batch.records { ServerSentEvents.append(record, to: &out) }
                batch.serverSentEvents = ByteBuffer(bytes: out)
            }
            if formats.contains(.webSocket) {
                var frames: [UInt8] = []
                batch.webSocketMessages = batch.records.map { record in
                    var out: [UInt8] = []
                    LiveMessage.append(record, to: &out)
                    WebSocketTextFrame.append(out, to: &frames)
                    return ByteBuffer(bytes: out)
                }
                batch.webSocketFrames = ByteBuffer(bytes: frames)
            }
            batches[key] = batch
        }
        let (dropped, listening): ([(LiveQueue, UInt64)], Bool) = state.withLock { state in
            var dropped: [(LiveQueue, UInt64)] = []
            var direct: [ObjectIdentifier: (any EventLoop, [(UInt64, DirectListener, LiveQueue, [ByteBuffer])])] = [:]
            for (id, listener) in state.listeners {
                let batch =
                    batches[listener.stream]
                    ?? (read.skipped.map { LiveBatch(records: [], skipped: $0, first: read.first, next: read.next) })
                guard let batch else { continue }
                if let target = listener.direct {
                    let frames = Self.frames(of: batch, for: listener)
                    guard !frames.isEmpty else { continue }
                    let loop = target.output.eventLoop
                    direct[ObjectIdentifier(loop), default: (loop, [])].1.append((id, target, listener.queue, frames))
                } else if !listener.queue.offer(batch, maxBatches: maxQueuedBatches, maxBytes: maxQueuedBytes) {
                    state.listeners.removeValue(forKey: id)
                    dropped.append((listener.queue, read.first))
                }
            }
            // One task per event loop per read, queued while the lock is held: a connection that leaves (and then
            // ends its response) does so after every write already queued for it.
            for (loop, targets) in direct.values {
                let resume = read.first
                loop.execute { [weak self] in
                    for (id, target, queue, frames) in targets {
                        let write = target.stalled.withLock { stalled -> Bool in
                            guard !stalled else { return false }
                            if !target.output.isWritable() { stalled = true }
                            return !stalled
                        }
                        if write {
                            target.output.write(frames)
                        } else if target.stalled.withLock({ $0 }) {
                            // Not taken (a slow or gone client): the connection reads from here by itself, once.
                            if self?.leave(id) == true { queue.detach(resumeFrom: resume) }
                        }
                    }
                }
            }
            state.position = state.listeners.isEmpty ? nil : read.next
            return (dropped, state.position != nil)
        }
        for (queue, resume) in dropped { queue.detach(resumeFrom: resume) }
        return listening
    }

    /// The frames a direct listener gets for `batch`: the broadcaster's shared framing when the whole read is the
    /// connection's, else its records from the connection's position on, framed here; a gap notice first.
    static func frames(of batch: LiveBatch, for listener: Listener) -> [ByteBuffer] {
        var frames: [ByteBuffer] = []
        let from = listener.from
        let skipped = batch.skipped.flatMap { $0.upperBound >= from ? max($0.lowerBound, from)...$0.upperBound : nil }
        let records = batch.first >= from ? batch.records : batch.records.filter { $0.sequence >= from }
        switch listener.format {
        case .serverSentEvents:
            var out: [UInt8] = []
            if let skipped { ServerSentEvents.appendLagged(skipped, resumeFrom: skipped.upperBound + 1, to: &out) }
            if let shared = batch.serverSentEvents, batch.first >= from {
                if !out.isEmpty { frames.append(ByteBuffer(bytes: out)) }
                if !records.isEmpty { frames.append(shared) }
                return frames
            }
            for record in records { ServerSentEvents.append(record, to: &out) }
            if !out.isEmpty { frames.append(ByteBuffer(bytes: out)) }
        case .webSocket:
            // Encoded frames: a direct WebSocket output writes bytes below the frame encoder.
            var out: [UInt8] = []
            if let skipped { WebSocketTextFrame.append(LiveMessage.lagged(skipped, resumeFrom: skipped.upperBound + 1), to: &out) }
            if let shared = batch.webSocketFrames, batch.first >= from {
                if !out.isEmpty { frames.append(ByteBuffer(bytes: out)) }
                if !records.isEmpty { frames.append(shared) }
                return frames
            }
            for record in records {
                var message: [UInt8] = []
                LiveMessage.append(record, to: &message)
                WebSocketTextFrame.append(message, to: &out)
            }
            if !out.isEmpty { frames.append(ByteBuffer(bytes: out)) }
        }
        return frames
    }

    /// Joins `stream` from sequence `from`: succeeds when the broadcaster has not handed out `from` yet (or is idle,
    /// and then starts there). Records before `from` in the reads that follow are the connection's to drop.
    func join(_ listener: Listener, from: UInt64) -> UInt64? {
        let (id, wake): (UInt64?, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard !state.stopped else { return (nil, nil) }
            if let position = state.position {
                guard position <= from else { return (nil, nil) }
            } else {
                state.position = from
            }
            state.nextID &+= 1
            var listener = listener
            listener.from = from
            state.listeners[state.nextID] = listener
            defer { state.wake = nil }
            return (state.nextID, state.wake)
        }
        wake?.resume()
        return id
    }

    /// Removes listener `id`; false when it was not there (it left, or was dropped, already).
    @discardableResult
    func leave(_ id: UInt64) -> Bool {
        state.withLock { state in
            state.listeners.removeValue(forKey: id) != nil
        }
    }
}

/// A joined connection's reads, bounded, with one waiting consumer.
final class LiveQueue: Sendable {
    struct State {
        var batches: [LiveBatch] = []
        var bytes = 0
        /// Set when the broadcaster dropped the connection: where its own reader resumes.
        var resumeFrom: UInt64?
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// What one ``take()`` found.
    struct Taken {
        var batches: [LiveBatch]
        var resumeFrom: UInt64?
        var closed: Bool
    }

    private let state = Mutex(State())

    /// Queues `batch`; false (nothing queued) when that would pass either bound.
    func offer(_ batch: LiveBatch, maxBatches: Int, maxBytes: Int) -> Bool {
        let size = batch.records.reduce(0) { $0 &+ $1.event.envelope.count }
        let (accepted, waiter): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard state.batches.count < maxBatches, state.bytes == 0 || state.bytes &+ size <= maxBytes else { return (false, nil) }
            state.batches.append(batch)
            state.bytes &+= size
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume()
        return accepted
    }

    func detach(resumeFrom sequence: UInt64) {
        signal { $0.resumeFrom = sequence }
    }

    func close() {
        signal { $0.closed = true }
    }

    private func signal(_ change: (inout State) -> Void) {
        state.withLock { state in
            change(&state)
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// Waits for reads, a detach or the end, and takes everything queued. Returns nothing new when the calling
    /// task is cancelled.
    func take() async -> Taken {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if !state.batches.isEmpty || state.resumeFrom != nil || state.closed || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            return state.withLock { state in
                defer {
                    state.batches.removeAll()
                    state.bytes = 0
                }
                return Taken(batches: state.batches, resumeFrom: state.resumeFrom, closed: state.closed)
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}

/// What a live connection sends next: its stream's matching events after its position, a gap, or both.
public struct LiveDelivery: Sendable {
    /// The matching events, in log order.
    public var events: [SinkRecord]
    /// Sequences the log dropped before they could be read, when there is such a gap.
    public var skipped: ClosedRange<UInt64>?
    /// The broadcaster's framing of exactly ``events``, when the connection may send it as it is.
    public var shared: LiveBatch?
}

/// One live connection's events from a position on: read from the log by a reader of its own while it is behind,
/// from the ``LiveBroadcaster`` once it has caught up (and by itself again if it falls behind). Used by one task.
public struct LiveSubscription: Sendable {
    enum Source: Sendable {
        case own(LiveFeed)
        case joined(id: UInt64, queue: LiveQueue)
    }

    let broadcaster: LiveBroadcaster
    let team: String
    let app: String
    let filter: LiveFilter
    let format: LiveFormat
    var source: Source
    /// The next sequence this connection wants.
    var position: UInt64
    var pending: [LiveBatch] = []
    var resumeFrom: UInt64?
    /// Where the broadcaster may write this connection's reads itself once it has joined (unfiltered only).
    let direct: LiveDirectOutput?
    /// With a direct output, a join waits for the next call: the caller must have written what this one returned
    /// before the broadcaster writes anything newer.
    var joinAtNextCall = false

    /// A subscription to `team/app` from `sequence`; a `sequence` older than the log's oldest record starts at that
    /// record (the caller announces that gap).
    ///
    /// With `direct`, an unfiltered connection that has joined the broadcast gets its reads written by the
    /// broadcaster onto its channel (``next()`` then returns only after it was dropped from the broadcast, with what
    /// it reads by itself); it joins at its first ``next()``, so nothing is written before the caller's own opening.
    /// - Throws: ``EventLogError`` when the log is closed.
    public init(
        broadcaster: LiveBroadcaster, team: String, app: String, filter: LiveFilter, format: LiveFormat, from sequence: UInt64,
        direct: LiveDirectOutput? = nil
    ) throws(EventLogError) {
        self.broadcaster = broadcaster
        self.team = team
        self.app = app
        self.filter = filter
        self.format = format
        self.direct = filter.isEmpty ? direct : nil
        let log = broadcaster.log
        self.position = max(sequence, log.firstSequence)
        self.source = .own(try LiveFeed(log: log, team: team, app: app, filter: filter, from: sequence))
        if position >= log.nextSequence { joinAfterWrite() }
    }

    /// Whether the broadcaster serves this connection now (else a reader of its own does).
    public var isShared: Bool {
        if case .joined = source { return true }
        return false
    }

    /// Joins now when the broadcaster only queues for this connection; with a direct output, at the next call, once
    /// the caller has written what this one returns.
    private mutating func joinAfterWrite() {
        if direct == nil { tryJoin() } else { joinAtNextCall = true }
    }

    private mutating func tryJoin() {
        let queue = LiveQueue()
        let listener = LiveBroadcaster.Listener(
            stream: .init(team: team, app: app), filter: filter, format: format, queue: queue,
            direct: direct.map(LiveBroadcaster.DirectListener.init(output:)))
        if let id = broadcaster.join(listener, from: position) { source = .joined(id: id, queue: queue) }
    }

    /// The next events or gap; nil when the task is cancelled, the log closed or the broadcaster stopped.
    /// - Throws: ``EventLogError`` when the log cannot be read.
    public mutating func next() async throws(EventLogError) -> LiveDelivery? {
        if joinAtNextCall {
            joinAtNextCall = false
            if position >= broadcaster.log.nextSequence { tryJoin() }
        }
        while !Task.isCancelled {
            switch source {
            case .own(let feed):
                let read = try await feed.next()
                if read.events.isEmpty, read.skipped == nil, read.next <= position { return nil }
                position = max(position, read.next)
                let caughtUp = position >= broadcaster.log.nextSequence
                if !read.events.isEmpty || read.skipped != nil {
                    if caughtUp { joinAfterWrite() }
                    return LiveDelivery(events: read.events, skipped: read.skipped)
                }
                if caughtUp { tryJoin() } // nothing to write first
            case .joined(let id, let queue):
                if pending.isEmpty {
                    if let resume = resumeFrom {
                        // Dropped from the broadcast: read from the log by itself, from the first record it missed.
                        broadcaster.leave(id)
                        resumeFrom = nil
                        // Everything before `resume` reached the connection (queued, or written by the broadcaster).
                        position = max(resume, position)
                        let log = broadcaster.log
                        let feed = try LiveFeed(log: log, team: team, app: app, filter: filter, from: position)
                        source = .own(feed)
                        let first = log.firstSequence
                        if position < first {
                            defer { position = first }
                            return LiveDelivery(events: [], skipped: position...(first - 1))
                        }
                        continue
                    }
                    let taken = await queue.take()
                    pending = taken.batches
                    resumeFrom = taken.resumeFrom
                    if pending.isEmpty, resumeFrom == nil, taken.closed || Task.isCancelled {
                        broadcaster.leave(id)
                        return nil
                    }
                    continue
                }
                let batch = pending.removeFirst()
                if let delivery = deliver(batch) { return delivery }
            }
        }
        close()
        return nil
    }

    /// `batch` as this connection sees it: records before its position and ones its filter refuses left out.
    private mutating func deliver(_ batch: LiveBatch) -> LiveDelivery? {
        defer { position = max(position, batch.next) }
        let skipped = batch.skipped.flatMap { skipped -> ClosedRange<UInt64>? in
            skipped.upperBound >= position ? max(skipped.lowerBound, position)...skipped.upperBound : nil
        }
        if batch.first >= position, filter.isEmpty {
            guard !batch.records.isEmpty || skipped != nil else { return nil }
            return LiveDelivery(events: batch.records, skipped: skipped, shared: batch)
        }
        let events = batch.records.filter {
            $0.sequence >= position && filter.matches(partitionKey: $0.event.partitionKey, envelope: $0.event.envelope)
        }
        guard !events.isEmpty || skipped != nil else { return nil }
        return LiveDelivery(events: events, skipped: skipped)
    }

    /// Leaves the broadcast (call when the connection ends).
    public func close() {
        if case .joined(let id, _) = source { broadcaster.leave(id) }
    }
}
