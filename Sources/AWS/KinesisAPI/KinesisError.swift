public import AWSJSONClient

/// A failed Kinesis call, or one record a `PutRecords` call did not store, with its code parsed once here.
///
/// Kinesis names failures by strings (`ErrorCode` per record, `__type` per call). They are read into a ``Code`` at
/// this edge, so the sink's retry logic and shard-map handling compare typed values and never read text. A code
/// Kinesis adds later keeps its text for logs and metrics and is treated as transient.
public struct KinesisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Kinesis error code: an opaque value over the codes Sluice knows; new codes break no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Known: String {
            case provisionedThroughputExceeded = "ProvisionedThroughputExceededException"
            case internalFailure = "InternalFailure"
            case serviceUnavailable = "ServiceUnavailable"
            case throttling = "ThrottlingException"
            case limitExceeded = "LimitExceededException"
            case kmsThrottling = "KMSThrottlingException"
            case kmsDisabled = "KMSDisabledException"
            case kmsInvalidState = "KMSInvalidStateException"
            case kmsAccessDenied = "KMSAccessDeniedException"
            case kmsNotFound = "KMSNotFoundException"
            case kmsOptInRequired = "KMSOptInRequired"
            case resourceNotFound = "ResourceNotFoundException"
            case resourceInUse = "ResourceInUseException"
            case accessDenied = "AccessDeniedException"
            case invalidArgument = "InvalidArgumentException"
            case validation = "ValidationException"
        }

        private enum Value: Hashable {
            case known(Known)
            /// A code Sluice does not know (or its own, such as `ConnectionError`): kept for logs and metrics only.
            case other(String)
        }

        private let value: Value

        private init(_ known: Known) { value = .known(known) }

        /// Parses a code as Kinesis (or the JSON client) spells it.
        public init(parsing text: String) {
            value = Known(rawValue: text).map(Value.known) ?? .other(text)
        }

        /// The shard's write limit was exceeded (per record or per call).
        public static let provisionedThroughputExceeded = Code(.provisionedThroughputExceeded)
        /// Kinesis failed internally; the record may be sent again.
        public static let internalFailure = Code(.internalFailure)
        /// The service is unavailable (a 5xx without a code).
        public static let serviceUnavailable = Code(.serviceUnavailable)
        /// The account's API rate was exceeded.
        public static let throttling = Code(.throttling)
        /// A control-plane limit was exceeded (too many `ListShards` calls, for example).
        public static let limitExceeded = Code(.limitExceeded)
        /// KMS throttled the encryption of a record.
        public static let kmsThrottling = Code(.kmsThrottling)
        /// The stream's KMS key is disabled.
        public static let kmsDisabled = Code(.kmsDisabled)
        /// The stream's KMS key is in a state that does not allow encryption.
        public static let kmsInvalidState = Code(.kmsInvalidState)
        /// KMS refused the stream's key.
        public static let kmsAccessDenied = Code(.kmsAccessDenied)
        /// The stream's KMS key does not exist.
        public static let kmsNotFound = Code(.kmsNotFound)
        /// The account is not subscribed to KMS.
        public static let kmsOptInRequired = Code(.kmsOptInRequired)
        /// The stream does not exist (yet).
        public static let resourceNotFound = Code(.resourceNotFound)
        /// The stream is being created, updated or deleted.
        public static let resourceInUse = Code(.resourceInUse)
        /// The credential may not write to the stream.
        public static let accessDenied = Code(.accessDenied)
        /// A request argument is invalid.
        public static let invalidArgument = Code(.invalidArgument)
        /// The request does not validate.
        public static let validation = Code(.validation)

        /// Whether the code says "slow down": the shard's or the account's limits, or KMS's.
        public var isThrottling: Bool {
            switch value {
            case .known(.provisionedThroughputExceeded), .known(.throttling), .known(.limitExceeded), .known(.kmsThrottling): true
            default: false
            }
        }

        /// The code as Kinesis spells it (for logs, metrics and attempt histories).
        public var description: String {
            switch value {
            case .known(let known): known.rawValue
            case .other(let text): text
            }
        }
    }

    /// The code.
    public var code: Code
    /// The service's message.
    public var message: String
    /// Whether Kinesis asked us to slow down: a throttling ``code``, or a throttled call (HTTP 429 and the JSON
    /// client's throttling codes).
    public var isThrottling: Bool
    /// The failed call's error, nil for one record's failure inside a stored `PutRecords` answer.
    public var cause: AWSRequestError?

    /// One record's failure in a `PutRecords` answer.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
        self.isThrottling = code.isThrottling
        self.cause = nil
    }

    /// A failed call, wrapped at the module edge: the JSON client's code parsed, its classification kept.
    public init(_ request: AWSRequestError) {
        code = Code(parsing: request.code)
        message = request.message
        isThrottling = request.kind == .throttling || code.isThrottling
        cause = request
    }

    public var description: String {
        cause?.description ?? "\(code): \(message)"
    }
}
