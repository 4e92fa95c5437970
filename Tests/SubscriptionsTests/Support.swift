import CoreMetrics
import Delivery
import Foundation
import GatewayCore
import Logging
import Synchronization

@testable import Subscriptions

/// A handler whose answers the test scripts: it records every batch it is handed and answers with `respond`.
final class ScriptedHandler: SubscriptionHandler {
    let calls = Mutex<[[UInt64]]>([])
    let respond: @Sendable (_ batch: [SubscriptionRecord], _ call: Int) -> HandlerResult

    init(_ respond: @escaping @Sendable (_ batch: [SubscriptionRecord], _ call: Int) -> HandlerResult) {
        self.respond = respond
    }

    func deliver(_ batch: HandlerBatch) async -> HandlerResult {
        let call = calls.withLock { calls in
            calls.append(batch.records.map(\.sequence))
            return calls.count
        }
        return respond(batch.records, call)
    }

    /// The sequences of the calls that succeeded entirely or in part, flattened, in call order.
    var handed: [[UInt64]] { calls.withLock { $0 } }
}

/// Records `range`, partition key `k<sequence % keys>`, received `receivedAt`.
func records(_ range: Range<UInt64>, keys: UInt64 = 1, receivedAt: Int64 = Timestamp.nowMillis()) -> [SubscriptionRecord] {
    range.map { sequence in
        SubscriptionRecord(
            sequence: sequence, eventID: "e-\(sequence)", team: "t", app: "a", partitionKey: "k\(sequence % keys)",
            receivedAtMillis: receivedAt, envelope: Array("{\"v\":1,\"event_id\":\"e-\(sequence)\",\"payload\":{}}".utf8))
    }
}

/// A processor with millisecond backoffs and in-memory dead letters.
func makeProcessor(
    _ handler: any SubscriptionHandler, batchSize: Int = 10, maximumRetryAttempts: Int? = 2, maximumRecordAgeMillis: Int64? = 60_000,
    bisect: Bool = true
) throws -> (BatchProcessor, DeadLetterStore) {
    let store = try DeadLetterStore(directory: nil, subscription: "s")
    let settings = SubscriptionSettings(
        name: "s", batchSize: batchSize, maximumRetryAttempts: maximumRetryAttempts,
        maximumRecordAgeMillis: maximumRecordAgeMillis, bisectBatchOnFunctionError: bisect,
        backoff: .init(initial: .milliseconds(2), maximum: .milliseconds(4), maximumRetryAfter: .milliseconds(4)))
    let processor = BatchProcessor(
        settings: settings, handler: handler, deadLetters: store, control: SubscriptionControl(), clock: ElapsedClock(),
        wallMillis: Timestamp.nowMillis, metrics: SubscriptionMetrics(subscription: "s", factory: NOOPMetricsHandler.instance),
        logger: Logger(label: "test"))
    return (processor, store)
}

func failure(_ kind: HandlerFailure.Kind) -> HandlerFailure {
    HandlerFailure(kind: kind, status: kind == .functionError ? 500 : nil, message: "scripted \(kind)")
}
