import CoreMetrics
import GatewayConfig
import GatewayCore
import GatewayLog
import Logging
import ServiceLifecycle
import Subscriptions
import WebhookHandler

/// The subscriptions of `subscriptions:`, each with its handler, and the service that shuts the handlers' clients
/// down after every subscription stopped.
struct WiredSubscriptions {
    var subscriptions: [LogSubscription] = []
    var handlersService: WebhookHandlersService?
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
        do {
            deadLetters = try DeadLetterStore(directory: deadLetterDirectory(configuration.durability), subscription: subscription.name)
        } catch {
            throw GatewayStartupError(message: "subscriptions[\(subscription.name)]: cannot open its dead letters: \(error)")
        }
        let handler: WebhookHandler
        let handlerJSON: String
        switch subscription.handler {
        case .webhook(let webhook):
            handler = WebhookHandler(
                settings: WebhookSettings(
                    url: webhook.url, format: webhook.format == .lambda ? .lambda : .sluice, timeout: webhook.timeoutSeconds.secondsClamped,
                    headers: webhook.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, signingSecret: webhook.signingSecret,
                    reportBatchItemFailures: subscription.reportBatchItemFailures),
                policy: policy, wallMillis: Timestamp.nowMillis)
            handlerJSON =
                "{\"webhook\":{\"url\":\(EnvelopeWriter.jsonString(redactedURL(webhook.url))),\"format\":\"\(webhook.format.rawValue)\""
                + ",\"signed\":\(webhook.signingSecret != nil)}}"
        }
        handlers.append(handler)
        wired.subscriptions.append(
            LogSubscription(
                settings: subscriptionSettings(subscription), log: log, handler: handler, handlerJSON: handlerJSON,
                deadLetters: deadLetters, clock: ElapsedClock(clock), metricsFactory: metrics,
                logger: logger))
    }
    wired.handlersService = WebhookHandlersService(handlers: handlers)
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

/// The file's subscription entry, onto the engine's own settings.
func subscriptionSettings(_ subscription: SubscriptionConfiguration) -> SubscriptionSettings {
    let streams: [String]
    let start: SubscriptionSettings.StartingPosition
    switch subscription.source {
    case .log(let source):
        streams = source.streams
        switch source.startingPosition {
        case .trimHorizon: start = .trimHorizon
        case .latest: start = .latest
        case .atTimestamp: start = .atTimestamp(source.timestampMillis ?? 0)
        }
    }
    return SubscriptionSettings(
        name: subscription.name, streams: streams.compactMap(StreamPattern.init), startingPosition: start,
        batchSize: subscription.batchSize, batchingWindow: subscription.maximumBatchingWindowSeconds.secondsClamped,
        maximumRetryAttempts: subscription.maximumRetryAttempts < 0 ? nil : subscription.maximumRetryAttempts,
        maximumRecordAgeMillis: subscription.maximumRecordAgeSeconds < 0 ? nil : Int64(subscription.maximumRecordAgeSeconds) * 1000,
        bisectBatchOnFunctionError: subscription.bisectBatchOnFunctionError,
        reportBatchItemFailures: subscription.reportBatchItemFailures, parallelizationFactor: subscription.parallelizationFactor)
}

/// Shuts the webhook handlers' HTTP clients down once every subscription has stopped (it starts before them, so it
/// stops after them).
struct WebhookHandlersService: Service {
    let handlers: [WebhookHandler]

    func run() async throws {
        try? await gracefulShutdown()
        for handler in handlers { await handler.shutdown() }
    }
}
