import EnvelopeScanner
import GatewayCore
public import KafkaClient
public import Logging
public import Subscriptions
import Synchronization

/// A Kafka topic as a subscription source: one member of a consumer group (cooperative-sticky), offsets committed
/// only after the records before them were delivered or became dead letters, never automatically. Gateways that
/// share a `group_id` split the topic's partitions; when one stops, its partitions move to the others and resume at
/// the committed offsets.
public final class KafkaSource: SubscriptionSource {
    let topic: String
    let groupID: String
    let consumer: KafkaGroupConsumer
    let logger: Logger

    private struct State {
        /// The next offset to deliver, per partition this member has read (the first offset it saw, then what it
        /// committed).
        var positions: [Int32: Int64] = [:]
        /// Records with a timestamp before this Unix ms are passed over (a replay by time; Tansu answers
        /// offsets-for-times per batch and with 0 past the end, so the time is checked on every record too).
        var skipBefore: Int64?
        /// The partitions the group gave this member, as of the last read.
        var assigned: [Int32] = []
    }

    private let state = Mutex(State())

    /// The poll's bound, so that a cancelled read returns promptly.
    static let pollTimeout: Duration = .milliseconds(200)

    public init(topic: String, groupID: String, consumer: KafkaGroupConsumer, logger: Logger) {
        self.topic = topic
        self.groupID = groupID
        self.consumer = consumer
        self.logger = logger
    }

    public func start() async throws {
        try await consumer.subscribe(topic)
    }

    public func next(maxRecords: Int) async throws -> SourceRead {
        while !Task.isCancelled {
            let messages = try await consumer.poll(maxMessages: maxRecords, timeout: Self.pollTimeout)
            let assigned = (try? await consumer.assignment())?.filter { $0.topic == topic }.map(\.partition).sorted()
            if let assigned { state.withLock { $0.assigned = assigned } }
            if messages.isEmpty { continue }
            return state.withLock { s in
                var read = SourceRead()
                var next: [Int32: Int64] = [:]
                for consumed in messages {
                    let message = consumed.message
                    next[message.partition] = max(next[message.partition] ?? 0, message.offset + 1)
                    if s.positions[message.partition] == nil { s.positions[message.partition] = message.offset }
                    if let cutoff = s.skipBefore, let time = consumed.timestampMillis, time < cutoff { continue }
                    read.records.append(Self.record(consumed))
                }
                read.checkpoint = .partitions(
                    next.sorted { $0.key < $1.key }.map { PartitionOffset(topic: topic, partition: $0.key, next: $0.value) })
                return read
            }
        }
        return SourceRead()
    }

    /// The subscription's record of a message: ids, team, app and key from the value when it is one of our
    /// envelopes (a topic our Kafka sink writes), otherwise the message's coordinates and key.
    static func record(_ consumed: KafkaConsumedMessage) -> SubscriptionRecord {
        let message = consumed.message
        let origin = SubscriptionRecord.KafkaOrigin(
            topic: consumed.topic, partition: message.partition, key: message.key,
            headers: message.headers.map { SubscriptionRecord.KafkaOrigin.Header(name: $0.name, value: $0.value) },
            timestampType: consumed.isCreateTime ? "CREATE_TIME" : "LOG_APPEND_TIME")
        let value = message.value
        let members = (try? EnvelopeScanner.objectMembers(value, keys: ["event_id", "team", "app", "partition_key"])) ?? [:]
        func member(_ name: String) -> String? { members[name].flatMap { EnvelopeScanner.decodeString(value, range: $0) } }
        let key = message.key.map { String(decoding: $0, as: UTF8.self) }
        return SubscriptionRecord(
            sequence: UInt64(clamping: message.offset), eventID: member("event_id") ?? (origin.topicPartition + ":" + String(message.offset)),
            team: member("team") ?? "", app: member("app") ?? "", partitionKey: member("partition_key") ?? key ?? "",
            receivedAtMillis: consumed.timestampMillis ?? Timestamp.nowMillis(), envelope: value, kafka: origin)
    }

    public func commit(_ checkpoint: SourceCheckpoint) async throws {
        guard case .partitions(let offsets) = checkpoint else { return }
        try await consumer.commit(offsets.map { ($0.topic, $0.partition, $0.next) })
        state.withLock { s in
            for offset in offsets { s.positions[offset.partition] = max(s.positions[offset.partition] ?? 0, offset.next) }
        }
    }

    public func replay(to target: ReplayTarget) async throws {
        let assigned = try await consumer.assignment()
        guard !assigned.isEmpty else { throw SubscriptionSourceError("no partition of \(topic) is assigned to this gateway yet") }
        switch target {
        case .sequence(let offset):
            try await consumer.seek(assigned.map { ($0.topic, $0.partition, Int64(clamping: offset)) })
            state.withLock { $0.skipBefore = nil }
        case .offsets(let offsets):
            let owned = Set(assigned.map(\.partition))
            let mine = offsets.filter { $0.topic == topic && owned.contains($0.partition) }
            guard !mine.isEmpty else {
                throw SubscriptionSourceError("none of those partitions of \(topic) is assigned to this gateway (it has \(owned.sorted()))")
            }
            try await consumer.seek(mine.map { ($0.topic, $0.partition, $0.next) })
            state.withLock { $0.skipBefore = nil }
        case .timestamp(let millis):
            let found = try await consumer.offsetsForTimes(assigned, millis: millis)
            // No offset (past the end) and Tansu's 0 past its last batch both start at the beginning: the time check on
            // every record then passes over what is older, so nothing before the time is redelivered.
            try await consumer.seek(found.map { ($0.topic, $0.partition, $0.offset ?? 0) })
            state.withLock { $0.skipBefore = millis }
        }
    }

    public func stop() async {
        await consumer.close()
    }

    /// The partitions assigned to this member: the next offset to deliver (null before the first read), the high
    /// watermark of the last fetch, and the difference.
    public var progress: SourceProgress {
        let (positions, assigned) = state.withLock { ($0.positions, $0.assigned) }
        var lag: UInt64 = 0
        var items: [String] = []
        for partition in assigned {
            let next = positions[partition]
            let high = consumer.highWatermark(topic: topic, partition: partition)
            let behind = high.map { max(0, $0 - (next ?? $0)) } ?? 0
            lag += UInt64(clamping: behind)
            items.append(
                "{\"partition\":\(EnvelopeWriter.jsonString(topic + "-" + String(partition))),\"topic\":\(EnvelopeWriter.jsonString(topic)),"
                    + "\"offset\":\(next.map(String.init) ?? "null"),\"high_watermark\":\(high.map(String.init) ?? "null"),\"lag\":\(behind)}")
        }
        return SourceProgress(positionsJSON: "[" + items.joined(separator: ",") + "]", lagRecords: lag)
    }

    public var kafkaTopic: String? { topic }

    public var descriptionJSON: String {
        "{\"kafka\":{\"topic\":\(EnvelopeWriter.jsonString(topic)),\"group_id\":\(EnvelopeWriter.jsonString(groupID))}}"
    }
}
