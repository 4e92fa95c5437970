import AWSJSONClient
import Delivery
import KinesisAPI
import KinesisSink
import NIOCore
import Testing

@Suite("Kinesis retry logic")
struct KinesisRetryLogicTests {
    /// One record's failure as a `PutRecords` answer carries it.
    static func recordFailure(_ code: String, message: String = "") -> KinesisError {
        KinesisError(code: KinesisError.Code(parsing: code), message: message)
    }

    /// A failed call as the JSON client reports it.
    static func callFailure(status: Int, body: String) -> KinesisError {
        KinesisError(AWSRequestError.parse(status: status, body: ByteBuffer(string: body)))
    }

    @Test("codes are parsed once into typed values; unknown codes keep their text")
    func parsing() {
        #expect(KinesisError.Code(parsing: "ProvisionedThroughputExceededException") == .provisionedThroughputExceeded)
        #expect(KinesisError.Code(parsing: "InternalFailure") == .internalFailure)
        #expect(KinesisError.Code(parsing: "KMSThrottlingException") == .kmsThrottling)
        #expect(KinesisError.Code(parsing: "ResourceNotFoundException") == .resourceNotFound)
        let unknown = KinesisError.Code(parsing: "SomethingNewException")
        #expect(unknown.description == "SomethingNewException")
        #expect(unknown != .internalFailure)
        #expect(!unknown.isThrottling)
        #expect(KinesisError.Code.provisionedThroughputExceeded.description == "ProvisionedThroughputExceededException")
    }

    @Test("per-record codes: throttling is throttled, everything else retried until the TTL")
    func recordCodes() {
        let logic = KinesisRetryLogic()
        #expect(logic.decide(Self.recordFailure("ProvisionedThroughputExceededException")).kind == .throttled)
        #expect(logic.decide(Self.recordFailure("KMSThrottlingException")).kind == .throttled)
        #expect(logic.decide(Self.recordFailure("InternalFailure")).kind == .retriable)
        #expect(logic.decide(Self.recordFailure("KMSDisabledException")).kind == .retriable)
        #expect(logic.decide(Self.recordFailure("KMSAccessDeniedException")).kind == .retriable)
        #expect(logic.decide(Self.recordFailure("SomethingNewException")).kind == .retriable)
    }

    @Test("fail_if_throttled makes a throttled record permanent, and nothing else")
    func failIfThrottled() {
        let logic = KinesisRetryLogic(isThrottlingFatal: true)
        #expect(logic.decide(Self.recordFailure("ProvisionedThroughputExceededException")).kind == .permanent)
        #expect(logic.decide(Self.callFailure(status: 429, body: "")).kind == .permanent)
        #expect(logic.decide(Self.recordFailure("InternalFailure")).kind == .retriable)
        #expect(logic.decide(Self.callFailure(status: 500, body: #"{"__type":"InternalFailure"}"#)).kind == .retriable)
    }

    @Test("failed calls: the JSON client's throttling classification is kept, other failures are retried")
    func callFailures() {
        let logic = KinesisRetryLogic()
        #expect(logic.decide(Self.callFailure(status: 429, body: "")).kind == .throttled)
        #expect(logic.decide(Self.callFailure(status: 400, body: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)).kind == .throttled)
        #expect(logic.decide(Self.callFailure(status: 400, body: #"{"__type":"LimitExceededException"}"#)).kind == .throttled)
        #expect(logic.decide(Self.callFailure(status: 500, body: #"{"__type":"InternalFailure"}"#)).kind == .retriable)
        #expect(logic.decide(Self.callFailure(status: 503, body: "")).kind == .retriable)
        let connection = KinesisError(AWSRequestError(code: "ConnectionError", message: "refused", httpStatus: nil, kind: .retriable))
        #expect(logic.decide(connection).kind == .retriable)
        // Fatal call errors are retried until record_ttl_ms, as with the KPL (credentials may be rotated meanwhile).
        let denied = Self.callFailure(status: 400, body: #"{"__type":"AccessDeniedException","message":"no"}"#)
        #expect(denied.code == .accessDenied)
        #expect(logic.decide(denied).kind == .retriable)
        #expect(denied.cause?.kind == .fatal)
    }

    @Test("a missing stream asks for the shard map again; other failures do not")
    func shardMapRefresh() {
        let logic = KinesisRetryLogic()
        let missing = Self.callFailure(
            status: 400, body: #"{"__type":"com.amazonaws.kinesis#ResourceNotFoundException","message":"Stream x not found"}"#)
        #expect(missing.code == .resourceNotFound)
        #expect(logic.wantsShardMapRefresh(missing))
        #expect(logic.decide(missing).kind == .retriable)
        #expect(!logic.wantsShardMapRefresh(Self.callFailure(status: 500, body: #"{"__type":"InternalFailure"}"#)))
        #expect(!logic.wantsShardMapRefresh(Self.recordFailure("ProvisionedThroughputExceededException")))
    }

    @Test("decisions read the code, never the message")
    func messagesAreIgnored() {
        let logic = KinesisRetryLogic()
        #expect(logic.decide(Self.recordFailure("InternalFailure", message: "Throttled: ProvisionedThroughputExceededException")).kind == .retriable)
        #expect(logic.decide(Self.recordFailure("ProvisionedThroughputExceededException", message: "internal failure")).kind == .throttled)
        #expect(!logic.wantsShardMapRefresh(Self.recordFailure("InternalFailure", message: "ResourceNotFoundException")))
    }
}
