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
            "subscriptions[1].handler.postgres.url", "subscriptions[1].handler.postgres.table",
            "subscriptions[1].handler.postgres.columns", "subscriptions[1].on_failure.kinesis",
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

    @Test("a postgres handler loads: upsert with a key list, columns from envelope fields and JSON pointers, TLS, pool")
    func postgresHandler() throws {
        let configuration = try loadValid(
            """
            subscriptions:
              - name: order-state
                source: {log: {streams: ["shop/orders"]}}
                handler:
                  postgres:
                    url: "postgres://app:${PGPASS}@db.internal:6432/shop"
                    table: public.order_state
                    mode: upsert
                    key: [order_id]
                    create_table: true
                    tls: require
                    max_connections: 4
                    timeout_s: 5
                    columns:
                      - {name: order_id, from: /order/id, type: bigint}
                      - {name: total, from: /order/total, type: "numeric(12,2)"}
                      - {name: tags, from: /order/tags, type: "text[]"}
                      - {name: seen_at, from: received_at}
                      - {name: body, from: payload}
            """, environment: ["PGPASS": "pw"])
        let subscription = try #require(configuration.subscriptions.first)
        guard case .postgres(let postgres) = subscription.handler else {
            Issue.record("expected a postgres handler")
            return
        }
        #expect(postgres.url == "postgres://app:pw@db.internal:6432/shop")
        #expect(postgres.table == "public.order_state")
        #expect(postgres.mode == .upsert)
        #expect(postgres.key == ["order_id"])
        #expect(postgres.createTable)
        #expect(postgres.tls == .require)
        #expect(postgres.maxConnections == 4)
        #expect(postgres.timeoutSeconds == 5)
        #expect(postgres.columns.map(\.name) == ["order_id", "total", "tags", "seen_at", "body"])
        #expect(postgres.columns.map(\.type) == ["bigint", "numeric(12,2)", "text[]", nil, nil])
        #expect(postgres.columns[0].from == "/order/id")
    }

    @Test("postgres handler problems are named with their paths: names, types, sources, the key and the event id")
    func postgresProblems() {
        let report = load(
            """
            subscriptions:
              - name: a
                source: {log: {streams: ["shop/orders"]}}
                handler:
                  postgres:
                    url: "mysql://x"
                    table: "orders; DROP TABLE x"
                    columns:
                      - {name: "bad name", from: event_id}
                      - {name: amount, from: recieved_at, type: "bigint); DROP TABLE x; --"}
                      - {name: n, from: /n, colour: red}
              - name: b
                source: {log: {streams: ["shop/orders"]}}
                handler:
                  postgres:
                    url: "postgres://h/db"
                    table: orders
                    mode: upsert
                    key: [missing]
                    columns: [{name: sluice_sequence, from: sequence}]
              - name: c
                source: {log: {streams: ["shop/orders"]}}
                handler: {postgres: {url: "postgres://h/db", table: t, key: k, columns: [{name: n, from: /n}]}}
            """)
        #expect(report.configuration == nil)
        let byPath = Dictionary(report.errors.map { ($0.path, $0.message) }, uniquingKeysWith: { first, _ in first })
        for path in [
            "subscriptions[0].handler.postgres.url", "subscriptions[0].handler.postgres.table",
            "subscriptions[0].handler.postgres.columns[0].name", "subscriptions[0].handler.postgres.columns[1].from",
            "subscriptions[0].handler.postgres.columns[1].type", "subscriptions[0].handler.postgres.columns[2].colour",
            "subscriptions[1].handler.postgres.key", "subscriptions[1].handler.postgres.columns",
            "subscriptions[2].handler.postgres.key", "subscriptions[2].handler.postgres.columns",
        ] {
            #expect(byPath[path] != nil, "no problem reported at \(path): \(report.errors)")
        }
        #expect(byPath["subscriptions[0].handler.postgres.columns[1].from"]?.contains("did you mean") == true)
        #expect(byPath["subscriptions[1].handler.postgres.key"]?.contains("'missing' is not one of the columns") == true)
        #expect(byPath["subscriptions[2].handler.postgres.columns"]?.contains("idempotent by event id") == true)
    }

    @Test("live: connections, pings and WebSocket; off by default")
    func liveSection() throws {
        #expect(try loadValid("streams: [{team: a, app: b}]").live.websocket == false)
        let live = try loadValid("live: {max_connections: 50, ping_interval_s: 5, websocket: true, read_interval_ms: 25}").live
        #expect(live.maxConnections == 50 && live.pingIntervalSeconds == 5 && live.websocket && live.readIntervalMs == 25)
        #expect(try loadValid("streams: [{team: a, app: b}]").live.readIntervalMs == 50)
        #expect(load("live: {read_interval_ms: 5000}").errors.map(\.path) == ["live.read_interval_ms"])
        let report = load("live: {websocket: maybe}")
        #expect(report.errors.map(\.path) == ["live.websocket"])
    }
}
