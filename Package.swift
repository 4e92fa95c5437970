// swift-tools-version:6.2
import PackageDescription

/// Settings every target shares: Swift 6 language mode is the default for tools 6.x; these upcoming features keep
/// imports and existentials explicit, and every warning of our own code is an error (dependencies keep theirs).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

// The targets are listed, and `Sources/` is laid out, in the order an event travels (docs/architecture.md):
// Core and Config → Intake → Routing → Log → Delivery → Sinks, with the AWS and Kafka client modules the sinks use, and
// the subscriptions beside the sinks,
// then the tools, the wiring (App) and test support.
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // Libraries for the fuzz targets in Fuzz/ (a separate package that depends on this one by path).
        .library(name: "EnvelopeScanner", targets: ["EnvelopeScanner"]),
        .library(name: "GatewayConfig", targets: ["GatewayConfig"]),
        .library(name: "HTTPHeaderParsing", targets: ["HTTPHeaderParsing"]),
        .library(name: "WriteAheadLog", targets: ["WriteAheadLog"]),
        .library(name: "KinesisAggregation", targets: ["KinesisAggregation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        // MARK: Core and configuration

        // Domain types shared by every stage: events, sink identities, routes, receipts, the sink protocol.
        .target(name: "GatewayCore", path: "Sources/Core", swiftSettings: swiftSettings),
        // The YAML configuration: model, defaults, ${ENV} substitution, validation with paths.
        .target(
            name: "GatewayConfig",
            dependencies: ["JSONSchema", .product(name: "Yams", package: "Yams")],
            path: "Sources/Config",
            swiftSettings: swiftSettings
        ),

        // MARK: Intake: HTTP edge, header values, envelope

        // Bounded parsers for the HTTP header values the intake reads (no dependencies).
        .target(name: "HTTPHeaderParsing", path: "Sources/Intake/HTTPHeaderParsing", swiftSettings: swiftSettings),
        // One-pass byte-level JSON validator and envelope field extractor (no dependencies).
        .target(name: "EnvelopeScanner", path: "Sources/Intake/EnvelopeScanner", swiftSettings: swiftSettings),
        // JSON Schema (draft-04, draft-07, 2020-12): compiled once per stream schema, run on payloads (docs/json-schema.md).
        .target(name: "JSONSchema", dependencies: ["EnvelopeScanner"], path: "Sources/Intake/JSONSchema", swiftSettings: swiftSettings),
        // Who may do what on which stream (API keys, JWTs with their JWKS, anonymous grants) and the rate limits' token
        // buckets (docs/edge.md).
        .target(
            name: "EdgeAccess",
            dependencies: [
                "GatewayCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Intake/EdgeAccess",
            swiftSettings: swiftSettings
        ),
        // The Idempotency-Key index: answers kept for a window, bounded, in a file that survives restarts.
        .target(
            name: "Idempotency",
            dependencies: [
                "GatewayCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Sources/Intake/Idempotency",
            swiftSettings: swiftSettings
        ),
        // HTTP intake: the edge guard, controllers, middleware, problem+json errors.
        .target(
            name: "GatewayHTTP",
            dependencies: [
                "GatewayCore", "EnvelopeScanner", "HTTPHeaderParsing", "Routing", "GatewayConfig", "GatewayLog", "Delivery",
                "Subscriptions", "LiveStreams", "EdgeAccess", "JSONSchema", "Idempotency",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Intake/GatewayHTTP",
            // The dashboard page and the OpenAPI document (docs/openapi.json links to it) are compiled into the binary
            // (nothing is fetched from anywhere at run time).
            resources: [.embedInCode("Dashboard/dashboard.html"), .embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),

        // MARK: Routing

        // Pure routing decision: (event facts, the streams' route candidates) -> route.
        .target(name: "Routing", dependencies: ["GatewayCore", "GatewayConfig"], path: "Sources/Routing", swiftSettings: swiftSettings),

        // MARK: Log

        // The embedded durable write-ahead log (segments, CRC-32C, group commit, cursors). A leaf: no gateway types.
        .target(name: "WriteAheadLog", dependencies: ["CRC32CHardware"], path: "Sources/Log/WriteAheadLog", swiftSettings: swiftSettings),
        // CRC-32C with the CPU's instruction (SSE4.2, ARMv8 CRC); the log falls back to its own tables without it.
        .target(name: "CRC32CHardware", path: "Sources/Log/CRC32CHardware"),
        // The log between intake and sinks: the `EventLog` protocol, its durable (write-ahead log) and memory
        // implementations, and the service that closes it last.
        .target(
            name: "GatewayLog",
            dependencies: [
                "GatewayCore", "WriteAheadLog",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Log/GatewayLog",
            swiftSettings: swiftSettings
        ),

        // MARK: Delivery

        // One delivery pipeline for every sink: per-sink dispatchers with cursors, the batcher, the driver, retry
        // classification, the backoff policy, confirmations.
        .target(
            name: "Delivery",
            dependencies: [
                "GatewayCore", "GatewayLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Delivery",
            swiftSettings: swiftSettings
        ),

        // MARK: Sinks (one folder each: the sink, its configuration, request builder, retry logic, metrics)

        // Firehose-like local archive: buffered, partitioned GZIP NDJSON files; the error prefix for dead letters.
        .target(
            name: "ArchiveSink",
            dependencies: [
                "GatewayCore", "Delivery",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/Sinks/ArchiveSink",
            swiftSettings: swiftSettings
        ),
        // The Kinesis sink (KPL-grade): shard map, aggregation, request building, per-shard limits, retry logic, TTL, receipts.
        .target(
            name: "KinesisSink",
            dependencies: [
                "GatewayCore", "Delivery", "AWSJSONClient", "KinesisAPI", "KinesisAggregation",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Sinks/KinesisSink",
            swiftSettings: swiftSettings
        ),
        // The Kafka sink: produce with receipts, retries, producer restarts, MSK IAM, metrics.
        .target(
            name: "KafkaSink",
            dependencies: [
                "GatewayCore", "Delivery", "KafkaClient", "MSKIAMAuth", "AWSCredentials",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Sinks/KafkaSink",
            swiftSettings: swiftSettings
        ),

        // MARK: AWS clients (pure signer and formats; credentials and JSON protocol on AsyncHTTPClient)

        // AWS Signature Version 4: header signing and presigned URLs (pure, no I/O).
        .target(
            name: "AWSSigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/AWS/AWSSigV4",
            swiftSettings: swiftSettings
        ),
        // AWS credentials: the standard provider chain (environment, profiles, web identity, container, IMDSv2).
        .target(
            name: "AWSCredentials",
            dependencies: [
                "AWSSigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/AWS/AWSCredentials",
            swiftSettings: swiftSettings
        ),
        // The AWS JSON 1.1 protocol on AsyncHTTPClient: signed calls, AWS errors, retry classification.
        .target(
            name: "AWSJSONClient",
            dependencies: [
                "AWSSigV4", "AWSCredentials",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Sources/AWS/AWSJSONClient",
            swiftSettings: swiftSettings
        ),
        // The KPL aggregated-record format (magic + protobuf + MD5) and partition-key → shard hashing (pure, no I/O).
        .target(
            name: "KinesisAggregation",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/AWS/KinesisAggregation",
            swiftSettings: swiftSettings
        ),
        // The Kinesis Data Streams API (PutRecords, ListShards, GetShardIterator, GetRecords) on the JSON client: used
        // by the sink, by `sluice verify` and by consumers.
        .target(
            name: "KinesisAPI",
            dependencies: [
                "GatewayCore", "AWSJSONClient", "KinesisAggregation",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Sources/AWS/KinesisAPI",
            swiftSettings: swiftSettings
        ),
        // Amazon MSK IAM authentication: the token builder (SigV4-presigned kafka-cluster:Connect, pure) and the one
        // token provider (credential refresh, librdkafka's OAUTHBEARER hook), shared by the Kafka sink and `verify`.
        .target(
            name: "MSKIAMAuth",
            dependencies: ["AWSSigV4", "AWSCredentials", "KafkaClient", .product(name: "Logging", package: "swift-log")],
            path: "Sources/AWS/MSKIAMAuth",
            swiftSettings: swiftSettings
        ),

        // MARK: Kafka client (the only code that touches librdkafka)

        // librdkafka from the system (Debian's librdkafka-dev; `pkg-config rdkafka`).
        .systemLibrary(
            name: "CRDKafka", path: "Sources/Kafka/CRDKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]
        ),
        // The only module that touches librdkafka's C API: producer, topic reader, delivery reports, errors, config checks.
        .target(
            name: "KafkaClient",
            dependencies: ["CRDKafka", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Kafka/KafkaClient",
            swiftSettings: swiftSettings
        ),

        // MARK: Subscriptions: independent consumers of the log, delivering to handlers under a Lambda-style policy

        // The engine: sources (the log), the policy (batching, retries, bisection, age, dead letters), lanes, replay.
        .target(
            name: "Subscriptions",
            dependencies: [
                "GatewayCore", "GatewayLog", "Delivery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Subscriptions/Subscriptions",
            swiftSettings: swiftSettings
        ),
        // The webhook handler: formats (sluice, Lambda), HMAC signature, address policy (SSRF), partial batch answers.
        .target(
            name: "WebhookHandler",
            dependencies: [
                "Subscriptions", "GatewayCore", "EnvelopeScanner",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Subscriptions/WebhookHandler",
            swiftSettings: swiftSettings
        ),

        // The PostgreSQL handler: columns from events, batched idempotent inserts or ordered upserts, one transaction a batch.
        .target(
            name: "PostgresHandler",
            dependencies: [
                "Subscriptions", "GatewayCore", "EnvelopeScanner",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Subscriptions/PostgresHandler",
            swiftSettings: swiftSettings
        ),

        // A Kafka topic as a subscription source: one member of a consumer group, offsets committed after delivery.
        .target(
            name: "KafkaSubscriptionSource",
            dependencies: [
                "Subscriptions", "KafkaClient", "GatewayCore", "EnvelopeScanner",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Subscriptions/KafkaSource",
            swiftSettings: swiftSettings
        ),

        // Live streams: a stream's events read from the log without a cursor (filters, gaps, SSE framing), and the
        // broadcaster that reads the tail once for every connection that has caught up.
        .target(
            name: "LiveStreams",
            dependencies: [
                "GatewayCore", "GatewayLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Subscriptions/LiveStreams",
            swiftSettings: swiftSettings
        ),
        // `on_failure` destinations beyond the gateway's store: the archive's error prefix and a Kinesis stream.
        .target(
            name: "DeadLetterDestinations",
            dependencies: ["Subscriptions", "ArchiveSink", "KinesisAPI", "GatewayCore"],
            path: "Sources/Subscriptions/DeadLetterDestinations",
            swiftSettings: swiftSettings
        ),

        // MARK: Tools: `sluice bench` and `sluice verify`

        // `sluice bench`: the load generator (closed and open loop, HDR histograms, JSON reports, SVG plots).
        .target(
            name: "LoadGenerator",
            dependencies: [
                "GatewayCore", "EnvelopeScanner",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/Tools/LoadGenerator",
            swiftSettings: swiftSettings
        ),
        // The one reader of the local archive's layout (GZIP NDJSON files, every member's CRC-32 and length checked),
        // used by `sluice verify` and by the tests. A module of its own (not part of ArchiveSink, which only writes)
        // so that neither the verifier nor test support depends on a sink.
        .target(
            name: "ArchiveReading",
            dependencies: [
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Tools/ArchiveReading",
            swiftSettings: swiftSettings
        ),
        // `sluice verify`: the delivery audit and its sources (the local archive, Kinesis streams, Kafka topics).
        // Depends on no sink: connections are built by the command line with the factories `serve` uses.
        .target(
            name: "Verification",
            dependencies: [
                "ArchiveReading", "EnvelopeScanner", "AWSJSONClient", "KafkaClient", "KinesisAggregation", "KinesisAPI",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Tools/Verification",
            swiftSettings: swiftSettings
        ),

        // MARK: App: the one wiring site and the command line

        // Wiring: `buildApplication` maps the configuration onto every component and registers the sinks.
        .target(
            name: "GatewayApp",
            dependencies: [
                "GatewayCore", "GatewayConfig", "GatewayHTTP", "Routing", "GatewayLog", "WriteAheadLog", "Delivery",
                "ArchiveSink", "KinesisSink", "KafkaSink", "KafkaClient", "MSKIAMAuth", "AWSCredentials", "AWSJSONClient", "KinesisAPI",
                "Subscriptions", "WebhookHandler", "PostgresHandler", "KafkaSubscriptionSource", "DeadLetterDestinations", "EdgeAccess",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/App/GatewayApp",
            swiftSettings: swiftSettings
        ),
        // The `sluice` command line: serve, check-config, bench, verify.
        .executableTarget(
            name: "sluice",
            dependencies: [
                "Verification", "GatewayApp", "GatewayConfig", "GatewayCore", "KinesisAPI", "LoadGenerator",
                "AWSCredentials", "KafkaClient", "MSKIAMAuth", "JSONSchema",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/App/sluice",
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks

        // `kafka-bench`: librdkafka's own producer throughput (the ceiling of the Kafka benchmark).
        .executableTarget(
            name: "kafka-bench",
            dependencies: ["KafkaClient", "GatewayTesting", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/kafka-bench",
            swiftSettings: swiftSettings
        ),
        // `bare-hummingbird`: a Hummingbird 2 server that collects the body and answers 202, nothing else (the
        // comparison of the embedded-path benchmark).
        .executableTarget(
            name: "bare-hummingbird",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/bare-hummingbird",
            swiftSettings: swiftSettings
        ),
        // `wal-bench`: the write-ahead log on its own (appends/s with N concurrent appenders; docs/write-ahead-log.md).
        .executableTarget(
            name: "wal-bench",
            dependencies: ["WriteAheadLog"],
            path: "Benchmarks/wal-bench",
            swiftSettings: swiftSettings
        ),
        // `scanner-bench`: the envelope scanner on its own (MB/s and events/s for 200 B, 5 KB and 1 MB envelopes).
        .executableTarget(
            name: "scanner-bench",
            dependencies: ["EnvelopeScanner"],
            path: "Benchmarks/scanner-bench",
            swiftSettings: swiftSettings
        ),
        // `schema-bench`: the JSON Schema validator on one event (scripts/benchmark-schema runs it beside Python's jsonschema).
        .executableTarget(
            name: "schema-bench",
            dependencies: ["JSONSchema"],
            path: "Benchmarks/schema-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Test support and tests

        // Test support: reading an archive back, running the built binary and the peers, a manual clock.
        .target(
            name: "GatewayTesting",
            dependencies: [
                "ArchiveReading", "GatewayCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Testing/GatewayTesting",
            swiftSettings: swiftSettings
        ),
        // The sink compliance suite every sink's tests run (acknowledged on success, never released on failure, retry
        // classification, metrics, graceful-shutdown flush, backpressure), under a real dispatcher over a memory log.
        .target(
            name: "SinkTesting",
            dependencies: [
                "GatewayCore", "GatewayLog", "Delivery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Testing/SinkTesting",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4", "GatewayTesting"],
            exclude: ["botocore_sign.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KinesisAggregationTests",
            dependencies: ["KinesisAggregation", "GatewayTesting"],
            exclude: ["kpl_interop.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KinesisSinkTests",
            dependencies: [
                "KinesisSink", "KinesisAPI", "AWSJSONClient", "AWSCredentials", "AWSSigV4", "KinesisAggregation", "GatewayCore",
                "Delivery", "GatewayTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSCredentialsTests",
            dependencies: [
                "AWSCredentials", "AWSSigV4", "GatewayTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "KafkaSink", "KafkaClient", "GatewayTesting", "GatewayCore", "GatewayConfig", "GatewayApp", "Delivery",
                "AWSCredentials", "AWSSigV4", "MSKIAMAuth",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["read_topic.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MSKIAMAuthTests",
            dependencies: [
                "MSKIAMAuth", "AWSSigV4", "AWSCredentials", "KafkaClient", "GatewayTesting", .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["msk_token.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPHeaderParsingTests", dependencies: ["HTTPHeaderParsing"], swiftSettings: swiftSettings),
        .testTarget(name: "EnvelopeScannerTests", dependencies: ["EnvelopeScanner", "GatewayTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: ["LoadGenerator"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig", "JSONSchema"], swiftSettings: swiftSettings),
        .testTarget(name: "IdempotencyTests", dependencies: ["Idempotency"], swiftSettings: swiftSettings),
        .testTarget(name: "EdgeAccessTests", dependencies: ["EdgeAccess", "GatewayCore", "GatewayTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VerificationTests",
            dependencies: [
                "Verification", "ArchiveReading", "EnvelopeScanner", "GatewayApp", "GatewayConfig", "GatewayTesting", "KafkaClient",
                "KinesisAggregation", "KinesisAPI",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "GatewayLog", "GatewayCore", "GatewayTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RoutingTests",
            dependencies: ["Routing", "GatewayApp", "GatewayCore", "GatewayConfig", "ArchiveSink", "KinesisSink", "KafkaSink"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubscriptionsTests",
            dependencies: [
                "Subscriptions", "WebhookHandler", "PostgresHandler", "DeadLetterDestinations", "ArchiveSink", "GatewayTesting",
                "GatewayLog", "GatewayCore", "Delivery", "LiveStreams",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WriteAheadLogTests", dependencies: ["WriteAheadLog", "GatewayTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ArchiveSinkTests",
            dependencies: [
                "ArchiveSink", "GatewayCore", "Delivery", "GatewayTesting",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayHTTPTests",
            dependencies: [
                "GatewayApp", "GatewayConfig", "GatewayCore", "GatewayHTTP", "GatewayTesting", "Delivery", "GatewayLog", "HTTPHeaderParsing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "sluice", "GatewayTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: [
                "kinesis_peer.py", "webhook_receiver.js", "jwt_peer.py", "cors_check.py", "dashboard_check.py", "live_client.py", "ws_client.py",
                "openapi_check.py",
            ],
            swiftSettings: swiftSettings
        ),
        // Every sink against the compliance suite: the archive on a directory, Kinesis on moto, Kafka on Tansu.
        .testTarget(
            name: "SinkComplianceTests",
            dependencies: [
                "SinkTesting", "GatewayCore", "GatewayTesting", "Delivery", "ArchiveSink", "KinesisSink", "KinesisAPI",
                "KinesisAggregation", "AWSJSONClient", "AWSCredentials", "AWSSigV4", "KafkaSink", "KafkaClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
