public import KafkaClient
public import Logging
public import Subscriptions
import Synchronization

/// `on_failure: {kafka: {topic}}`: each dead letter, as its JSON, produced to a Kafka topic (key: the subscription's
/// name), awaited until the broker acknowledged it (`acks=all`, idempotent producer).
public final class KafkaDeadLetterForwarder: DeadLetterForwarder {
    let topic: String
    let producer: KafkaProducer
    /// The forwards waiting for their delivery report, by tag (shared with the producer's report callback).
    private final class Waiting: Sendable {
        let continuations = Mutex<[UInt64: CheckedContinuation<KafkaError?, Never>]>([:])

        func withLock<T>(_ body: (inout [UInt64: CheckedContinuation<KafkaError?, Never>]) -> T) -> T {
            continuations.withLock { body(&$0) }
        }
    }

    private let waiting: Waiting
    private let nextTag = Mutex<UInt64>(0)

    public var destination: String { "kafka topic \(topic)" }

    /// - Parameters:
    ///   - properties: the connection's librdkafka properties; `acks` and idempotence are set here.
    /// - Throws: ``KafkaConfigurationError`` naming a property librdkafka refuses.
    public init(topic: String, properties: [String: String], logger: Logger) throws(KafkaConfigurationError) {
        self.topic = topic
        let waiting = Waiting()
        self.waiting = waiting
        var properties = properties
        properties["acks"] = "all"
        properties["enable.idempotence"] = "true"
        self.producer = try KafkaProducer(
            properties: properties, logger: logger,
            deliveryReports: { reports in
                for report in reports {
                    waiting.withLock { $0.removeValue(forKey: report.tag) }?.resume(returning: report.error)
                }
            })
    }

    public func forward(_ letter: DeadLetter) async throws {
        let tag = nextTag.withLock { tag in
            tag &+= 1
            return tag
        }
        let json = letter.json
        let failure = await withCheckedContinuation { (continuation: CheckedContinuation<KafkaError?, Never>) in
            waiting.withLock { $0[tag] = continuation }
            do throws(KafkaError) {
                try producer.produce(topic: topic, key: Array(letter.subscription.utf8), value: json, tag: tag)
            } catch {
                // No delivery report follows a refused produce.
                let refused: KafkaError? = error
                waiting.withLock { $0.removeValue(forKey: tag) }?.resume(returning: refused)
            }
        }
        if let failure { throw failure }
    }

    /// Delivers what is queued (up to `timeout`) and closes the producer.
    public func close() async {
        _ = await producer.close(timeout: .seconds(10))
        let left = waiting.withLock { waiting in
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for continuation in left {
            continuation.resume(
                returning: KafkaError(code: KafkaError.Code.state, name: "_STATE", message: "the producer closed", isRetriable: true, isFatal: false))
        }
    }
}
