import GatewayConfig
import Testing

@Suite("subscriptions: and network: in the config file")
struct SubscriptionConfigurationTests {
    @Test("a full entry loads with every knob, ${ENV} in secrets and headers")
    func fullEntry() throws {
        let configuration = try loadValid(
            """
            durability: {subscription_retention_hours: 48}
            subscriptions:
              - name: orders-to-billing
                source: {log: {streams: ["shop/orders", "shop/*"], starting_position: at_timestamp, timestamp: "2026-12-01T10:00:00Z"}}
                handler:
                  webhook:
                    url: https://hooks.example.com/billing
                    format: lambda
                    timeout_s: 2.5
                    headers: {Authorization: "Bearer ${TOKEN}"}
                    signing_secret: ${SECRET}
                batch_size: 250
                maximum_batching_window_seconds: 0.5
                maximum_retry_attempts: -1
                maximum_record_age_seconds: 3600
                bisect_batch_on_function_error: false
                report_batch_item_failures: false
                parallelization_factor: 4
                on_failure: {log: {}}
            network: {allowed_webhook_hosts: ["hooks.internal", "10.0.0.0/8"]}
            """, environment: ["TOKEN": "t0k", "SECRET": "s3"])
        #expect(configuration.durability.subscriptionRetentionHours == 48)
        #expect(configuration.network.allowedWebhookHosts == ["hooks.internal", "10.0.0.0/8"])
        let subscription = try #require(configuration.subscriptions.first)
        #expect(subscription.name == "orders-to-billing")
        guard case .log(let source) = subscription.source else {
            Issue.record("expected a log source")
            return
        }
        #expect(source.streams == ["shop/orders", "shop/*"])
        #expect(source.startingPosition == .atTimestamp)
        #expect(source.timestampMillis == 1_796_119_200_000)
        guard case .webhook(let webhook) = subscription.handler else {
            Issue.record("expected a webhook handler")
            return
        }
        #expect(webhook.url == "https://hooks.example.com/billing")
        #expect(webhook.format == .lambda)
        #expect(webhook.timeoutSeconds == 2.5)
        #expect(webhook.headers == ["Authorization": "Bearer t0k"])
        #expect(webhook.signingSecret == "s3")
        #expect(subscription.batchSize == 250)
        #expect(subscription.maximumBatchingWindowSeconds == 0.5)
        #expect(subscription.maximumRetryAttempts == -1)
        #expect(subscription.maximumRecordAgeSeconds == 3600)
        #expect(!subscription.bisectBatchOnFunctionError)
        #expect(!subscription.reportBatchItemFailures)
        #expect(subscription.parallelizationFactor == 4)
        #expect(subscription.onFailure == .log)
    }

    @Test("the defaults never let one record block a partition forever")
    func defaults() throws {
        let configuration = try loadValid(
            """
            subscriptions:
              - {name: s, source: {log: {streams: ["a/b"]}}, handler: {webhook: {url: "http://h/x"}}}
            """)
        let subscription = try #require(configuration.subscriptions.first)
        #expect(subscription.batchSize == 100)
        #expect(subscription.maximumRetryAttempts == 10)
        #expect(subscription.maximumRecordAgeSeconds == 86400)
        #expect(subscription.bisectBatchOnFunctionError)
        #expect(subscription.reportBatchItemFailures)
        guard case .log(let source) = subscription.source else { return }
        #expect(source.startingPosition == .latest)
    }

    @Test("every mistake is named with its path")
    func problems() {
        let report = load(
            """
            subscriptions:
              - name: Bad Name
                source: {log: {streams: ["shop"], starting_position: at_timestamp}}
                handler: {webhook: {url: "ftp://x", format: xml, headers: {"Bad Header": v}}}
                batch_size: 0
                maximum_record_age_seconds: 30
                parallelization_factor: 11
              - name: k
                source: {kafka: {topic: t}}
                handler: {postgres: {url: x}}
                on_failure: {kinesis: {stream: "bad name!"}}
              - name: k
                source: {log: {streams: ["a/b"]}}
                handler: {webhook: {url: "http://h"}}
              - name: z
                source: {lgo: {}}
                handler: {webhook: {url: "http://h"}}
            network: {allowed_webhook_hosts: ["10.0.0.0/99"]}
            """)
        #expect(report.configuration == nil)
        let paths = Set(report.errors.map(\.path))
        for path in [
            "subscriptions[0].name", "subscriptions[0].source.log.streams[0]", "subscriptions[0].source.log.timestamp",
            "subscriptions[0].handler.webhook.url", "subscriptions[0].handler.webhook.format",
            #"subscriptions[0].handler.webhook.headers["Bad Header"]"#, "subscriptions[0].batch_size",
            "subscriptions[0].maximum_record_age_seconds", "subscriptions[0].parallelization_factor",
            "subscriptions[1].handler.postgres", "subscriptions[1].on_failure.kinesis",
            "subscriptions[1].on_failure.kinesis.stream",
            "subscriptions[3].source.lgo", "network.allowed_webhook_hosts[0]",
        ] {
            #expect(paths.contains(path), "no problem reported at \(path): \(report.errors)")
        }
        let kafka = report.errors.first { $0.path == "subscriptions[1].source.kafka" }
        #expect(kafka?.message == "a kafka source needs the 'kafka:' section (bootstrap_servers, security)")
        #expect(paths.contains("subscriptions[1].source.kafka.group_id"))
        let stream = report.errors.first { $0.path == "subscriptions[1].on_failure.kinesis" }
        #expect(stream?.message == "a kinesis dead-letter stream needs the 'kinesis:' section (region, endpoint_url)")
        let typo = report.errors.first { $0.path == "subscriptions[3].source.lgo" }
        #expect(typo?.message.contains("did you mean 'log'?") == true)
    }

    @Test("on_failure: the archive's error prefix and a Kinesis stream, besides the gateway's store")
    func deadLetterDestinations() throws {
        let configuration = try loadValid(
            """
            kinesis: {region: us-east-1}
            subscriptions:
              - name: a
                source: {log: {streams: ["shop/orders"]}}
                handler: {webhook: {url: "http://h/x"}}
                on_failure: {archive: {}}
              - name: b
                source: {log: {streams: ["shop/orders"]}}
                handler: {webhook: {url: "http://h/x"}}
                on_failure: {kinesis: {stream: orders-dlq}}
            """)
        #expect(configuration.subscriptions.map(\.onFailure) == [.archive, .kinesis(stream: "orders-dlq")])
    }

    @Test("a kafka source: topic, group, starting position and consumer properties over the kafka: section")
    func kafkaSource() throws {
        let configuration = try loadValid(
            """
            kafka: {bootstrap_servers: "127.0.0.1:9092"}
            subscriptions:
              - name: k
                source: {kafka: {topic: orders, group_id: billing, starting_position: trim_horizon, properties: {session.timeout.ms: 6000}}}
                handler: {webhook: {url: "http://h/x"}}
                on_failure: {kafka: {topic: orders-dlq}}
            """)
        #expect(configuration.subscriptions.first?.onFailure == .kafka(topic: "orders-dlq"))
        guard case .kafka(let source) = configuration.subscriptions.first?.source else {
            Issue.record("expected a kafka source")
            return
        }
        #expect(source.topic == "orders")
        #expect(source.groupID == "billing")
        #expect(source.startingPosition == .trimHorizon)
        #expect(source.properties == ["session.timeout.ms": "6000"])
    }

    @Test("two subscriptions with one name are refused")
    func duplicateNames() {
        let report = load(
            """
            subscriptions:
              - {name: s, source: {log: {streams: ["a/b"]}}, handler: {webhook: {url: "http://h/x"}}}
              - {name: s, source: {log: {streams: ["a/c"]}}, handler: {webhook: {url: "http://h/y"}}}
            """)
        #expect(report.errors.map(\.path) == ["subscriptions[1].name"])
        #expect(report.errors.first?.message.hasPrefix("duplicate subscription 's'") == true)
    }
}
