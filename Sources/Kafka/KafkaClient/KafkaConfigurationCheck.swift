internal import CRDKafka
internal import Logging

/// Checks librdkafka configuration properties without producing anything: for configuration
/// checks (`sluice check-config`) and start-up diagnostics.
public enum KafkaConfigurationCheck {
    /// Every problem librdkafka finds in `properties` for a producer, in property-name order.
    ///
    /// Each property is applied to its own `rd_kafka_conf_t` with `rd_kafka_conf_set`, so every
    /// unknown name and invalid value is reported (not only the first). When all of them apply,
    /// the combination is checked by creating a producer (the same way ``KafkaProducer`` does,
    /// callbacks included, but without `bootstrap.servers`, so it never connects) and destroying
    /// it at once: `rd_kafka_new`'s refusal (conflicting settings, an unreadable
    /// `ssl.ca.location`, …) comes back as an error without a property.
    ///
    /// - Parameter properties: the librdkafka properties, exactly as they would be passed to
    ///   ``KafkaProducer/init(properties:logger:handlers:)``.
    /// - Returns: the problems; empty when a producer can be created from `properties`.
    public static func problems(producerProperties properties: [String: String]) -> [KafkaConfigurationError] {
        var problems: [KafkaConfigurationError] = []
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            guard let conf = rd_kafka_conf_new() else {
                return [KafkaConfigurationError(property: nil, message: "rd_kafka_conf_new failed")]
            }
            defer { rd_kafka_conf_destroy(conf) }
            errstr[0] = 0
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                var message = KafkaError.string(errstr)
                if message.isEmpty {
                    message = result == RD_KAFKA_CONF_UNKNOWN ? "unknown configuration property" : "invalid value"
                }
                problems.append(KafkaConfigurationError(property: name, message: message))
            }
        }
        if !problems.isEmpty { return problems }

        // The combination: create (and destroy) a producer that knows no broker.
        var offline = properties
        offline.removeValue(forKey: "bootstrap.servers")
        offline.removeValue(forKey: "metadata.broker.list")
        let usesOAuthBearer = properties["sasl.mechanism"]?.uppercased() == "OAUTHBEARER"
        var handlers = KafkaClientHandlers(deliveryReports: { _ in })
        if usesOAuthBearer {
            handlers.oauthBearerToken = { _ in .failure(KafkaOAuthBearerTokenError("configuration check")) }
        }
        var logger = Logger(label: "kafka-configuration-check")
        logger.logLevel = .critical
        logger.handler = SwiftLogNoOpLogHandler()
        let context = KafkaClientContext(logger: logger, handlers: handlers)
        let opaque = Unmanaged.passRetained(context).toOpaque()
        defer { Unmanaged<KafkaClientContext>.fromOpaque(opaque).release() }
        let conf: OpaquePointer
        do throws(KafkaConfigurationError) {
            conf = try KafkaConfigurationBuilder.make(properties: offline, context: context, opaque: opaque)
        } catch {
            return [error]
        }
        errstr[0] = 0
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            return [KafkaConfigurationError(property: nil, message: KafkaError.string(errstr))]
        }
        rd_kafka_destroy(rk)
        return []
    }
}
