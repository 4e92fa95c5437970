import EnvelopeScanner
import NIOCore
import NIOHTTP1
import NIOPosix

/// The times of a run, in nanoseconds on the monotonic clock of `NIODeadline.uptimeNanoseconds`.
struct RunTiming: Sendable {
    /// When sending starts (the warm-up starts).
    var start: UInt64
    /// When recording starts (end of the warm-up).
    var measureStart: UInt64
    /// When sending stops.
    var end: UInt64
    /// When outstanding requests are given up.
    var drainDeadline: UInt64
}

/// The immutable description of what a loop sends.
struct RunPlan: Sendable {
    var configuration: BenchConfiguration
    var factory: EventFactory
    /// The request path (base path + endpoint).
    var path: String
    /// Every request's bytes up to the Content-Length value: request line and the fixed headers.
    var requestPrefix: [UInt8]
    /// The head shown to the response decoder (which must see each request's method); never encoded.
    var observedHead: HTTPRequestHead
    /// Loop `index` of `loopCount` sends requests `index, index + loopCount, …`.
    var loopCount: Int
}

/// One request on the wire.
struct InFlight {
    /// The request number (global across loops).
    var number: Int
    /// The time latency is measured from: intended send time (open loop) or actual send time (closed loop).
    var reference: UInt64
    /// Request body bytes.
    var bodyBytes: Int
}

/// One keep-alive HTTP/1.1 connection: sends a request, reads its response, tells the driver.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let driver: LoopDriver
    var context: ChannelHandlerContext?
    var current: InFlight?
    var status = 0
    var serverMicros: UInt64?
    var collectBody = false
    var body: ByteBuffer?
    /// The server said `Connection: close`: do not send another request here.
    var closing = false
    var isActive = true

    init(driver: LoopDriver) {
        self.driver = driver
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends one request: `bytes` is the whole request (head and body), written by ``RawRequestWriter``.
    func send(_ request: InFlight, head: HTTPRequestHead, bytes: ByteBuffer) {
        guard let context else {
            driver.connectionLost(self, request: request)
            return
        }
        current = request
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            serverMicros = head.headers.first(name: "x-processing-latency").flatMap { parseProcessingLatency(Substring($0)) }
            collectBody = driver.needsBody(status: status)
            body = nil
            if !head.isKeepAlive { closing = true }
        case .body(var part):
            guard collectBody else { return }
            if var existing = body {
                body = nil
                existing.writeBuffer(&part)
                body = existing
            } else {
                body = part
            }
        case .end:
            guard let request = current else { return }
            current = nil
            driver.completed(self, request: request, status: status, serverMicros: serverMicros, body: body)
            body = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        let request = current
        current = nil
        driver.connectionLost(self, request: request)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        driver.noteError("connection error: \(error)")
        context.close(promise: nil)
    }

    func close() {
        closing = true
        context?.close(promise: nil)
    }
}

/// Drives the connections of one event loop: closed loop (send again on each response) or open loop
/// (a timer releases requests at their intended times; a request waits in a queue when every connection is busy).
/// Everything here runs on `loop`.
final class LoopDriver: NIOScheduledCallbackHandler {
    enum State { case idle, running, finished }

    let loop: any EventLoop
    let index: Int
    let plan: RunPlan
    /// The open-loop schedule (nil in closed loop), anchored at the run's start when it starts.
    var schedule: OpenLoopSchedule?
    let connectionTarget: Int
    var timing = RunTiming(start: 0, measureStart: 0, end: 0, drainDeadline: 0)
    var state = State.idle
    var recorder = LoopRecorder()

    var connections: [ObjectIdentifier: BenchConnection] = [:]
    var idle: [BenchConnection] = []
    var inFlight = 0
    /// Open loop: requests due but waiting for a free connection.
    var pending = CircularBuffer<Int>()
    /// The next request number this loop sends (or schedules).
    var nextRequest: Int
    /// Open loop: how many requests the run intends in total (all loops).
    var totalRequests = 0
    var schedulingDone = false
    var reconnecting = 0
    let finished: EventLoopPromise<Void>
    var finishedCompleted = false

    init(loop: any EventLoop, index: Int, plan: RunPlan, connections: Int, schedule: OpenLoopSchedule?) {
        self.loop = loop
        self.index = index
        self.plan = plan
        self.schedule = schedule
        self.connectionTarget = connections
        self.nextRequest = index
        self.finished = loop.makePromise(of: Void.self)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: Connecting

    /// Opens this loop's connections; the result is how many opened and the first error.
    func connectAll() -> EventLoopFuture<ConnectOutcome> {
        let promise = loop.makePromise(of: ConnectOutcome.self)
        guard connectionTarget > 0 else {
            promise.succeed(ConnectOutcome(connected: 0, firstError: nil))
            return promise.futureResult
        }
        var remaining = connectionTarget
        var outcome = ConnectOutcome(connected: 0, firstError: nil)
        for _ in 0..<connectionTarget {
            connectOne().assumeIsolated().whenComplete { result in
                switch result {
                case .success: outcome.connected += 1
                case .failure(let error): if outcome.firstError == nil { outcome.firstError = "\(error)" }
                }
                remaining -= 1
                if remaining == 0 { promise.succeed(outcome) }
            }
        }
        return promise.futureResult
    }

    /// Opens one connection and adds it to the pool (idle).
    func connectOne() -> EventLoopFuture<Void> {
        let target = plan.configuration.target
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .connect(host: target.host, port: target.port)
            .assumeIsolated()
            .flatMapThrowing { channel in
                let connection = BenchConnection(driver: self)
                try channel.pipeline.syncOperations.addHandlers([
                    RawRequestWriter(),
                    ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)),
                    connection,
                ])
                if self.state == .finished {
                    connection.close()
                    return
                }
                self.connections[ObjectIdentifier(connection)] = connection
                self.becameIdle(connection)
            }
            .nonisolated()
    }

    // MARK: Running

    func start(timing: RunTiming) {
        self.timing = timing
        if let schedule {
            state = .running
            totalRequests = schedule.requestCount(before: timing.end - timing.start)
            scheduleTimer()
        } else {
            // Every loop starts at the common start time, so nothing is sent before it.
            loop.assumeIsolated().scheduleTask(deadline: NIODeadline.uptimeNanoseconds(timing.start)) {
                guard self.state == .idle else { return }
                self.state = .running
                let ready = self.idle
                self.idle.removeAll()
                for connection in ready { self.becameIdle(connection) }
            }
        }
        // Wake up at the end (closed loop with no live connection) and at the drain deadline.
        scheduleCheck(at: timing.end)
        scheduleCheck(at: timing.drainDeadline)
    }

    func scheduleCheck(at deadline: UInt64) {
        loop.assumeIsolated().scheduleTask(deadline: NIODeadline.uptimeNanoseconds(deadline)) {
            self.checkFinished(now: Self.now())
        }
    }

    func scheduleTimer() {
        guard let schedule else { return }
        guard nextRequest < totalRequests else {
            schedulingDone = true
            checkFinished(now: Self.now())
            return
        }
        let due = schedule.intendedNanos(forRequest: nextRequest)
        do {
            try loop.assumeIsolated().scheduleCallback(at: NIODeadline.uptimeNanoseconds(due), handler: self)
        } catch {
            noteError("cannot schedule the next request: \(error)")
            schedulingDone = true
        }
    }

    /// The open-loop timer: release every request whose intended time has come.
    func handleScheduledCallback(eventLoop: some EventLoop) {
        guard state == .running, let schedule else { return }
        let now = Self.now()
        while nextRequest < totalRequests {
            let intended = schedule.intendedNanos(forRequest: nextRequest)
            guard intended <= now else { break }
            let number = nextRequest
            nextRequest += plan.loopCount
            if let connection = idle.popLast() {
                send(number, reference: intended, on: connection, now: now)
            } else {
                pending.append(number)
                if intended >= timing.measureStart { recorder.waitedForConnection += 1 }
            }
        }
        scheduleTimer()
    }

    /// A connection is free: give it work, or park it.
    func becameIdle(_ connection: BenchConnection) {
        if connection.closing || !connection.isActive {
            connection.close()
            checkFinished(now: Self.now())
            return
        }
        guard state == .running else {
            idle.append(connection)
            checkFinished(now: Self.now())
            return
        }
        let now = Self.now()
        if let schedule {
            if let number = pending.popFirst() {
                send(number, reference: schedule.intendedNanos(forRequest: number), on: connection, now: now)
            } else {
                idle.append(connection)
                checkFinished(now: now)
            }
        } else if now < timing.end {
            let number = nextRequest
            nextRequest += plan.loopCount
            send(number, reference: now, on: connection, now: now)
        } else {
            idle.append(connection)
            checkFinished(now: now)
        }
    }

    func send(_ number: Int, reference: UInt64, on connection: BenchConnection, now: UInt64) {
        let eventsPerRequest = plan.configuration.eventsPerRequest
        let first = number * eventsPerRequest
        let batch: BatchFormat? = plan.configuration.endpoint == .batch ? plan.configuration.batchFormat : nil
        let size = plan.factory.bodySize(firstEvent: first, count: eventsPerRequest, batch: batch)
        let prefix = plan.requestPrefix
        let capacity = prefix.count + 24 + size
        var buffer = connection.context?.channel.allocator.buffer(capacity: capacity) ?? ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeBytes(prefix)
        Self.writeDecimal(size, to: &buffer)
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { pointer in
            plan.factory.renderBody(
                firstEvent: first, count: eventsPerRequest, batch: batch, into: UnsafeMutableRawBufferPointer(rebasing: pointer[0..<size])
            )
            return size
        }
        if schedule != nil, reference >= timing.measureStart, now >= reference {
            recorder.sendLag.record(nanos: now - reference)
        }
        inFlight += 1
        connection.send(InFlight(number: number, reference: reference, bodyBytes: size), head: plan.observedHead, bytes: buffer)
    }

    /// Appends a non-negative integer in decimal.
    static func writeDecimal(_ value: Int, to buffer: inout ByteBuffer) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var remaining = UInt64(max(0, value))
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }

    /// Whether a response's body is needed: per-item statuses of a 207, and samples of errors.
    func needsBody(status: Int) -> Bool {
        if status == 207 { return true }
        return !(200..<300).contains(status) && recorder.errorSamples.count < 5
    }

    func completed(_ connection: BenchConnection, request: InFlight, status: Int, serverMicros: UInt64?, body: ByteBuffer?) {
        let now = Self.now()
        inFlight -= 1
        let eventsPerRequest = plan.configuration.eventsPerRequest
        let first = request.number * eventsPerRequest
        var acknowledged = 0
        let collect = plan.configuration.collectAcknowledgedIDs
        if status == 207, let body {
            let items = BatchResponse.acceptedIndexes(body)
            for item in items where item >= 0 && item < eventsPerRequest {
                acknowledged += 1
                if collect { recorder.acknowledgedEvents.append(first + item) }
            }
        } else if (200..<300).contains(status) {
            acknowledged = eventsPerRequest
            if collect { recorder.acknowledgedEvents.append(contentsOf: first..<(first + eventsPerRequest)) }
        } else if let body, recorder.errorSamples.count < 5 {
            let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self)
            let sample = "HTTP \(status): \(text)"
            if !recorder.errorSamples.contains(sample) { recorder.errorSamples.append(sample) }
        }
        if request.reference >= timing.measureStart {
            recorder.latency.record(nanos: now &- request.reference)
            if let serverMicros { recorder.serverLatency.record(micros: serverMicros) }
            recorder.statusCounts[status, default: 0] += 1
            recorder.requests += 1
            recorder.events += eventsPerRequest
            recorder.eventsAcknowledged += acknowledged
            recorder.bytesSent += request.bodyBytes
            let offset = now &- timing.measureStart
            recorder.lastCompletionOffset = max(recorder.lastCompletionOffset, offset)
            recorder.addSecond(
                Int(offset / 1_000_000_000), requests: 1, events: acknowledged, errors: (200..<300).contains(status) ? 0 : 1
            )
        } else {
            recorder.warmupRequests += 1
            recorder.warmupEventsAcknowledged += acknowledged
        }
        if state == .finished {
            checkFinished(now: now)
            return
        }
        if connection.closing {
            connection.close()
            return
        }
        becameIdle(connection)
    }

    func connectionLost(_ connection: BenchConnection, request: InFlight?) {
        connections[ObjectIdentifier(connection)] = nil
        idle.removeAll { $0 === connection }
        if request != nil {
            inFlight -= 1
        }
        if let request, state != .finished {
            recorder.connectionErrors += 1
            if request.reference >= timing.measureStart {
                recorder.addSecond(Int((Self.now() &- timing.measureStart) / 1_000_000_000), requests: 0, events: 0, errors: 1)
            }
            noteError("connection closed before the response arrived")
        }
        if state == .running { reconnect(after: .zero) }
        checkFinished(now: Self.now())
    }

    func reconnect(after delay: TimeAmount) {
        reconnecting += 1
        loop.assumeIsolated().scheduleTask(in: delay) {
            guard self.state == .running else {
                self.reconnecting -= 1
                return
            }
            self.connectOne().assumeIsolated().whenComplete { result in
                self.reconnecting -= 1
                if case .failure(let error) = result {
                    self.recorder.connectFailures += 1
                    self.noteError("reconnect failed: \(error)")
                    if self.state == .running { self.reconnect(after: .milliseconds(100)) }
                }
            }
        }
    }

    func noteError(_ message: String) {
        if recorder.errorSamples.count < 5, !recorder.errorSamples.contains(message) { recorder.errorSamples.append(message) }
    }

    /// Finishes when all work is done, or when the drain deadline has passed.
    func checkFinished(now: UInt64) {
        guard state == .running else { return }
        let sendingDone = schedule == nil ? now >= timing.end : schedulingDone
        let drained = inFlight == 0 && pending.isEmpty
        if sendingDone && drained {
            finish()
        } else if now >= timing.drainDeadline {
            recorder.unfinished = inFlight
            if schedule != nil {
                recorder.unsent = pending.count
                if nextRequest < totalRequests {
                    recorder.unsent += (totalRequests - nextRequest + plan.loopCount - 1) / plan.loopCount
                }
            }
            finish()
        }
    }

    func finish() {
        state = .finished
        pending.removeAll()
        idle.removeAll()
        for connection in Array(connections.values) { connection.close() }
        completeFinished()
    }

    /// Completes ``finished`` once (a NIO promise must be completed exactly once).
    func completeFinished() {
        guard !finishedCompleted else { return }
        finishedCompleted = true
        finished.succeed(())
    }

    /// Closes everything (after the results were taken).
    func shutdown() {
        state = .finished
        for connection in Array(connections.values) { connection.close() }
        connections.removeAll()
        idle.removeAll()
        completeFinished()
    }
}

/// Writes requests as prebuilt bytes: the `.body` part carries the whole request (head and body); the `.head` part
/// only exists so the response decoder, which sits behind this handler, sees each request's method. No encoder runs.
final class RawRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(.byteBuffer(let bytes)): context.write(wrapOutboundOut(bytes), promise: promise)
        case .head, .end: promise?.succeed(())
        case .body(.fileRegion): promise?.fail(ChannelError.operationUnsupported)
        }
    }
}

/// How many connections a loop opened.
struct ConnectOutcome: Sendable {
    var connected: Int
    var firstError: String?
}

/// Reads a batch response: `{"accepted":N,"rejected":M,"results":[{"index":0,"status":202,…},…]}`.
public enum BatchResponse {
    /// The deepest nesting read in a response (a batch response is three levels deep; problem details a few more).
    static let maximumDepth = 512

    /// The indexes of items whose status is 202, from a batch response body.
    static func acceptedIndexes(_ body: ByteBuffer) -> [Int] {
        body.withUnsafeReadableBytes { acceptedIndexes($0) }
    }

    /// The indexes of items whose status is 202, from a batch response body; empty when it cannot be read
    /// (read with the intake's ``EnvelopeScanner``: the whole body is validated as strict JSON).
    public static func acceptedIndexes(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        do throws(EnvelopeError) {
            guard let results = try EnvelopeScanner.objectMembers(bytes, keys: ["results"], maxDepth: maximumDepth)["results"]
            else { return [] }
            let array = UnsafeRawBufferPointer(rebasing: bytes[results])
            var accepted: [Int] = []
            for element in try EnvelopeScanner.arrayElements(array, maxDepth: maximumDepth) {
                let item = UnsafeRawBufferPointer(rebasing: array[element])
                let fields = try EnvelopeScanner.objectMembers(item, keys: ["index", "status"], maxDepth: maximumDepth)
                guard let statusRange = fields["status"], EnvelopeScanner.decodeInteger(item, range: statusRange) == 202,
                    let indexRange = fields["index"], let index = EnvelopeScanner.decodeInteger(item, range: indexRange)
                else { continue }
                accepted.append(index)
            }
            return accepted
        } catch {
            return []
        }
    }
}
