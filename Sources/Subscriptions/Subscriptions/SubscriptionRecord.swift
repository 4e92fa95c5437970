public import GatewayCore

/// One record a subscription delivers: the event's envelope and where it came from.
public struct SubscriptionRecord: Sendable, Equatable {
    /// The record's position in its source (the log's sequence).
    public var sequence: UInt64
    public var eventID: String
    public var team: String
    public var app: String
    public var partitionKey: String
    /// When the gateway received the event (Unix ms).
    public var receivedAtMillis: Int64
    /// The versioned JSON envelope, as every sink receives it (from Kafka: the message's value, whatever it holds).
    public var envelope: [UInt8]
    /// Where a record read from Kafka came from; nil for the log.
    public var kafka: KafkaOrigin?

    /// A Kafka message's coordinates and metadata (`sequence` is its offset).
    public struct KafkaOrigin: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var key: [UInt8]?
        /// Header names and values, in order.
        public var headers: [Header]
        /// `CREATE_TIME` or `LOG_APPEND_TIME`.
        public var timestampType: String

        /// One message header.
        public struct Header: Sendable, Equatable {
            public var name: String
            public var value: [UInt8]

            public init(name: String, value: [UInt8]) {
                self.name = name
                self.value = value
            }
        }

        public init(topic: String, partition: Int32, key: [UInt8]?, headers: [Header] = [], timestampType: String = "CREATE_TIME") {
            self.topic = topic
            self.partition = partition
            self.key = key
            self.headers = headers
            self.timestampType = timestampType
        }

        /// `topic-partition`, as Lambda's MSK event keys its records.
        public var topicPartition: String { topic + "-" + String(partition) }
    }

    /// What a partial batch answer names this record by: the log sequence, or `topic-partition:offset`.
    public var itemIdentifier: String {
        kafka.map { $0.topicPartition + ":" + String(sequence) } ?? String(sequence)
    }

    public init(
        sequence: UInt64, eventID: String, team: String, app: String, partitionKey: String, receivedAtMillis: Int64,
        envelope: [UInt8], kafka: KafkaOrigin? = nil
    ) {
        self.kafka = kafka
        self.sequence = sequence
        self.eventID = eventID
        self.team = team
        self.app = app
        self.partitionKey = partitionKey
        self.receivedAtMillis = receivedAtMillis
        self.envelope = envelope
    }

    /// The record of a log entry.
    public init(_ record: SinkRecord) {
        self.init(
            sequence: record.sequence, eventID: record.event.eventID, team: record.event.team, app: record.event.app,
            partitionKey: record.event.partitionKey, receivedAtMillis: record.event.receivedAtMillis,
            envelope: Array(record.event.envelope))
    }
}

/// A batch handed to a handler.
public struct HandlerBatch: Sendable {
    /// The subscription's name.
    public var subscription: String
    /// In source order.
    public var records: [SubscriptionRecord]

    public init(subscription: String, records: [SubscriptionRecord]) {
        self.subscription = subscription
        self.records = records
    }
}

/// What a handler made of a batch.
public enum HandlerResult: Sendable, Equatable {
    /// Every record was processed.
    case success
    /// The records before `firstFailedIndex` were processed; it and everything after are to be retried
    /// (Lambda's `batchItemFailures`: the lowest failed item becomes the checkpoint).
    case partialFailure(firstFailedIndex: Int, HandlerFailure)
    /// Nothing in the batch counts as processed.
    case failure(HandlerFailure)
    /// Every record was processed except the rejected ones, which the handler can never take (a value that does not
    /// fit its column, a violated constraint): they become dead letters at once, without retries.
    case rejected([RecordRejection])
}

/// A record of a batch the handler refused for good, and why.
public struct RecordRejection: Sendable, Equatable {
    /// The record's index in the batch.
    public var index: Int
    public var failure: HandlerFailure

    public init(index: Int, failure: HandlerFailure) {
        self.index = index
        self.failure = failure
    }
}

/// Why a handler call failed: what the retry logic classifies and what dead letters and `last_error` show.
public struct HandlerFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for the retry decision (never the message text).
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case functionError, unreachable, timeout, throttled, forbidden, invalidResponse, rejected }
        private let value: Value
        /// The handler ran and answered an error status (Lambda's function error): retried, bisected.
        public static let functionError = Kind(value: .functionError)
        /// The handler could not be reached (connection refused, DNS): retried, not bisected.
        public static let unreachable = Kind(value: .unreachable)
        /// No answer within the timeout: a function error (as a Lambda timeout is).
        public static let timeout = Kind(value: .timeout)
        /// 429 / 503: wait (`Retry-After`) and retry, not bisected.
        public static let throttled = Kind(value: .throttled)
        /// The destination is not allowed (`network.allowed_webhook_hosts`): permanent.
        public static let forbidden = Kind(value: .forbidden)
        /// A 2xx answer that is not a valid response body (e.g. a malformed `batchItemFailures`): the whole batch failed.
        public static let invalidResponse = Kind(value: .invalidResponse)
        /// The handler refused a record's data (a type or constraint violation): permanent.
        public static let rejected = Kind(value: .rejected)
        public var description: String { value.rawValue }
    }

    public var kind: Kind
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// What happened, for operators.
    public var message: String
    /// The start of the answer's body (at most ``excerptLimit`` bytes).
    public var bodyExcerpt: String?
    /// The handler's `Retry-After`.
    public var retryAfter: Duration?

    /// The longest body excerpt kept.
    public static let excerptLimit = 512

    public init(kind: Kind, status: Int? = nil, message: String, bodyExcerpt: String? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.bodyExcerpt = bodyExcerpt
        self.retryAfter = retryAfter
    }

    /// Whether splitting the batch can isolate the cause (the handler ran and failed).
    public var isFunctionError: Bool { kind == .functionError || kind == .timeout || kind == .invalidResponse }

    public var description: String {
        status.map { "\(message) (status \($0))" } ?? message
    }
}

/// Delivers batches: a webhook, a database table.
public protocol SubscriptionHandler: Sendable {
    /// Delivers one batch. Cancellation abandons the call (the batch is not checkpointed).
    func deliver(_ batch: HandlerBatch) async -> HandlerResult
}
