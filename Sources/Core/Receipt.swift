/// Proof that a backend accepted a record: what `/v1/events/confirmed` returns.
///
/// Receipts are open: each sink builds its own (`Receipt.kinesis(…)` lives in the Kinesis sink) as a named JSON
/// object of ordered fields; the HTTP layer renders any receipt as `"<key>":{<fields>}` beside the event's fields.
public struct Receipt: Sendable, Equatable, CustomStringConvertible {
    /// One field of a receipt.
    public struct Field: Sendable, Equatable {
        /// A field's JSON value.
        public enum Value: Sendable, Equatable {
            case string(String)
            case integer(Int64)
        }

        public var name: String
        public var value: Value

        public init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// The member name in the response (`log`, `kinesis`, `kafka`).
    public var key: String
    /// The receipt's fields, in response order.
    public var fields: [Field]

    public init(key: String, fields: [Field]) {
        self.key = key
        self.fields = fields
    }

    /// The string value of field `name`.
    public func string(_ name: String) -> String? {
        for field in fields where field.name == name {
            if case .string(let value) = field.value { return value }
        }
        return nil
    }

    /// The integer value of field `name`.
    public func integer(_ name: String) -> Int64? {
        for field in fields where field.name == name {
            if case .integer(let value) = field.value { return value }
        }
        return nil
    }

    public var description: String {
        key + "{"
            + fields.map { field in
                switch field.value {
                case .string(let value): "\(field.name)=\(value)"
                case .integer(let value): "\(field.name)=\(value)"
                }
            }.joined(separator: ",") + "}"
    }

    /// The log's own receipt (the embedded default): the record's position in the write-ahead log.
    public static func log(_ position: LogPosition) -> Receipt {
        Receipt(
            key: "log",
            fields: [
                Field("sequence", .integer(Int64(truncatingIfNeeded: position.sequence))),
                Field("segment", .integer(Int64(truncatingIfNeeded: position.segment))),
                Field("offset", .integer(Int64(position.offset))),
            ])
    }
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
