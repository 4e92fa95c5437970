internal import CRDKafka
internal import Foundation
public import Logging

/// One message read back from a topic by ``KafkaTopicReader``.
public struct KafkaReadMessage: Sendable {
    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in the partition.
    public var offset: Int64
    /// The key, or nil for a null key.
    public var key: [UInt8]?
    /// The value (empty for a null value).
    public var value: [UInt8]
    /// The headers, in order (a null header value is empty).
    public var headers: [(name: String, value: [UInt8])]

    public init(partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [(name: String, value: [UInt8])]) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The first header named `name`, as UTF-8 text.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// Reads a whole topic once: every partition from its earliest offset until the reader has caught up with the end, past
/// the high watermark it had when the read started. For audits (`sluice verify --kafka`), not for consuming a live
/// stream: there is no consumer group and nothing is committed; messages appended during the read may or may not be
/// included.
///
/// The `async` ``read(topic:timeout:handler:)`` runs the blocking reads on the reader's own ``KafkaExecutor`` (off the
/// cooperative pool); the synchronous one blocks the calling thread. Either calls the handler one message at a time,
/// partition by partition in offset order.
public final class KafkaTopicReader: Sendable {
    private let handle: KafkaPointer
    private let contextOpaque: KafkaRawOpaque
    private let logger: Logger
    private let executor = KafkaExecutor(name: "rdkafka-reader")

    /// Creates a consumer handle (no connection is made until `read`).
    ///
    /// - Parameters:
    ///   - properties: librdkafka properties (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, …).
    ///     `group.id`, `enable.auto.commit`, `enable.partition.eof` and `auto.offset.reset` are set by the reader.
    ///   - logger: receives librdkafka's log lines.
    ///   - oauthBearerToken: supplies OAUTHBEARER tokens (MSK IAM), when the properties ask for that mechanism.
    /// - Throws: ``KafkaConfigurationError`` naming a property librdkafka refuses.
    public init(
        properties: [String: String],
        logger: Logger,
        oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)? = nil
    ) throws(KafkaConfigurationError) {
        var properties = properties
        properties["group.id"] = "sluice-verify-\(UInt64.random(in: 1...UInt64.max))"
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "true"
        properties["auto.offset.reset"] = "earliest"
        let context = KafkaClientContext(
            logger: logger, handlers: KafkaClientHandlers(deliveryReports: { _ in }, oauthBearerToken: oauthBearerToken))
        let client = try KafkaClientFactory.make(type: RD_KAFKA_CONSUMER, properties: properties, context: context)
        // One queue for messages and callbacks (errors, logs, OAUTHBEARER refreshes), served by rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(client.handle.pointer)
        self.handle = client.handle
        self.contextOpaque = client.opaque // holds the context's retain until deinit
        self.logger = logger
    }

    deinit {
        // Closing a consumer blocks (it leaves the group, serves its queue): on the executor, which then exits.
        let (handle, contextOpaque) = (self.handle, self.contextOpaque)
        let destroy: @Sendable () -> Void = {
            rd_kafka_consumer_close(handle.pointer)
            rd_kafka_destroy(handle.pointer)
            Unmanaged<KafkaClientContext>.fromOpaque(contextOpaque.pointer).release()
        }
        if !executor.submit(destroy) { destroy() }
        executor.shutdown()
    }

    /// ``read(topic:timeout:handler:)`` on the reader's executor: the caller's task waits without blocking a thread.
    @discardableResult
    public func read(topic: String, timeout: Duration, handler: (KafkaReadMessage) -> Void) async throws(KafkaError) -> Int {
        try await executor.run { () throws(KafkaError) -> Int in try self.read(topic: topic, timeout: timeout, handler: handler) }
    }

    /// The partitions of `topic` and, for each, the offsets `[low, high)` it holds now.
    /// - Throws: ``KafkaError``: `_UNKNOWN_TOPIC` / `UNKNOWN_TOPIC_OR_PART` when it does not exist, `_TIMED_OUT` when no
    ///   broker answered within `timeout`.
    public func watermarks(topic: String, timeout: Duration) throws(KafkaError) -> [(partition: Int32, low: Int64, high: Int64)] {
        let timeoutMs = KafkaProducer.milliseconds(timeout)
        guard let rkt = rd_kafka_topic_new(handle.pointer, topic, nil) else {
            throw KafkaError(code: rd_kafka_last_error(), handle: handle.pointer)
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadataPointer: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle.pointer, 0, rkt, &metadataPointer, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadataPointer else {
            throw KafkaError(code: err, handle: handle.pointer)
        }
        defer { rd_kafka_metadata_destroy(metadataPointer) }
        let metadata = metadataPointer.pointee
        guard metadata.topic_cnt >= 1, let topics = metadata.topics else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, detail: "the broker returned no metadata for topic \(topic)")
        }
        let topicMetadata = topics[0]
        if topicMetadata.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: topicMetadata.err, detail: "topic \(topic): \(String(cString: rd_kafka_err2str(topicMetadata.err)))")
        }
        var result: [(partition: Int32, low: Int64, high: Int64)] = []
        for index in 0..<Int(topicMetadata.partition_cnt) {
            guard let partitions = topicMetadata.partitions else { break }
            let partition = partitions[index].id
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, timeoutMs)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: err, detail: "watermarks of \(topic) partition \(partition): \(String(cString: rd_kafka_err2str(err)))")
            }
            result.append((partition, low, high))
        }
        return result.sorted { $0.partition < $1.partition }
    }

    /// Reads every message of `topic` from the earliest offset until each partition's end-of-partition event at or past
    /// its high watermark found at the start.
    ///
    /// - Parameters:
    ///   - timeout: how long the whole read may take (and each metadata request).
    ///   - handler: called with each message, in offset order per partition.
    /// - Returns: the number of messages read.
    /// - Throws: ``KafkaError`` when the topic cannot be found or read, or `_TIMED_OUT` when the read did not reach the
    ///   end within `timeout`.
    @discardableResult
    public func read(topic: String, timeout: Duration, handler: (KafkaReadMessage) -> Void) throws(KafkaError) -> Int {
        let deadline = ContinuousClock.now + timeout
        let ranges = try watermarks(topic: topic, timeout: timeout).filter { $0.high > $0.low }
        guard !ranges.isEmpty else { return 0 }
        var remaining: [Int32: Int64] = [:] // partition -> the high watermark still to reach
        let list = rd_kafka_topic_partition_list_new(Int32(ranges.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for range in ranges {
            remaining[range.partition] = range.high
            if let entry = rd_kafka_topic_partition_list_add(list, topic, range.partition) {
                entry.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
        }
        let assignError = rd_kafka_assign(handle.pointer, list)
        guard assignError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: assignError, handle: handle.pointer) }
        defer { _ = rd_kafka_assign(handle.pointer, nil) }
        var count = 0
        while !remaining.isEmpty {
            guard ContinuousClock.now < deadline else {
                let left = remaining.keys.sorted().map(String.init).joined(separator: ", ")
                throw KafkaError(
                    code: RD_KAFKA_RESP_ERR__TIMED_OUT, detail: "reading \(topic) did not reach the end of partitions \(left) in time")
            }
            guard let message = rd_kafka_consumer_poll(handle.pointer, 200) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            // A partition is done at the end-of-partition event past the high watermark queried at the start, not at
            // the message just before that watermark: one broker (Tansu) answers `ListOffsets` with the last batch's
            // base offset + 1, short of the batch's other messages.
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                if let high = remaining[m.partition], m.offset >= high { remaining[m.partition] = nil }
                continue
            }
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let error = KafkaError(code: m.err, detail: Self.errorText(message), handle: handle.pointer)
                if error.isRetriable || error.code == KafkaError.Code.transport || error.code == KafkaError.Code.allBrokersDown {
                    logger.warning("reading \(topic): \(error)")
                    continue
                }
                throw error
            }
            guard remaining[m.partition] != nil else { continue }
            count += 1
            handler(Self.convert(message))
        }
        return count
    }

    private static func errorText(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> String? {
        guard let text = rd_kafka_message_errstr(message) else { return nil }
        return String(cString: text)
    }

    static func convert(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaReadMessage {
        let m = message.pointee
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var headers: [(name: String, value: [UInt8])] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = name.map { String(cString: $0) } ?? ""
                headers.append((text, bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                index += 1
            }
        }
        return KafkaReadMessage(partition: m.partition, offset: m.offset, key: key, value: value, headers: headers)
    }
}
