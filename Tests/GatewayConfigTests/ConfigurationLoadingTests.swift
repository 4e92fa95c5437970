import GatewayConfig
import Testing

/// Loads `yaml` with `environment`.
func load(_ yaml: String, environment: [String: String] = [:]) -> ConfigurationReport {
    Configuration.load(yaml: yaml, environment: environment)
}

/// Loads `yaml`, expecting no errors, and returns the configuration.
func loadValid(
    _ yaml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
) throws -> Configuration {
    let report = load(yaml, environment: environment)
    #expect(report.errors == [], sourceLocation: sourceLocation)
    return try #require(report.configuration, sourceLocation: sourceLocation)
}

@Suite("Loading configuration files")
struct ConfigurationLoadingTests {
    static let seed = """
        streams:
          - team: rpp
            app: promo-clicks
            kinesis_stream: rpp-promo-clicks-dev
            kafka_topic: rpp-promo-clicks-dev
        routing:
          large_message_threshold_kb: 100
        """

    @Test("the seed file loads exactly")
    func seedFile() throws {
        let report = load(Self.seed)
        #expect(report.errors == [])
        var routing = RoutingConfiguration()
        routing.largeMessageThresholdKB = 100
        let expected = Configuration(
            routing: routing,
            streams: [
                StreamConfiguration(
                    team: "rpp", app: "promo-clicks",
                    kinesisStream: "rpp-promo-clicks-dev", kafkaTopic: "rpp-promo-clicks-dev"
                )
            ],
            defaultStream: nil
        )
        #expect(report.configuration == expected)
        // Neither backend is configured: both routes warn, in file order.
        #expect(report.warnings.map(\.path) == ["streams[0].kinesis_stream", "streams[0].kafka_topic"])
        #expect(report.warnings.map(\.line) == [4, 5])
        #expect(report.warnings[0].message.contains("no 'kinesis:' section"))
        #expect(report.warnings[1].message.contains("no 'kafka:' section"))
    }

    @Test(
        "an empty file, comments only or {} is the embedded default",
        arguments: [
            "", "\n", "# nothing here\n", "{}", "---\n", "~",
        ])
    func emptyFile(yaml: String) throws {
        let report = load(yaml)
        #expect(report.errors == [])
        #expect(report.warnings == [])
        #expect(report.configuration == Configuration.embeddedDefault)
    }

    @Test("defaults of an empty file match the documented values")
    func documentedDefaults() throws {
        let configuration = try loadValid("")
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 8080)
        #expect(configuration.server.maxBodyKB == 10240)
        #expect(configuration.server.confirmedTimeoutMs == 30000)
        #expect(configuration.server.maxBatchEvents == 500)
        #expect(configuration.server.maxJSONDepth == 128)
        #expect(configuration.durability.mode == .disk)
        #expect(configuration.durability.directory == "./data/wal")
        #expect(configuration.durability.fsync == .interval)
        #expect(configuration.durability.fsyncIntervalMs == 10)
        #expect(configuration.durability.maxDiskMB == 1024)
        #expect(configuration.durability.segmentSizeMB == 64)
        #expect(configuration.routing.largeMessageThresholdKB == 100)
        #expect(configuration.kinesis == nil)
        #expect(configuration.kafka == nil)
        #expect(configuration.archive == ArchiveConfiguration())
        #expect(configuration.archive.url == "file://./data/archive")
        #expect(configuration.streams == [StreamConfiguration(team: "default", app: "default")])
        #expect(configuration.defaultStream == StreamReference(team: "default", app: "default"))
    }

    @Test("every key lands in its property")
    func everyKeyRoundTrips() throws {
        let yaml = """
            server:
              host: 127.0.0.1
              port: 9090
              max_body_kb: 2048
              confirmed_timeout_ms: 1500
              max_batch_events: 100
              max_json_depth: 32
            durability:
              mode: memory
              dir: /var/lib/sluice/wal
              fsync: always
              fsync_interval_ms: 25
              max_disk_mb: 4096
              segment_size_mb: 128
            routing:
              large_message_threshold_kb: 200
            kinesis:
              region: eu-west-1
              endpoint_url: http://localhost:4566
              aggregation: false
              aggregation_max_size: 25600
              record_max_buffered_time_ms: 250
              record_ttl_ms: 60000
              max_outstanding_records: 5000
              max_outstanding_mb: 32
              rate_limit: 80
              fail_if_throttled: true
              max_record_size_kb: 10240
            kafka:
              bootstrap_servers: b-1.example:9096,b-2.example:9096
              security:
                protocol: sasl_ssl
                sasl_mechanism: SCRAM-SHA-512
                username: sluice
                password: s3cret
                ca_file: /etc/ssl/ca.pem
                cert_file: /etc/ssl/client.pem
                key_file: /etc/ssl/client.key
              acks: 1
              compression: zstd
              linger_ms: 0
              batch_size: 65536
              message_max_bytes: 1048576
              properties:
                enable.idempotence: true
                queue.buffering.max.messages: 5000
                client.id: sluice
            archive:
              enabled: false
              url: file:///var/archive
              format: ndjson_gzip
              buffer:
                size_mb: 0.5
                interval_s: 30
              partition_template: "{team}/{app}/{yyyy}/{MM}/{dd}/{HH}/"
              error_prefix: failed/
              compression_level: 6
            streams:
              - team: rpp
                app: promo-clicks
                kinesis_stream: rpp-promo-clicks
                kafka_topic: rpp-promo-clicks-large
                large_message_threshold_kb: 0
                archive: false
              - team: ads
                app: views
            default_stream: rpp/promo-clicks
            """
        let report = load(yaml)
        #expect(report.errors == [])
        #expect(report.warnings == [])
        let configuration = try #require(report.configuration)

        var server = ServerConfiguration()
        server.host = "127.0.0.1"
        server.port = 9090
        server.maxBodyKB = 2048
        server.confirmedTimeoutMs = 1500
        server.maxBatchEvents = 100
        server.maxJSONDepth = 32

        var durability = DurabilityConfiguration()
        durability.mode = .memory
        durability.directory = "/var/lib/sluice/wal"
        durability.fsync = .always
        durability.fsyncIntervalMs = 25
        durability.maxDiskMB = 4096
        durability.segmentSizeMB = 128

        var routing = RoutingConfiguration()
        routing.largeMessageThresholdKB = 200

        var kinesis = KinesisConfiguration()
        kinesis.region = "eu-west-1"
        kinesis.endpointURL = "http://localhost:4566"
        kinesis.aggregation = false
        kinesis.aggregationMaxSize = 25600
        kinesis.recordMaxBufferedTimeMs = 250
        kinesis.recordTTLMs = 60000
        kinesis.maxOutstandingRecords = 5000
        kinesis.maxOutstandingMB = 32
        kinesis.rateLimit = 80
        kinesis.failIfThrottled = true
        kinesis.maxRecordSizeKB = 10240

        var kafka = KafkaConfiguration()
        kafka.bootstrapServers = "b-1.example:9096,b-2.example:9096"
        kafka.security.securityProtocol = "sasl_ssl"
        kafka.security.saslMechanism = "SCRAM-SHA-512"
        kafka.security.username = "sluice"
        kafka.security.password = "s3cret"
        kafka.security.caFile = "/etc/ssl/ca.pem"
        kafka.security.certFile = "/etc/ssl/client.pem"
        kafka.security.keyFile = "/etc/ssl/client.key"
        kafka.acks = "1"
        kafka.compression = "zstd"
        kafka.lingerMs = 0
        kafka.batchSize = 65536
        kafka.messageMaxBytes = 1_048_576
        kafka.properties = [
            "enable.idempotence": "true",
            "queue.buffering.max.messages": "5000",
            "client.id": "sluice",
        ]

        var archive = ArchiveConfiguration()
        archive.enabled = false
        archive.url = "file:///var/archive"
        archive.format = "ndjson_gzip"
        archive.bufferSizeMB = 0.5
        archive.bufferIntervalSeconds = 30
        archive.partitionTemplate = "{team}/{app}/{yyyy}/{MM}/{dd}/{HH}/"
        archive.errorPrefix = "failed/"
        archive.compressionLevel = 6

        let expected = Configuration(
            server: server,
            durability: durability,
            routing: routing,
            kinesis: kinesis,
            kafka: kafka,
            archive: archive,
            streams: [
                StreamConfiguration(
                    team: "rpp", app: "promo-clicks", kinesisStream: "rpp-promo-clicks",
                    kafkaTopic: "rpp-promo-clicks-large", largeMessageThresholdKB: 0, archive: false
                ),
                StreamConfiguration(team: "ads", app: "views"),
            ],
            defaultStream: StreamReference(team: "rpp", app: "promo-clicks")
        )
        // Section by section first, for readable failures, then the whole.
        #expect(configuration.server == expected.server)
        #expect(configuration.durability == expected.durability)
        #expect(configuration.routing == expected.routing)
        #expect(configuration.kinesis == expected.kinesis)
        #expect(configuration.kafka == expected.kafka)
        #expect(configuration.archive == expected.archive)
        #expect(configuration.streams == expected.streams)
        #expect(configuration == expected)
    }

    @Test("a key left empty in an optional place means unset; sections left empty take defaults")
    func nullValues() throws {
        let configuration = try loadValid(
            """
            server:
            kinesis:
              region:
              endpoint_url: ~
            streams:
              - team: a
                app: b
                large_message_threshold_kb: null
            """)
        #expect(configuration.server == ServerConfiguration())
        #expect(configuration.kinesis == KinesisConfiguration())
        #expect(configuration.streams == [StreamConfiguration(team: "a", app: "b")])
    }

    @Test("anchors, aliases and merge keys are resolved")
    func anchorsAndMergeKeys() throws {
        let configuration = try loadValid(
            """
            kafka:
              bootstrap_servers: k:9092
            streams:
              - &base
                team: rpp
                app: one
                kafka_topic: shared
              - <<: *base
                app: two
            """)
        #expect(
            configuration.streams == [
                StreamConfiguration(team: "rpp", app: "one", kafkaTopic: "shared"),
                StreamConfiguration(team: "rpp", app: "two", kafkaTopic: "shared"),
            ])
    }

    @Test("values are typed from their text: quoted numbers and booleans, hex, numbers as strings")
    func typingOfScalars() throws {
        let configuration = try loadValid(
            """
            server:
              port: "9000"
              max_body_kb: 0x400
            kinesis:
              fail_if_throttled: "true"
              aggregation: False
            archive:
              buffer:
                size_mb: 2
                interval_s: 1.5e2
            streams:
              - team: 2024
                app: "007"
            """)
        #expect(configuration.server.port == 9000)
        #expect(configuration.server.maxBodyKB == 1024)
        #expect(configuration.kinesis?.failIfThrottled == true)
        #expect(configuration.kinesis?.aggregation == false)
        #expect(configuration.archive.bufferSizeMB == 2)
        #expect(configuration.archive.bufferIntervalSeconds == 150)
        #expect(configuration.streams.map(\.team) == ["2024"])
        #expect(configuration.streams.map(\.app) == ["007"])
    }

    @Test("loading from a file, and a clear problem when the file cannot be read")
    func loadingFiles() throws {
        let directory = "/tmp/sluice-config-tests-\(UInt64.random(in: 0...UInt64.max))"
        let missing = Configuration.load(contentsOfFile: directory + "/nope.yaml", environment: [:])
        #expect(missing.configuration == nil)
        #expect(missing.errors.count == 1)
        #expect(missing.errors.first?.path == "")
        #expect(missing.errors.first?.message == "cannot read configuration file '\(directory)/nope.yaml': no such file")

        let isDirectory = Configuration.load(contentsOfFile: "/tmp", environment: [:])
        #expect(isDirectory.errors.first?.message == "cannot read configuration file '/tmp': it is a directory")

        let path = directory + ".yaml"
        try TestFiles.write(ConfigurationLoadingTests.seed + "\nserver:\n  port: ${PORT}\n", to: path)
        defer { TestFiles.remove(path) }
        let report = Configuration.load(contentsOfFile: path, environment: ["PORT": "7000"])
        #expect(report.errors == [])
        #expect(report.configuration?.server.port == 7000)
        #expect(report.configuration?.streams.first?.app == "promo-clicks")

        let broken = Configuration.load(contentsOfFile: path, environment: [:])
        #expect(broken.errors.map(\.path) == ["server.port"])
        #expect(broken.errors.first?.line == 9)
    }
}
