import AWSCredentials
import AsyncHTTPClient
import CoreMetrics
import DeadLetterDestinations
import GatewayConfig
import GatewayCore
import GatewayLog
import KafkaClient
import KafkaSubscriptionSource
import KinesisAPI
import Logging
import MSKIAMAuth
import PostgresHandler
import ServiceLifecycle
import Subscriptions
import WebhookHandler

/// The subscriptions of `subscriptions:`, each with its handler, and the service that runs what they share (MSK IAM
/// token refreshes) and shuts the handlers' clients down after every subscription stopped.
struct WiredSubscriptions {
    var subscriptions: [Subscription] = []
    var resourcesService: SubscriptionResourcesService?
    /// The webhook handlers, whose HTTP clients shut down after the subscriptions stopped.
    var webhookHandlers: [WebhookHandler] = []
    /// The PostgreSQL handlers, whose connection pools run until the subscriptions stopped.
    var postgresHandlers: [PostgresHandler] = []
    /// The Kafka producers of `on_failure: {kafka: …}`, closed with the handlers.
    var kafkaForwarders: [KafkaDeadLetterForwarder] = []
    /// The MSK IAM token providers of Kafka sources and dead-letter topics, run until the subscriptions stopped.
    var tokenProviders: [MSKIAMTokenProvider] = []
}

/// What the subscriptions take from the rest of the gateway besides the configuration.
struct SubscriptionWiring {
    var log: any EventLog
    var clock: any Clock<Duration>
    var metrics: any MetricsFactory
    var logger: Logger
    var environment: [String: String]
    /// The shared AWS HTTP client (Kinesis dead letters, MSK IAM credentials); nil when no sink asked for one.
    var httpClient: HTTPClient?
    /// The archive's destination for `on_failure: {archive: {}}`.
    var archiveDeadLetters: (any DeadLetterForwarder)?
}

/// Where the dead letters of `durability.mode: disk` live (nil keeps them in memory).
func deadLetterDirectory(_ durability: DurabilityConfiguration) -> String? {
    durability.mode == .disk ? durability.directory + "/dead-letters" : nil
}

func makeSubscriptions(configuration: Configuration, wiring: SubscriptionWiring) throws(GatewayStartupError) -> WiredSubscriptions {
    guard !configuration.subscriptions.isEmpty else { return WiredSubscriptions() }
    let logger = wiring.logger
    let policy = WebhookAddressPolicy(allowed: configuration.network.allowedWebhookHosts)
    var wired = WiredSubscriptions()
    for subscription in configuration.subscriptions {
        let deadLetters: DeadLetterStore
        let forwarder = try makeDeadLetterForwarder(subscription, configuration: configuration, wiring: wiring, wired: &wired)
        do {
            deadLetters = try DeadLetterStore(
                directory: deadLetterDirectory(configuration.durability), subscription: subscription.name, forwarder: forwarder)
        } catch {
            throw GatewayStartupError(message: "subscriptions[\(subscription.name)]: cannot open its dead letters: \(error)")
        }
        let handler: any SubscriptionHandler
        let handlerJSON: String
        switch subscription.handler {
        case .webhook(let webhook):
            var settings = WebhookSettings(
                url: webhook.url, format: webhook.format == .lambda ? .lambda : .sluice, timeout: webhook.timeoutSeconds.secondsClamped,
                headers: webhook.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, signingSecret: webhook.signingSecret,
                reportBatchItemFailures: subscription.reportBatchItemFailures)
            settings.bootstrapServers = configuration.kafka?.bootstrapServers ?? ""
            let webhookHandler = WebhookHandler(settings: settings, policy: policy, wallMillis: Timestamp.nowMillis)
            wired.webhookHandlers.append(webhookHandler)
            handler = webhookHandler
            handlerJSON =
                "{\"webhook\":{\"url\":\(EnvelopeWriter.jsonString(redactedURL(webhook.url))),\"format\":\"\(webhook.format.rawValue)\""
                + ",\"signed\":\(webhook.signingSecret != nil)}}"
        case .postgres(let postgres):
            let postgresHandler = try makePostgresHandler(postgres, subscription: subscription.name, wiring: wiring)
            wired.postgresHandlers.append(postgresHandler)
            handler = postgresHandler
            handlerJSON =
                "{\"postgres\":{\"url\":\(EnvelopeWriter.jsonString(redactedURL(postgres.url))),\"table\":\(EnvelopeWriter.jsonString(postgres.table))"
                + ",\"mode\":\"\(postgres.mode.rawValue)\"}}"
        }
        wired.subscriptions.append(
            Subscription(
                settings: subscriptionSettings(subscription),
                source: try makeSource(subscription, configuration: configuration, wiring: wiring, wired: &wired), handler: handler,
                handlerJSON: handlerJSON, deadLetters: deadLetters, clock: ElapsedClock(wiring.clock), metricsFactory: wiring.metrics,
                logger: logger))
    }
    wired.resourcesService = SubscriptionResourcesService(
        webhookHandlers: wired.webhookHandlers, postgresHandlers: wired.postgresHandlers, kafkaForwarders: wired.kafkaForwarders,
        tokenProviders: wired.tokenProviders)
    return wired
}

/// The `handler: {postgres: …}` of a subscription, its connection completed from the environment (PGUSER,
/// PGPASSWORD, PGHOST, PGPORT, PGDATABASE).
func makePostgresHandler(
    _ postgres: SubscriptionConfiguration.Postgres, subscription: String, wiring: SubscriptionWiring
) throws(GatewayStartupError) -> PostgresHandler {
    let path = "subscriptions[\(subscription)].handler.postgres"
    do throws(PostgresSettingsError) {
        let tls: PostgresConnectionSettings.TLSMode =
            switch postgres.tls {
            case .disable: .disable
            case .prefer: .prefer
            case .require: .require
            }
        let connection = try PostgresConnectionSettings(
            url: postgres.url, environment: wiring.environment, tls: tls, caFile: postgres.caFile,
            maxConnections: postgres.maxConnections, statementTimeout: postgres.timeoutSeconds.secondsClamped)
        let columns = postgres.columns.compactMap { column in
            PostgresColumn.Source(column.from).map { PostgresColumn(name: column.name, source: $0, type: column.type) }
        }
        let settings = PostgresSettings(
            connection: connection, table: postgres.table, mode: postgres.mode == .upsert ? .upsert : .insert, key: postgres.key,
            createTable: postgres.createTable, columns: columns)
        var logger = wiring.logger
        logger[metadataKey: "subscription"] = "\(subscription)"
        return try PostgresHandler(settings: settings, logger: logger, clock: wiring.clock)
    } catch {
        throw GatewayStartupError(message: "\(path): \(error.message)")
    }
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
    _ subscription: SubscriptionConfiguration, configuration: Configuration, wiring: SubscriptionWiring, wired: inout WiredSubscriptions
) throws(GatewayStartupError) -> any SubscriptionSource {
    let logger = wiring.logger
    switch subscription.source {
    case .log(let source):
        let start: SubscriptionSettings.StartingPosition =
            switch source.startingPosition {
            case .trimHorizon: .trimHorizon
            case .latest: .latest
            case .atTimestamp: .atTimestamp(source.timestampMillis ?? 0)
            }
        return LogSource(
            name: subscription.name, streams: source.streams.compactMap(StreamPattern.init), startingPosition: start, log: wiring.log)
    case .kafka(let source):
        let path = "subscriptions[\(subscription.name)].source.kafka"
        let connection = try subscriptionKafkaConnection(configuration: configuration, path: path, extra: source.properties, wiring: wiring)
        if let provider = connection.tokenProvider { wired.tokenProviders.append(provider) }
        let consumer: KafkaGroupConsumer
        do {
            consumer = try KafkaGroupConsumer(
                properties: connection.properties, groupID: source.groupID, startAtEarliest: source.startingPosition == .trimHorizon,
                logger: logger, oauthBearerToken: connection.tokenProvider?.oauthBearerHandler)
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

/// Runs the MSK IAM credential refreshes of the subscriptions' Kafka clients and the PostgreSQL handlers' connection
/// pools until graceful shutdown, then shuts the webhook handlers' HTTP clients and the dead-letter producers down
/// once every subscription has stopped (it starts before them, so it stops after them).
struct SubscriptionResourcesService: Service {
    let webhookHandlers: [WebhookHandler]
    let postgresHandlers: [PostgresHandler]
    let kafkaForwarders: [KafkaDeadLetterForwarder]
    let tokenProviders: [MSKIAMTokenProvider]

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for provider in tokenProviders { group.addTask { await provider.run() } }
            // A pool stops on this service's graceful shutdown, which comes after every subscription stopped.
            for handler in postgresHandlers { group.addTask { await handler.run() } }
            try? await gracefulShutdown()
            for handler in webhookHandlers { await handler.shutdown() }
            for forwarder in kafkaForwarders { await forwarder.close() }
            for provider in tokenProviders { provider.stop() }
            group.cancelAll()
        }
    }
}

/// The Kafka connection of a subscription's source or dead-letter topic.
struct SubscriptionKafkaConnection {
    /// The `kafka:` section's connection, its pass-through properties, then the caller's extra ones.
    var properties: [String: String]
    /// With `sasl_mechanism: AWS_MSK_IAM`: the tokens' provider (its own, run by ``SubscriptionResourcesService``).
    var tokenProvider: MSKIAMTokenProvider?
}

/// The Kafka connection of a subscription's source or dead-letter topic, made as the sink's is: the `kafka:` section's
/// connection and pass-through properties, then `extra`; with MSK IAM, a token provider on the default AWS credential
/// chain.
func subscriptionKafkaConnection(
    configuration: Configuration, path: String, extra: [String: String] = [:], wiring: SubscriptionWiring
) throws(GatewayStartupError) -> SubscriptionKafkaConnection {
    guard let kafka = configuration.kafka else {
        throw GatewayStartupError(message: "\(path): needs the 'kafka:' section")
    }
    let connection: KafkaConnectionConfiguration
    do {
        connection = try KafkaConnectionConfiguration(kafka)
    } catch {
        throw GatewayStartupError(message: "\(error)")
    }
    var provider: MSKIAMTokenProvider?
    if connection.usesMSKIAM {
        guard let httpClient = wiring.httpClient else {
            throw GatewayStartupError(message: "\(path): AWS_MSK_IAM needs the gateway's AWS HTTP client, and none was made")
        }
        let region = AWSRegionResolver.resolve(configured: nil, environment: wiring.environment)
        let credentials = DefaultCredentialChain(environment: wiring.environment, httpClient: httpClient, region: region, logger: wiring.logger)
        do throws(MSKIAMAuthError) {
            provider = try MSKIAMTokenProvider.make(for: connection, credentials: credentials, region: region, logger: wiring.logger)
        } catch {
            throw GatewayStartupError(message: "\(path): \(error.message)")
        }
    }
    return SubscriptionKafkaConnection(
        properties: connection.properties.merging(kafka.properties) { _, new in new }.merging(extra) { _, new in new },
        tokenProvider: provider)
}

/// `on_failure`'s destination beyond the gateway's store: the archive, a Kafka topic's producer or a Kinesis stream;
/// nil for `{log: {}}`.
func makeDeadLetterForwarder(
    _ subscription: SubscriptionConfiguration, configuration: Configuration, wiring: SubscriptionWiring, wired: inout WiredSubscriptions
) throws(GatewayStartupError) -> (any DeadLetterForwarder)? {
    switch subscription.onFailure {
    case .log:
        return nil
    case .archive:
        guard let archive = wiring.archiveDeadLetters else {
            throw GatewayStartupError(message: "subscriptions[\(subscription.name)].on_failure.archive: the archive is not configured")
        }
        return archive
    case .kafka(let topic):
        let path = "subscriptions[\(subscription.name)].on_failure.kafka"
        let connection = try subscriptionKafkaConnection(configuration: configuration, path: path, wiring: wiring)
        if let provider = connection.tokenProvider { wired.tokenProviders.append(provider) }
        let forwarder: KafkaDeadLetterForwarder
        do {
            // Room for the key and the record's framing under the producer's message size limit.
            let maxBytes = max(1024, (configuration.kafka?.messageMaxBytes ?? 1_000_000) - 1024)
            forwarder = try KafkaDeadLetterForwarder(
                topic: topic, properties: connection.properties, maxMessageBytes: maxBytes, logger: wiring.logger,
                oauthBearerToken: connection.tokenProvider?.oauthBearerHandler)
        } catch {
            throw GatewayStartupError(message: "\(path): \(error)")
        }
        wired.kafkaForwarders.append(forwarder)
        return forwarder
    case .kinesis(let stream):
        let path = "subscriptions[\(subscription.name)].on_failure.kinesis"
        guard let kinesis = configuration.kinesis else { throw GatewayStartupError(message: "\(path): needs the 'kinesis:' section") }
        guard let httpClient = wiring.httpClient else {
            throw GatewayStartupError(message: "\(path): needs the gateway's AWS HTTP client, and none was made")
        }
        let api = KinesisAPI.configured(
            kinesis, httpClient: httpClient, environment: wiring.environment, timeout: .milliseconds(kinesis.requestTimeoutMs),
            logger: wiring.logger)
        return KinesisDeadLetterForwarder(api: api, stream: stream, maxRecordBytes: kinesis.maxRecordSizeKB * 1024)
    }
}
