internal import CRDKafka
internal import Foundation
public import Logging
internal import Synchronization

/// A Kafka producer over librdkafka.
///
/// `produce` only enqueues (librdkafka copies the bytes) and never waits; the outcome of every
/// accepted message arrives later, exactly once, as a ``KafkaDeliveryReport`` carrying the
/// caller's `tag`. Reports are collected per `rd_kafka_poll` call on the producer's
/// ``KafkaExecutor`` (its dedicated thread) and handed to the delivery report handler in batches:
/// there is no task or continuation per message.
///
/// Thread safety: every method may be called from any thread or task. The blocking librdkafka calls
/// (poll, flush, close and destroy) all run on the executor; the `async` `flush` and `close` wait for
/// them without blocking a thread, the synchronous ones block the calling thread. Dropping the last
/// reference without `close()` closes with a zero flush timeout: undelivered messages are then
/// reported as purged.
public final class KafkaProducer: Sendable {
    private struct State: ~Copyable {
        var closed = false
        var topics: [String: KafkaPointer] = [:]
    }

    /// Stops the poll loop (set once, when closing starts).
    private final class PollControl: Sendable {
        let stop = Atomic<Bool>(false)
    }

    /// Lets `close()` wait for `outQueueLength` and `simulateFatalError` calls running on other threads.
    private final class Lifecycle: @unchecked Sendable {
        private let condition = NSCondition()
        private var closed = false
        private var active = 0

        func enter() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            if closed { return false }
            active += 1
            return true
        }

        func leave() {
            condition.lock()
            active -= 1
            if active == 0 { condition.broadcast() }
            condition.unlock()
        }

        func closeAndWait() {
            condition.lock()
            closed = true
            while active > 0 { condition.wait() }
            condition.unlock()
        }
    }

    /// The version of the librdkafka library loaded at run time (`rd_kafka_version_str()`).
    public static var librdkafkaVersion: String { String(cString: rd_kafka_version_str()) }

    private let handle: KafkaPointer
    private let context: KafkaClientContext
    private let contextOpaque: KafkaRawOpaque
    private let executor: KafkaExecutor
    private let pollControl = PollControl()
    private let state = Mutex(State())
    private let lifecycle = Lifecycle()
    private let logger: Logger

    /// Creates a producer.
    ///
    /// - Parameters:
    ///   - properties: librdkafka configuration properties (`bootstrap.servers`, `linger.ms`,
    ///     `message.timeout.ms`, `statistics.interval.ms`, `security.protocol`, …). Every one is
    ///     applied with `rd_kafka_conf_set`.
    ///   - logger: receives librdkafka's log lines and client errors.
    ///   - handlers: the delivery report handler and optional statistics, error and OAUTHBEARER
    ///     token handlers.
    /// - Throws: ``KafkaConfigurationError`` naming the first unknown or invalid property, or
    ///   with no property when `rd_kafka_new` rejected the combination.
    public init(
        properties: [String: String],
        logger: Logger,
        handlers: KafkaClientHandlers
    ) throws(KafkaConfigurationError) {
        let context = KafkaClientContext(logger: logger, handlers: handlers)
        let client = try KafkaClientFactory.make(type: RD_KAFKA_PRODUCER, properties: properties, context: context)
        let rk = client.handle.pointer
        self.handle = client.handle
        self.context = context
        self.contextOpaque = client.opaque
        self.logger = logger
        let executor = KafkaExecutor(name: "rdkafka-producer")
        self.executor = executor
        let (handle, control) = (self.handle, pollControl)
        executor.submit { Self.poll(handle: handle, context: context, control: control, executor: executor) }
        logger.info(
            "Kafka producer created",
            metadata: [
                KafkaLoggingKeys.librdkafkaVersion: "\(Self.librdkafkaVersion)", KafkaLoggingKeys.clientName: "\(String(cString: rd_kafka_name(rk)))",
            ])
    }

    /// Convenience initializer taking the delivery report handler directly.
    public convenience init(
        properties: [String: String],
        logger: Logger,
        deliveryReports: @escaping @Sendable ([KafkaDeliveryReport]) -> Void
    ) throws(KafkaConfigurationError) {
        try self.init(properties: properties, logger: logger, handlers: KafkaClientHandlers(deliveryReports: deliveryReports))
    }

    deinit {
        close(timeout: .zero)
    }

    // MARK: Producing

    /// Enqueues one message without blocking (librdkafka copies key, value and headers).
    ///
    /// - Parameters:
    ///   - topic: the topic; its librdkafka handle is created on first use and cached.
    ///   - key: the message key, or nil for a null key.
    ///   - value: the message value (an empty collection is an empty, non-null value).
    ///   - headers: message headers in order; names must not contain NUL.
    ///   - partition: an explicit partition, or nil to let the partitioner choose.
    ///   - tag: an opaque per-message id returned in the message's ``KafkaDeliveryReport``.
    /// - Throws: ``KafkaError``; ``KafkaError/isQueueFull`` when the local queue is full (back
    ///   off until delivery reports drain it, then retry), `MSG_SIZE_TOO_LARGE` when the message
    ///   exceeds `message.max.bytes`, `_STATE` after `close()`. No delivery report follows a throw.
    public func produce<Value: Collection<UInt8>>(
        topic: String,
        key: [UInt8]? = nil,
        value: Value,
        headers: [(String, [UInt8])] = [],
        partition: Int32? = nil,
        tag: UInt64
    ) throws(KafkaError) {
        let result: Result<Void, KafkaError>
        if let contiguous = value.withContiguousStorageIfAvailable({ buffer in
            enqueue(topic: topic, key: key, value: UnsafeRawBufferPointer(buffer), headers: headers, partition: partition, tag: tag)
        }) {
            result = contiguous
        } else {
            result = Array(value).withUnsafeBytes { buffer in
                enqueue(topic: topic, key: key, value: buffer, headers: headers, partition: partition, tag: tag)
            }
        }
        try result.get()
    }

    private func enqueue(
        topic: String,
        key: [UInt8]?,
        value: UnsafeRawBufferPointer,
        headers: [(String, [UInt8])],
        partition: Int32?,
        tag: UInt64
    ) -> Result<Void, KafkaError> {
        // Header names (NUL-terminated) and values, packed into one buffer.
        var packed: [UInt8] = []
        var offsets: [(name: Int, value: Int, count: Int)] = []
        if !headers.isEmpty {
            offsets.reserveCapacity(headers.count)
            for (name, headerValue) in headers {
                if name.utf8.contains(0) {
                    return .failure(
                        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG, detail: "header name contains NUL: \(String(reflecting: name))"))
                }
                let nameOffset = packed.count
                packed.append(contentsOf: name.utf8)
                packed.append(0)
                offsets.append((nameOffset, packed.count, headerValue.count))
                packed.append(contentsOf: headerValue)
            }
        }
        return state.withLock { state -> Result<Void, KafkaError> in
            if state.closed { return .failure(.closed()) }
            let rk = handle.pointer
            let rkt: OpaquePointer
            if let cached = state.topics[topic] {
                rkt = cached.pointer
            } else {
                guard let created = rd_kafka_topic_new(handle.pointer, topic, nil) else {
                    return .failure(KafkaError(code: rd_kafka_last_error(), handle: handle.pointer))
                }
                state.topics[topic] = KafkaPointer(pointer: created)
                rkt = created
            }
            return packed.withUnsafeBytes { packedBytes -> Result<Void, KafkaError> in
                let count = 5 + (key == nil ? 0 : 1) + offsets.count
                return withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: count) { vus in
                    var index = 0
                    func add(_ vu: rd_kafka_vu_t) {
                        vus.initializeElement(at: index, to: vu)
                        index += 1
                    }
                    var vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_RKT
                    vu.u.rkt = rkt
                    add(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_PARTITION
                    vu.u.i32 = partition ?? -1 // RD_KAFKA_PARTITION_UA
                    add(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    vu.u.i = RD_KAFKA_MSG_F_COPY
                    add(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_OPAQUE
                    vu.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(tag))
                    add(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_VALUE
                    vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? UnsafeRawPointer(kafkaEmptyBytes))
                    vu.u.mem.size = value.count
                    add(vu)
                    func produce() -> Result<Void, KafkaError> {
                        if let base = packedBytes.baseAddress {
                            for entry in offsets {
                                vu = rd_kafka_vu_t()
                                vu.vtype = RD_KAFKA_VTYPE_HEADER
                                vu.u.header.name = (base + entry.name).assumingMemoryBound(to: CChar.self)
                                vu.u.header.val = base + entry.value
                                vu.u.header.size = entry.count
                                add(vu)
                            }
                        }
                        defer { vus.baseAddress.map { _ = $0.deinitialize(count: index) } }
                        guard let error = rd_kafka_produceva(rk, vus.baseAddress, index) else {
                            return .success(())
                        }
                        return .failure(KafkaError(consuming: error, handle: rk))
                    }
                    guard let key else { return produce() }
                    return key.withUnsafeBytes { keyBytes in
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_KEY
                        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress ?? UnsafeRawPointer(kafkaEmptyBytes))
                        vu.u.mem.size = keyBytes.count
                        add(vu)
                        return produce()
                    }
                }
            }
        }
    }

    // MARK: Queue state

    /// Messages (and requests) not yet delivered or failed, including delivery reports not yet
    /// served by the poll loop (`rd_kafka_outq_len`). 0 after `close()`.
    public var outQueueLength: Int {
        guard lifecycle.enter() else { return 0 }
        defer { lifecycle.leave() }
        return Int(rd_kafka_outq_len(handle.pointer))
    }

    /// Waits, on the producer's ``KafkaExecutor`` (off the cooperative pool), until every enqueued message has been
    /// delivered or failed and its report handled, or `timeout` passes. Sends lingering batches at once.
    ///
    /// - Throws: ``KafkaError`` `_TIMED_OUT` when messages remain after `timeout`; `_STATE` after `close()`.
    public func flush(timeout: Duration) async throws(KafkaError) {
        try await executor.run { () throws(KafkaError) in try self.flushHere(timeout: timeout) }
    }

    /// ``flush(timeout:)`` for synchronous callers: blocks the calling thread until the flush, which runs on the
    /// producer's executor, is done (inline when called from one of this producer's handlers).
    public func flush(timeout: Duration) throws(KafkaError) {
        if executor.isCurrent { return try flushHere(timeout: timeout) }
        let outcome = Mutex<Result<Void, KafkaError>>(.failure(.closed()))
        let done = DispatchSemaphore(value: 0)
        let submitted = executor.submit {
            let result = Result { () throws(KafkaError) in try self.flushHere(timeout: timeout) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        guard submitted else { throw .closed() }
        done.wait()
        try outcome.withLock { $0 }.get()
    }

    /// `rd_kafka_flush` on the calling thread (the executor's), then every report it collected is handled.
    private func flushHere(timeout: Duration) throws(KafkaError) {
        guard lifecycle.enter() else { throw .closed() }
        defer { lifecycle.leave() }
        let err = rd_kafka_flush(handle.pointer, Self.milliseconds(timeout))
        context.deliverPending()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(
                code: err, detail: "\(rd_kafka_outq_len(handle.pointer)) messages still queued after flush",
                handle: handle.pointer)
        }
    }

    /// Flushes for up to `timeout`, purges whatever is still queued or in flight (those messages are reported with
    /// `_PURGE_QUEUE` / `_PURGE_INFLIGHT`), hands the last delivery reports to the handler, stops the poll loop and
    /// destroys the client; all of it on the producer's executor, which then exits. Idempotent.
    ///
    /// - Returns: how many messages were purged instead of delivered (0 when called again).
    @discardableResult
    public func close(timeout: Duration = .seconds(10)) async -> Int {
        guard let closing = beginClose(timeout: timeout) else { return 0 }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            if !executor.submit({ continuation.resume(returning: closing.run()) }) { continuation.resume(returning: 0) }
            executor.shutdown()
        }
    }

    /// ``close(timeout:)`` for synchronous callers: blocks the calling thread until the producer is closed. When
    /// called from one of this producer's handlers (on its executor), the close is queued behind the running handler
    /// and this call returns 0 at once.
    @discardableResult
    public func close(timeout: Duration = .seconds(10)) -> Int {
        guard let closing = beginClose(timeout: timeout) else { return 0 }
        defer { executor.shutdown() }
        if executor.isCurrent {
            executor.submit { _ = closing.run() }
            return 0
        }
        let purged = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        guard
            executor.submit({
                let count = closing.run()
                purged.withLock { $0 = count }
                done.signal()
            })
        else { return 0 }
        done.wait()
        return purged.withLock { $0 }
    }

    /// What closing needs, without the producer itself (so a close queued from `deinit` can outlive it).
    private struct Closing: Sendable {
        var handle: KafkaPointer
        var context: KafkaClientContext
        var contextOpaque: KafkaRawOpaque
        var lifecycle: Lifecycle
        var topics: [KafkaPointer]
        var timeout: Duration
        var logger: Logger

        /// Runs on the executor, after the last poll: no other librdkafka call on this client runs concurrently.
        func run() -> Int {
            lifecycle.closeAndWait() // no outQueueLength or simulateFatalError call is using the handle any more
            let rk = handle.pointer
            var purged = 0
            if rd_kafka_flush(rk, KafkaProducer.milliseconds(timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR {
                purged = Int(rd_kafka_outq_len(rk))
                _ = rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            }
            // Serve the remaining reports (purged messages among them).
            let deadline = ContinuousClock.now + .seconds(5)
            repeat {
                _ = rd_kafka_poll(rk, 50)
                context.deliverPending()
            } while rd_kafka_outq_len(rk) > 0 && ContinuousClock.now < deadline
            for topic in topics { rd_kafka_topic_destroy(topic.pointer) }
            rd_kafka_destroy(rk)
            context.deliverPending()
            Unmanaged<KafkaClientContext>.fromOpaque(contextOpaque.pointer).release()
            if purged > 0 { logger.warning("Kafka producer closed with \(purged) undelivered messages purged") }
            logger.info("Kafka producer closed")
            return purged
        }
    }

    /// Marks the producer closed (no further `produce`, the poll loop stops); returns what closing needs, or nil when
    /// already closing.
    private func beginClose(timeout: Duration) -> Closing? {
        guard !pollControl.stop.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
        let topics = state.withLock { state in
            state.closed = true
            defer { state.topics.removeAll() }
            return Array(state.topics.values)
        }
        return Closing(
            handle: handle, context: context, contextOpaque: contextOpaque, lifecycle: lifecycle, topics: topics,
            timeout: timeout, logger: logger)
    }

    /// Serves the client's main queue on the executor: one `rd_kafka_poll(100 ms)` per work item, each handing its
    /// delivery reports to the handler as one batch, queued again until the producer closes. librdkafka runs the
    /// delivery-report, statistics and OAUTHBEARER callbacks from inside `rd_kafka_poll`, so they all run there.
    private static func poll(handle: KafkaPointer, context: KafkaClientContext, control: PollControl, executor: KafkaExecutor) {
        guard !control.stop.load(ordering: .acquiring) else { return }
        _ = rd_kafka_poll(handle.pointer, 100)
        context.deliverPending()
        executor.submit { [weak executor] in
            guard let executor else { return }
            poll(handle: handle, context: context, control: control, executor: executor)
        }
    }

    /// A librdkafka timeout: `duration` in whole milliseconds, clamped to `0...Int32.max` (every client of this module
    /// converts through it).
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow || ms.partialValue > Int64(Int32.max) { return Int32.max }
        return Int32(clamping: ms.partialValue + attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Diagnostics

    /// Testing only: raises a fatal error on this client (`rd_kafka_test_fatal_error`), as an
    /// idempotent producer would on a fatal broker error: the error handler is called with
    /// ``KafkaError/isFatal`` set and further `produce` calls fail. Returns false when the
    /// producer is closed or a fatal error was already raised.
    @discardableResult
    public func simulateFatalError(reason: String) -> Bool {
        guard lifecycle.enter() else { return false }
        defer { lifecycle.leave() }
        return rd_kafka_test_fatal_error(handle.pointer, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
            == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Outcome of the last OAUTHBEARER token refresh: the token's expiry (ms since the epoch) when
    /// librdkafka accepted it, or why it failed; nil before the first refresh.
    public var lastOAuthBearerTokenRefresh: Result<Int64, KafkaOAuthBearerTokenError>? {
        context.lastTokenRefresh.withLock { $0 }
    }
}

/// The retained context pointer handed to librdkafka as the configuration opaque.
struct KafkaRawOpaque: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// A non-null address for empty keys and values (librdkafka copies 0 bytes from it; a null
/// pointer would mean a null key or value).
nonisolated(unsafe) private let kafkaEmptyBytes = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
