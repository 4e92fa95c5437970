/// The Kafka client's log metadata keys, declared once (this module depends on nothing of the gateway's, so it
/// cannot use `LoggingKeys`; the names follow the same `sluice.` namespace).
enum KafkaLoggingKeys {
    static let librdkafkaVersion = "sluice.librdkafka"
    static let clientName = "sluice.kafka_client"
    static let tokenLifetimeMillis = "sluice.token_expires_ms"
    /// librdkafka's own log facility (`BROKER`, `SASL`, …) on the lines it logs through us.
    static let facility = "rdkafka.facility"
}
