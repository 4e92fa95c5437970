internal import CRDKafka
public import Logging
internal import Synchronization

/// A message read by a ``KafkaGroupConsumer``: a ``KafkaReadMessage`` with its topic and broker timestamp.
public struct KafkaConsumedMessage: Sendable {
    public var topic: String
    public var message: KafkaReadMessage
    /// The message's timestamp (Unix ms; create or log-append time, whichever the topic keeps), nil when it has none.
    public var timestampMillis: Int64?
    /// Whether the timestamp is the producer's (`CREATE_TIME`) rather than the broker's (`LOG_APPEND_TIME`).
    public var isCreateTime: Bool
}

/// A member of a Kafka consumer group (librdkafka's high-level consumer): cooperative-sticky assignment, no automatic
/// commits. Offsets move only through ``commit(_:)``, after the messages before them were handled, so a member
/// that stops hands its partitions to the others at the last committed offsets. Every blocking librdkafka call runs
/// on the consumer's own executor thread.
public final class KafkaGroupConsumer: Sendable {
    private let handle: KafkaPointer
    private let contextOpaque: KafkaRawOpaque
    private let logger: Logger
    private let executor = KafkaExecutor(name: "rdkafka-consumer")
    private let closed = Mutex(false)

    /// Creates the consumer; nothing connects until ``subscribe(_:)``.
    ///
    /// - Parameters:
    ///   - properties: librdkafka properties (`bootstrap.servers`, security, pass-through ones).
    ///     `group.id`, `enable.auto.commit` (false), `enable.auto.offset.store` (false),
    ///     `partition.assignment.strategy` (`cooperative-sticky`) and `auto.offset.reset` are set here.
    ///   - groupID: the consumer group.
    ///   - startAtEarliest: where a partition without a committed offset starts (`earliest`, else `latest`).
    /// - Throws: ``KafkaConfigurationError`` naming a property librdkafka refuses.
    public init(
        properties: [String: String], groupID: String, startAtEarliest: Bool, logger: Logger,
        oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)? = nil
    ) throws(KafkaConfigurationError) {
        var properties = properties
        properties["group.id"] = groupID
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["partition.assignment.strategy"] = "cooperative-sticky"
        properties["auto.offset.reset"] = startAtEarliest ? "earliest" : "latest"
        let context = KafkaClientContext(
            logger: logger, handlers: KafkaClientHandlers(deliveryReports: { _ in }, oauthBearerToken: oauthBearerToken))
        let client = try KafkaClientFactory.make(type: RD_KAFKA_CONSUMER, properties: properties, context: context)
        rd_kafka_poll_set_consumer(client.handle.pointer)
        self.handle = client.handle
        self.contextOpaque = client.opaque
        self.logger = logger
    }

    deinit {
        let (handle, contextOpaque) = (self.handle, self.contextOpaque)
        let wasClosed = closed.withLock { $0 }
        let destroy: @Sendable () -> Void = {
            if !wasClosed { rd_kafka_consumer_close(handle.pointer) }
            rd_kafka_destroy(handle.pointer)
            Unmanaged<KafkaClientContext>.fromOpaque(contextOpaque.pointer).release()
        }
        if !executor.submit(destroy) { destroy() }
        executor.shutdown()
    }

    /// Joins the group for `topic`.
    public func subscribe(_ topic: String) async throws(KafkaError) {
        try await executor.run { () throws(KafkaError) in
            let list = rd_kafka_topic_partition_list_new(1)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            let error = rd_kafka_subscribe(handle.pointer, list)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: error, handle: handle.pointer) }
        }
    }

    /// Waits up to `timeout` for a first message, then takes what else is ready, up to `maxMessages`.
    /// Transient errors (a broker down, a rebalance) are logged and read past; group rebalances happen inside.
    public func poll(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> [KafkaConsumedMessage] {
        try await executor.run { () throws(KafkaError) -> [KafkaConsumedMessage] in
            var messages: [KafkaConsumedMessage] = []
            let deadline = ContinuousClock.now + timeout
            while messages.count < max(1, maxMessages) {
                let remaining = deadline - ContinuousClock.now
                let waitMs =
                    messages.isEmpty
                    ? KafkaProducer.milliseconds(remaining) : 0
                guard let message = rd_kafka_consumer_poll(handle.pointer, waitMs) else { break }
                defer { rd_kafka_message_destroy(message) }
                let m = message.pointee
                if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let error = KafkaError(code: m.err, detail: nil, handle: handle.pointer)
                    if error.isFatal { throw error }
                    logger.warning("kafka consumer: \(error)")
                    if messages.isEmpty, ContinuousClock.now >= deadline { break }
                    continue
                }
                let topic = m.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""
                var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let timestamp = rd_kafka_message_timestamp(message, &timestampType)
                messages.append(
                    KafkaConsumedMessage(
                        topic: topic, message: KafkaTopicReader.convert(message),
                        timestampMillis: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
                        isCreateTime: timestampType == RD_KAFKA_TIMESTAMP_CREATE_TIME))
            }
            return messages
        }
    }

    /// Commits, synchronously, the next offset to read of each `(topic, partition)`.
    public func commit(_ offsets: [(topic: String, partition: Int32, next: Int64)]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await executor.run { () throws(KafkaError) in
            let list = Self.partitionList(offsets.map { ($0.topic, $0.partition, $0.next) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let error = rd_kafka_commit(handle.pointer, list, 0)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: error, handle: handle.pointer) }
        }
    }

    /// Moves each assigned `(topic, partition)` to `offset` (the next message read); used by replay.
    public func seek(_ offsets: [(topic: String, partition: Int32, offset: Int64)]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await executor.run { () throws(KafkaError) in
            let list = Self.partitionList(offsets.map { ($0.topic, $0.partition, $0.offset) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_seek_partitions(handle.pointer, list, 10_000) {
                throw KafkaError(consuming: error, handle: handle.pointer)
            }
        }
    }

    /// A librdkafka partition list whose entries carry `value` in their offset field (an offset, or a time for
    /// offsets-for-times); the caller destroys it.
    private static func partitionList(_ entries: [(topic: String, partition: Int32, value: Int64)])
        -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    {
        let list = rd_kafka_topic_partition_list_new(Int32(clamping: entries.count))
        for entry in entries {
            rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)?.pointee.offset = entry.value
        }
        return list
    }

    /// For each assigned partition: the first offset whose message is at or after `millis`, or nil when no message
    /// is (the broker answers the end, or, as Tansu does, 0 for a time after its last batch; see `seekTo…`).
    public func offsetsForTimes(
        _ partitions: [(topic: String, partition: Int32)], millis: Int64
    ) async throws(KafkaError) -> [(topic: String, partition: Int32, offset: Int64?)] {
        guard !partitions.isEmpty else { return [] }
        return try await executor.run { () throws(KafkaError) -> [(topic: String, partition: Int32, offset: Int64?)] in
            let list = Self.partitionList(partitions.map { ($0.topic, $0.partition, millis) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let error = rd_kafka_offsets_for_times(handle.pointer, list, 10_000)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list, let elements = list.pointee.elems else {
                throw KafkaError(code: error, handle: handle.pointer)
            }
            return (0..<Int(list.pointee.cnt)).map { index in
                let entry = elements[index]
                let topic = entry.topic.map { String(cString: $0) } ?? ""
                return (topic, entry.partition, entry.offset >= 0 ? entry.offset : nil)
            }
        }
    }

    /// The partitions this member owns now.
    public func assignment() async throws(KafkaError) -> [(topic: String, partition: Int32)] {
        try await executor.run { () throws(KafkaError) -> [(topic: String, partition: Int32)] in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let error = rd_kafka_assignment(handle.pointer, &list)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(code: error, handle: handle.pointer) }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            guard let elements = list.pointee.elems else { return [] }
            return (0..<Int(list.pointee.cnt)).map { index in
                (elements[index].topic.map { String(cString: $0) } ?? "", elements[index].partition)
            }
        }
    }

    /// The high watermark librdkafka last saw in a fetch response for a partition (no request; nil when unknown).
    /// Tansu's `ListOffsets` answers short of the log end, so lag comes from the fetched watermark.
    public func highWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Leaves the group (its partitions go to the other members) and stops fetching.
    public func close() async {
        let already = closed.withLock { value in
            defer { value = true }
            return value
        }
        guard !already else { return }
        await executor.run { () -> Void in _ = rd_kafka_consumer_close(handle.pointer) }
    }
}
