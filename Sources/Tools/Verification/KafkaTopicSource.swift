public import KafkaClient
public import Logging

/// A Kafka topic as a ``DeliveredEventSource``: every partition read from its earliest offset to its end
/// (``KafkaTopicReader``), each message's value parsed as an envelope for its `event_id`.
///
/// Locations are `topic/partition-N:offset`. A message whose `event_id` header disagrees with its envelope is reported
/// as corrupt.
public struct KafkaTopicSource: DeliveredEventSource {
    /// The topic's name.
    public var topic: String
    /// librdkafka connection properties (`bootstrap.servers`, security).
    public var properties: [String: String]
    /// How long the whole read may take.
    public var timeout: Duration
    /// Supplies OAUTHBEARER tokens (MSK IAM), when the properties use that mechanism.
    public var oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)?
    /// Receives librdkafka's log lines.
    public var logger: Logger

    public init(
        topic: String, properties: [String: String], timeout: Duration = .seconds(300), logger: Logger,
        oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)? = nil
    ) {
        self.topic = topic
        self.properties = properties
        self.timeout = timeout
        self.logger = logger
        self.oauthBearerToken = oauthBearerToken
    }

    public var name: String { "kafka topic \(topic)" }

    /// The properties for reading with the gateway's Kafka settings: the connection's (bootstrap servers, security,
    /// SASL, TLS files; the same ``KafkaConnectionConfiguration`` the sink's producer connects with) and then every
    /// pass-through `kafka.properties` entry as is (the user's value wins, as it does for the producer).
    /// - Parameters:
    ///   - connection: How the sink reaches the brokers.
    ///   - passThrough: The `kafka.properties` the user wrote.
    public static func readerProperties(
        connection: KafkaConnectionConfiguration, passThrough: [String: String]
    ) -> [String: String] {
        connection.properties.merging(passThrough) { _, user in user }
    }

    /// What one message said.
    struct Sighting: Sendable {
        var partition: Int32
        var offset: Int64
        var line: ArchiveLine
    }

    public func scan(into audit: inout DeliveryAudit) async throws(VerifyError) {
        let sightings = try await readOffCooperativePool()
        var containers: [Int32: Int] = [:]
        for sighting in sightings {
            let container: Int
            if let known = containers[sighting.partition] {
                container = known
            } else {
                container = audit.openContainer("\(topic)/partition-\(sighting.partition)")
                containers[sighting.partition] = container
            }
            let position = Int(sighting.offset)
            switch sighting.line {
            case .event(let id): audit.delivered(id, container: container, position: position)
            case .corrupt(let reason): audit.corruptRecord(container: container, position: position, reason: reason)
            case .deadLetter: break
            }
        }
    }

    /// Reads every partition; the blocking librdkafka calls run on the reader's own executor (KafkaClient's one way
    /// off the cooperative pool), so this task waits without holding a thread of the pool.
    private func readOffCooperativePool() async throws(VerifyError) -> [Sighting] {
        let reader: KafkaTopicReader
        do {
            reader = try KafkaTopicReader(properties: properties, logger: logger, oauthBearerToken: oauthBearerToken)
        } catch {
            throw VerifyError(.source, "kafka topic \(topic): \(error)")
        }
        var sightings: [Sighting] = []
        do {
            try await reader.read(topic: topic, timeout: timeout) { message in
                sightings.append(Sighting(partition: message.partition, offset: message.offset, line: Self.parse(message)))
            }
        } catch {
            throw VerifyError(.source, "kafka topic \(topic): \(error)")
        }
        return sightings
    }

    /// The envelope's `event_id`, checked against the `event_id` header when there is one.
    static func parse(_ message: KafkaReadMessage) -> ArchiveLine {
        let line = message.value.withUnsafeBytes { ArchiveLine.parse($0, deadLetter: false) }
        if case .event(let id) = line, let header = message.header("event_id"), header != id {
            return .corrupt(reason: "the event_id header \(header) differs from the envelope's \(id)")
        }
        return line
    }
}
