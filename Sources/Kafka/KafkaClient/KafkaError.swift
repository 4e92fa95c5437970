internal import CRDKafka

/// An error reported by librdkafka: a produce call that was refused, or a message whose delivery
/// failed, or a client-level error.
///
/// `code` is librdkafka's `rd_kafka_resp_err_t`: negative values are librdkafka-internal errors
/// (`RD_KAFKA_RESP_ERR__…`, e.g. `-184` `_QUEUE_FULL`), positive values are Kafka protocol
/// errors. When the client raised a fatal error (`_FATAL`), `code`, `name` and `message` describe
/// the underlying error from `rd_kafka_fatal_error()` and `isFatal` is true.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's error code (`rd_kafka_resp_err_t`).
    public var code: Int32
    /// librdkafka's symbolic name without the `RD_KAFKA_RESP_ERR_` prefix (`rd_kafka_err2name`),
    /// e.g. `_MSG_TIMED_OUT`, `_QUEUE_FULL`, `MSG_SIZE_TOO_LARGE`.
    public var name: String
    /// A human-readable description.
    public var message: String
    /// Whether retrying the same operation later may succeed (the queue was full, the message
    /// timed out, the broker was unreachable, a leader moved, …).
    public var isRetriable: Bool
    /// Whether the client instance is unusable: the producer must be closed and recreated.
    public var isFatal: Bool

    /// Creates an error from its parts (mainly for tests and adapters).
    public init(code: Int32, name: String, message: String, isRetriable: Bool, isFatal: Bool) {
        self.code = code
        self.name = name
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    public var description: String {
        var text = "KafkaError(\(name) [\(code)]): \(message)"
        if isFatal { text += " (fatal)" }
        if isRetriable { text += " (retriable)" }
        return text
    }

    /// The local producer queue is full (`queue.buffering.max.messages` / `…kbytes`): back off
    /// (let delivery reports drain) and produce again.
    public var isQueueFull: Bool { code == Self.Code.queueFull }
    /// The message was not acknowledged within `message.timeout.ms`.
    public var isMessageTimedOut: Bool { code == Self.Code.messageTimedOut }

    /// Well-known librdkafka error codes.
    public enum Code {
        /// `_QUEUE_FULL`: the local producer queue is full.
        public static let queueFull: Int32 = -184
        /// `_MSG_TIMED_OUT`: the message timed out in the producer.
        public static let messageTimedOut: Int32 = -192
        /// `_FATAL`: a fatal error was raised; see ``KafkaError/isFatal``.
        public static let fatal: Int32 = -150
        /// `_PURGE_QUEUE`: the message was purged from the local queue (producer closed).
        public static let purgeQueue: Int32 = -152
        /// `_PURGE_INFLIGHT`: the message was purged while in flight (producer closed).
        public static let purgeInflight: Int32 = -151
        /// `MSG_SIZE_TOO_LARGE`: the message is larger than `message.max.bytes`.
        public static let messageSizeTooLarge: Int32 = 10
        /// `_UNKNOWN_TOPIC`: the topic does not exist in the cluster.
        public static let unknownTopic: Int32 = -188
        /// `_STATE`: the operation is not allowed in the client's state (e.g. after `close()`).
        public static let state: Int32 = -172
        /// `_TRANSPORT`: a broker connection failed.
        public static let transport: Int32 = -195
        /// `_ALL_BROKERS_DOWN`: no broker is reachable.
        public static let allBrokersDown: Int32 = -187
        /// `_RESOLVE`: a broker's host name could not be resolved.
        public static let resolve: Int32 = -193
        /// `_AUTHENTICATION`: SASL or TLS authentication failed.
        public static let authentication: Int32 = -169
        /// `_SSL`: a TLS error.
        public static let ssl: Int32 = -181
        /// `_INVALID_ARG`: an argument librdkafka refused (e.g. a header name with NUL).
        public static let invalidArgument: Int32 = -186
        /// `INVALID_MSG`: the broker found the message corrupt.
        public static let invalidMessage: Int32 = 2
        /// `INVALID_MSG_SIZE`: the message has an invalid size.
        public static let invalidMessageSize: Int32 = 4
        /// `TOPIC_EXCEPTION`: the topic name is invalid.
        public static let topicException: Int32 = 17
        /// `RECORD_LIST_TOO_LARGE`: the batch exceeds the broker's segment size.
        public static let recordListTooLarge: Int32 = 18
        /// `TOPIC_AUTHORIZATION_FAILED`: the client may not write to the topic.
        public static let topicAuthorizationFailed: Int32 = 29
        /// `INVALID_TIMESTAMP`: the message timestamp is out of the broker's accepted range.
        public static let invalidTimestamp: Int32 = 32
        /// `UNSUPPORTED_FOR_MESSAGE_FORMAT`: the message uses a feature the topic's format lacks.
        public static let unsupportedForMessageFormat: Int32 = 43
        /// `INVALID_RECORD`: the broker refused the record (e.g. a compacted topic without a key).
        public static let invalidRecord: Int32 = 87
    }

    /// Codes for which sending the same message again can never succeed: it is too large, malformed, or the client
    /// may not write to its topic.
    public static let permanentCodes: Set<Int32> = [
        Code.messageSizeTooLarge, Code.invalidMessage, Code.invalidMessageSize, Code.recordListTooLarge,
        Code.topicAuthorizationFailed, Code.invalidRecord, Code.topicException, Code.invalidTimestamp,
        Code.unsupportedForMessageFormat, Code.invalidArgument,
    ]

    /// Whether sending the same message again can never succeed (see ``permanentCodes``).
    public var isPermanent: Bool { Self.permanentCodes.contains(code) }

    /// Whether this client-level error means no broker can be reached (`_ALL_BROKERS_DOWN`, `_RESOLVE`,
    /// `_AUTHENTICATION`, `_SSL`).
    public var isBrokerUnreachable: Bool {
        [Code.allBrokersDown, Code.resolve, Code.authentication, Code.ssl].contains(code)
    }

    /// The error the producer throws after `close()`.
    static func closed() -> KafkaError {
        KafkaError(
            code: Code.state, name: "_STATE", message: "the producer is closed", isRetriable: false, isFatal: false)
    }
}

extension KafkaError {
    /// Describes `code` (resolving `_FATAL` through `rd_kafka_fatal_error` when `handle` is given).
    /// `detail`, when non-empty, replaces librdkafka's generic description of the code.
    init(code raw: rd_kafka_resp_err_t, detail: String? = nil, handle: OpaquePointer? = nil) {
        var err = raw
        var message = detail ?? ""
        var fatal = false
        if err == RD_KAFKA_RESP_ERR__FATAL {
            fatal = true
            if let handle {
                var buffer = [CChar](repeating: 0, count: 512)
                let original = rd_kafka_fatal_error(handle, &buffer, buffer.count)
                if original != RD_KAFKA_RESP_ERR_NO_ERROR {
                    err = original
                    message = Self.string(buffer)
                }
            }
        }
        if message.isEmpty { message = String(cString: rd_kafka_err2str(err)) }
        self.init(
            code: err.rawValue,
            name: String(cString: rd_kafka_err2name(err)),
            message: message,
            isRetriable: Self.retriableCodes.contains(err.rawValue),
            isFatal: fatal
        )
    }

    /// Takes ownership of `error` (an `rd_kafka_error_t *`) and destroys it.
    init(consuming error: OpaquePointer, handle: OpaquePointer?) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let detail = rd_kafka_error_string(error).map { String(cString: $0) }
        self.init(code: code, detail: detail, handle: handle)
        if rd_kafka_error_is_retriable(error) != 0 { isRetriable = true }
        if rd_kafka_error_is_fatal(error) != 0 { isFatal = true }
    }

    /// A C buffer up to its first NUL.
    static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Codes for which producing the same message again later may succeed.
    static let retriableCodes: Set<Int32> = [
        -195, // _TRANSPORT
        -192, // _MSG_TIMED_OUT
        -187, // _ALL_BROKERS_DOWN
        -185, // _TIMED_OUT
        -184, // _QUEUE_FULL
        -152, // _PURGE_QUEUE
        -151, // _PURGE_INFLIGHT
        5, // LEADER_NOT_AVAILABLE
        6, // NOT_LEADER_FOR_PARTITION
        7, // REQUEST_TIMED_OUT
        13, // NETWORK_EXCEPTION
        14, // COORDINATOR_LOAD_IN_PROGRESS
        15, // COORDINATOR_NOT_AVAILABLE
        16, // NOT_COORDINATOR
        19, // NOT_ENOUGH_REPLICAS
        20, // NOT_ENOUGH_REPLICAS_AFTER_APPEND
        56, // KAFKA_STORAGE_ERROR
        74, // FENCED_LEADER_EPOCH
        75, // UNKNOWN_LEADER_EPOCH
    ]
}

/// A configuration property was rejected: unknown name, invalid value, or a combination that
/// `rd_kafka_new` refused. The value itself is never included (it may be a secret).
public struct KafkaConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rejected property, or nil when the client as a whole could not be created.
    public var property: String?
    /// librdkafka's explanation.
    public var message: String

    /// Creates an error from its parts.
    public init(property: String?, message: String) {
        self.property = property
        self.message = message
    }

    public var description: String {
        if let property { return "KafkaConfigurationError(\(property)): \(message)" }
        return "KafkaConfigurationError: \(message)"
    }
}
