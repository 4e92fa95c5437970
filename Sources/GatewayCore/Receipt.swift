/// Proof that a backend accepted a record: what `/v1/events/confirmed` returns.
public enum Receipt: Sendable, Equatable {
    /// The local route: the record is durable in the write-ahead log at this position and the archive accepted it.
    case local(LogPosition)
    /// A Kinesis stream stored the record.
    case kinesis(stream: String, shardID: String, sequenceNumber: String, subSequenceNumber: Int?)
    /// A Kafka topic stored the record.
    case kafka(topic: String, partition: Int32, offset: Int64)
}

/// A record's place in the write-ahead log.
public struct LogPosition: Sendable, Equatable, Hashable {
    /// The record's sequence number: gap-free, increasing, unique within one log.
    public var sequence: UInt64
    /// The segment holding the record (its base sequence, which names the segment file).
    public var segment: UInt64
    /// The record's byte offset inside the segment.
    public var offset: Int

    public init(sequence: UInt64, segment: UInt64, offset: Int) {
        self.sequence = sequence
        self.segment = segment
        self.offset = offset
    }
}

/// One try at delivering a record to a backend.
public struct DeliveryAttempt: Sendable, Equatable {
    /// When the attempt started, in Unix epoch milliseconds.
    public var startedAtMillis: Int64
    /// How long it took, in milliseconds.
    public var durationMillis: Double
    /// The backend's error code (`ProvisionedThroughputExceededException`, `MSG_SIZE_TOO_LARGE`, `EACCES`…), nil on success.
    public var errorCode: String?
    /// The backend's error message, nil on success.
    public var errorMessage: String?

    public init(startedAtMillis: Int64, durationMillis: Double, errorCode: String? = nil, errorMessage: String? = nil) {
        self.startedAtMillis = startedAtMillis
        self.durationMillis = durationMillis
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// Why a record could not be delivered, with every attempt made.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// A short machine-readable reason (`ttl_expired`, `rejected`, `io_error`…).
    public var code: String
    /// What went wrong, for a person.
    public var message: String
    /// Every attempt, oldest first.
    public var attempts: [DeliveryAttempt]

    public init(code: String, message: String, attempts: [DeliveryAttempt] = []) {
        self.code = code
        self.message = message
        self.attempts = attempts
    }

    public var description: String { "\(code): \(message)" }
}
