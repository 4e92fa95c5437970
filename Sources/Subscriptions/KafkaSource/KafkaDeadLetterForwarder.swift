public import KafkaClient
public import Logging
public import Subscriptions
import Synchronization

/// `on_failure: {kafka: {topic}}`: each dead letter, as its JSON, produced to a Kafka topic (key: the subscription's
/// name), awaited until the broker acknowledged it (`acks=all`, idempotent producer); split into parts
/// (``DeadLetter/parts(fittingIn:)``) when it is larger than a message may be.
public final class KafkaDeadLetterForwarder: DeadLetterForwarder {
    let topic: String
    let maxMessageBytes: Int
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
    ///   - maxMessageBytes: the largest message value to produce (the producer's `message.max.bytes` less framing).
    ///   - oauthBearerToken: supplies OAUTHBEARER tokens (MSK IAM), when the properties use that mechanism.
    /// - Throws: ``KafkaConfigurationError`` naming a property librdkafka refuses.
    public init(
        topic: String, properties: [String: String], maxMessageBytes: Int = 1_000_000, logger: Logger,
        oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)? = nil
    ) throws(KafkaConfigurationError) {
        self.topic = topic
        self.maxMessageBytes = maxMessageBytes
        let waiting = Waiting()
        self.waiting = waiting
        var properties = properties
        properties["acks"] = "all"
        properties["enable.idempotence"] = "true"
        self.producer = try KafkaProducer(
            properties: properties, logger: logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { reports in
                    for report in reports {
                        waiting.withLock { $0.removeValue(forKey: report.tag) }?.resume(returning: report.error)
                    }
                },
                oauthBearerToken: oauthBearerToken))
    }

    /// Produces every part, each awaited until acknowledged; a failed one makes it throw, and the caller's retry sends
    /// them all again (each part carries the dead letter's `id` and `part`, so a reader can drop repeats).
    public func forward(_ letter: DeadLetter) async throws {
        for part in letter.parts(fittingIn: maxMessageBytes) {
            try await produce(part, key: Array(letter.subscription.utf8))
        }
    }

    private func produce(_ json: [UInt8], key: [UInt8]) async throws(KafkaError) {
        let tag = nextTag.withLock { tag in
            tag &+= 1
            return tag
        }
        let failure = await withCheckedContinuation { (continuation: CheckedContinuation<KafkaError?, Never>) in
            waiting.withLock { $0[tag] = continuation }
            do throws(KafkaError) {
                try producer.produce(topic: topic, key: key, value: json, tag: tag)
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
