import CoreMetrics
import GatewayConfig
import GatewayCore
import GatewayLog
import KafkaClient
import KafkaSubscriptionSource
import Logging
import ServiceLifecycle
import Subscriptions
import WebhookHandler

/// The subscriptions of `subscriptions:`, each with its handler, and the service that shuts the handlers' clients
/// down after every subscription stopped.
struct WiredSubscriptions {
    var subscriptions: [Subscription] = []
    var handlersService: WebhookHandlersService?
    /// The Kafka producers of `on_failure: {kafka: …}`, closed with the handlers.
    var forwarders: [KafkaDeadLetterForwarder] = []
}

/// Where the dead letters of `durability.mode: disk` live (nil keeps them in memory).
func deadLetterDirectory(_ durability: DurabilityConfiguration) -> String? {
    durability.mode == .disk ? durability.directory + "/dead-letters" : nil
}

func makeSubscriptions(
    configuration: Configuration, log: any EventLog, clock: any Clock<Duration>, metrics: any MetricsFactory, logger: Logger
) throws(GatewayStartupError) -> WiredSubscriptions {
    guard !configuration.subscriptions.isEmpty else { return WiredSubscriptions() }
    let policy = WebhookAddressPolicy(allowed: configuration.network.allowedWebhookHosts)
    var wired = WiredSubscriptions()
    var handlers: [WebhookHandler] = []
    for subscription in configuration.subscriptions {
        let deadLetters: DeadLetterStore
        let forwarder = try makeDeadLetterForwarder(subscription, configuration: configuration, logger: logger)
        if let forwarder { wired.forwarders.append(forwarder) }
        do {
            deadLetters = try DeadLetterStore(
                directory: deadLetterDirectory(configuration.durability), subscription: subscription.name, forwarder: forwarder)
        } catch {
            throw GatewayStartupError(message: "subscriptions[\(subscription.name)]: cannot open its dead letters: \(error)")
        }
        let handler: WebhookHandler
        let handlerJSON: String
        switch subscription.handler {
        case .webhook(let webhook):
            var settings = WebhookSettings(
                url: webhook.url, format: webhook.format == .lambda ? .lambda : .sluice, timeout: webhook.timeoutSeconds.secondsClamped,
                headers: webhook.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, signingSecret: webhook.signingSecret,
                reportBatchItemFailures: subscription.reportBatchItemFailures)
            settings.bootstrapServers = configuration.kafka?.bootstrapServers ?? ""
            handler = WebhookHandler(settings: settings, policy: policy, wallMillis: Timestamp.nowMillis)
            handlerJSON =
                "{\"webhook\":{\"url\":\(EnvelopeWriter.jsonString(redactedURL(webhook.url))),\"format\":\"\(webhook.format.rawValue)\""
                + ",\"signed\":\(webhook.signingSecret != nil)}}"
        }
        handlers.append(handler)
        wired.subscriptions.append(
            Subscription(
                settings: subscriptionSettings(subscription),
                source: try makeSource(subscription, configuration: configuration, log: log, logger: logger), handler: handler,
                handlerJSON: handlerJSON, deadLetters: deadLetters, clock: ElapsedClock(clock), metricsFactory: metrics,
                logger: logger))
    }
    wired.handlersService = WebhookHandlersService(handlers: handlers, forwarders: wired.forwarders)
    return wired
}

/// A webhook URL without its query and user info (they may hold secrets).
func redactedURL(_ url: String) -> String {
    var text = Substring(url)
    if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<query] }
    guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return String(text) }
    let authorityStart = text.index(colon, offsetBy: 3)
    let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
    guard let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") else { return String(text) }
    return String(text[..<authorityStart] + text[text.index(after: at)...])
}

/// The subscription's source: the log, or a member of a Kafka consumer group connected as the Kafka sink connects.
func makeSource(
    _ subscription: SubscriptionConfiguration, configuration: Configuration, log: any EventLog, logger: Logger
) throws(GatewayStartupError) -> any SubscriptionSource {
    switch subscription.source {
    case .log(let source):
        let start: SubscriptionSettings.StartingPosition =
            switch source.startingPosition {
            case .trimHorizon: .trimHorizon
            case .latest: .latest
            case .atTimestamp: .atTimestamp(source.timestampMillis ?? 0)
            }
        return LogSource(name: subscription.name, streams: source.streams.compactMap(StreamPattern.init), startingPosition: start, log: log)
    case .kafka(let source):
        let path = "subscriptions[\(subscription.name)].source.kafka"
        let properties = try subscriptionKafkaProperties(configuration: configuration, path: path, extra: source.properties)
        let consumer: KafkaGroupConsumer
        do {
            consumer = try KafkaGroupConsumer(
                properties: properties, groupID: source.groupID, startAtEarliest: source.startingPosition == .trimHorizon, logger: logger)
        } catch {
            throw GatewayStartupError(message: "\(path).properties: \(error)")
        }
        return KafkaSource(topic: source.topic, groupID: source.groupID, consumer: consumer, logger: logger)
    }
}

/// The file's subscription entry, onto the engine's own settings.
func subscriptionSettings(_ subscription: SubscriptionConfiguration) -> SubscriptionSettings {
    SubscriptionSettings(
        name: subscription.name,
        batchSize: subscription.batchSize, batchingWindow: subscription.maximumBatchingWindowSeconds.secondsClamped,
        maximumRetryAttempts: subscription.maximumRetryAttempts < 0 ? nil : subscription.maximumRetryAttempts,
        maximumRecordAgeMillis: subscription.maximumRecordAgeSeconds < 0 ? nil : Int64(subscription.maximumRecordAgeSeconds) * 1000,
        bisectBatchOnFunctionError: subscription.bisectBatchOnFunctionError,
        reportBatchItemFailures: subscription.reportBatchItemFailures, parallelizationFactor: subscription.parallelizationFactor)
}

/// Shuts the webhook handlers' HTTP clients and the dead-letter producers down once every subscription has stopped
/// (it starts before them, so it stops after them).
struct WebhookHandlersService: Service {
    let handlers: [WebhookHandler]
    let forwarders: [KafkaDeadLetterForwarder]

    func run() async throws {
        try? await gracefulShutdown()
        for handler in handlers { await handler.shutdown() }
        for forwarder in forwarders { await forwarder.close() }
    }
}

/// The Kafka connection properties of a subscription's source or dead-letter topic: the `kafka:` section's connection,
/// its pass-through properties, then `extra` (MSK IAM is refused: not wired for subscriptions yet).
func subscriptionKafkaProperties(
    configuration: Configuration, path: String, extra: [String: String] = [:]
) throws(GatewayStartupError) -> [String: String] {
    guard let kafka = configuration.kafka else {
        throw GatewayStartupError(message: "\(path): needs the 'kafka:' section")
    }
    let connection: KafkaConnectionConfiguration
    do {
        connection = try KafkaConnectionConfiguration(kafka)
    } catch {
        throw GatewayStartupError(message: "\(error)")
    }
    if connection.saslMechanism == .awsMSKIAM {
        throw GatewayStartupError(message: "\(path): AWS_MSK_IAM is not supported for subscriptions yet (the sink has it)")
    }
    return connection.properties.merging(kafka.properties) { _, new in new }.merging(extra) { _, new in new }
}

/// `on_failure: {kafka: {topic}}`'s producer; nil for the other destinations.
func makeDeadLetterForwarder(
    _ subscription: SubscriptionConfiguration, configuration: Configuration, logger: Logger
) throws(GatewayStartupError) -> KafkaDeadLetterForwarder? {
    guard case .kafka(let topic) = subscription.onFailure else { return nil }
    let path = "subscriptions[\(subscription.name)].on_failure.kafka"
    let properties = try subscriptionKafkaProperties(configuration: configuration, path: path)
    do {
        return try KafkaDeadLetterForwarder(topic: topic, properties: properties, logger: logger)
    } catch {
        throw GatewayStartupError(message: "\(path): \(error)")
    }
}
