import GatewayConfig
import Testing

/// One invalid snippet and the single error it must give.
struct InvalidCase: CustomTestStringConvertible, Sendable {
    var yaml: String
    var path: String
    var message: String
    var testDescription: String { "\(path): \(message)" }

    init(_ yaml: String, _ path: String, _ message: String) {
        self.yaml = yaml
        self.path = path
        self.message = message
    }
}

@Suite("Validation rules")
struct ConfigurationValidationTests {
    static let server: [InvalidCase] = [
        .init("server:\n  host: ''", "server.host", "must not be empty"),
        .init("server:\n  port: abc", "server.port", "expected an integer, got 'abc'"),
        .init("server:\n  port: 8080.5", "server.port", "expected an integer, got '8080.5'"),
        .init("server:\n  port: true", "server.port", "expected an integer, got 'true'"),
        .init("server:\n  port: [1]", "server.port", "expected an integer, got a list"),
        .init("server:\n  port:", "server.port", "expected an integer, got an empty value"),
        .init("server:\n  port: 65536", "server.port", "65536 is out of range 0…65535"),
        .init("server:\n  port: -1", "server.port", "-1 is out of range 0…65535"),
        .init("server:\n  max_body_kb: 0", "server.max_body_kb", "0 is out of range 1…1048576"),
        .init("server:\n  confirmed_timeout_ms: 0", "server.confirmed_timeout_ms", "0 is out of range 1…86400000"),
        .init("server:\n  max_batch_events: 100001", "server.max_batch_events", "100001 is out of range 1…100000"),
        .init("server:\n  max_json_depth: 1", "server.max_json_depth", "1 is out of range 2…100000"),
        .init("server: 8080", "server", "expected a mapping, got '8080'"),
    ]

    static let durability: [InvalidCase] = [
        .init("durability:\n  mode: dsk", "durability.mode", "expected one of 'disk', 'memory', got 'dsk' (did you mean 'disk'?)"),
        .init("durability:\n  dir: ''", "durability.dir", "must not be empty"),
        .init("durability:\n  fsync: sometimes", "durability.fsync", "expected one of 'always', 'interval', 'never', got 'sometimes'"),
        .init("durability:\n  fsync_interval_ms: 0", "durability.fsync_interval_ms", "0 is out of range 1…60000"),
        .init("durability:\n  max_disk_mb: 0", "durability.max_disk_mb", "0 is out of range 1…16777216"),
        .init("durability:\n  segment_size_mb: 0", "durability.segment_size_mb", "0 is out of range 1…4096"),
        .init(
            "durability:\n  max_disk_mb: 100\n  segment_size_mb: 200", "durability.segment_size_mb",
            "segment_size_mb (200) must not be larger than max_disk_mb (100)"),
        .init(
            "durability:\n  segment_size_mb: 2048", "durability.segment_size_mb",
            "segment_size_mb (2048) must not be larger than max_disk_mb (1024)"),
        .init(
            "durability:\n  max_disk_mb: 32", "durability.max_disk_mb",
            "segment_size_mb (64) must not be larger than max_disk_mb (32)"),
    ]

    static let routing: [InvalidCase] = [
        .init("routing:\n  large_message_threshold_kb: -1", "routing.large_message_threshold_kb", "-1 is out of range 0…1048576")
    ]

    static let kinesis: [InvalidCase] = [
        .init("kinesis:\n  region: ''", "kinesis.region", "must not be empty"),
        .init("kinesis:\n  endpoint_url: localhost:4566", "kinesis.endpoint_url", "expected an http:// or https:// url, got 'localhost:4566'"),
        .init("kinesis:\n  endpoint_url: ftp://host", "kinesis.endpoint_url", "expected an http:// or https:// url, got 'ftp://host'"),
        .init("kinesis:\n  aggregation: yes", "kinesis.aggregation", "expected a boolean (true or false), got 'yes'"),
        .init("kinesis:\n  aggregation: 1", "kinesis.aggregation", "expected a boolean (true or false), got '1'"),
        .init("kinesis:\n  aggregation_max_size: 1048577", "kinesis.aggregation_max_size", "1048577 is out of range 1…1048576"),
        .init("kinesis:\n  record_max_buffered_time_ms: 0", "kinesis.record_max_buffered_time_ms", "0 is out of range 1…86400000"),
        .init("kinesis:\n  record_ttl_ms: 0", "kinesis.record_ttl_ms", "0 is out of range 1…86400000"),
        .init("kinesis:\n  max_outstanding_records: 0", "kinesis.max_outstanding_records", "0 is out of range 1…10000000"),
        .init("kinesis:\n  rate_limit: 0", "kinesis.rate_limit", "0 is out of range 1…10000"),
        .init("kinesis:\n  fail_if_throttled: off", "kinesis.fail_if_throttled", "expected a boolean (true or false), got 'off'"),
        .init("kinesis:\n  max_record_size_kb: 10241", "kinesis.max_record_size_kb", "10241 is out of range 1…10240"),
        .init("kinesis: []", "kinesis", "expected a mapping, got a list"),
    ]

    static let kafka: [InvalidCase] = [
        .init("kafka: {}", "kafka.bootstrap_servers", "missing (a comma-separated host:port list)"),
        .init("kafka:\n  bootstrap_servers: ''", "kafka.bootstrap_servers", "must not be empty"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: tls", "kafka.security.protocol",
            "expected one of 'plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl', got 'tls'"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: sasl_ssl", "kafka.security.sasl_mechanism",
            "missing (required when protocol is 'sasl_ssl'; one of 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM')"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: sasl_ssl\n    sasl_mechanism: plain",
            "kafka.security.sasl_mechanism",
            "expected one of 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM', got 'plain' (did you mean 'PLAIN'?)"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: sasl_plaintext\n    sasl_mechanism: PLAIN\n    username: u",
            "kafka.security.password", "missing (required by sasl_mechanism 'PLAIN')"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: sasl_ssl\n    sasl_mechanism: SCRAM-SHA-256\n    password: p",
            "kafka.security.username", "missing (required by sasl_mechanism 'SCRAM-SHA-256')"),
        .init("kafka:\n  bootstrap_servers: k:9092\n  acks: 2", "kafka.acks", "expected one of 'all', '-1', '0', '1', got '2'"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  compression: brotli", "kafka.compression",
            "expected one of 'none', 'gzip', 'snappy', 'lz4', 'zstd', got 'brotli'"),
        .init("kafka:\n  bootstrap_servers: k:9092\n  linger_ms: -5", "kafka.linger_ms", "-5 is out of range 0…900000"),
        .init("kafka:\n  bootstrap_servers: k:9092\n  batch_size: 0", "kafka.batch_size", "0 is out of range 1…2147483647"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  message_max_bytes: 1000000001", "kafka.message_max_bytes",
            "1000000001 is out of range 1000…1000000000"),
        .init(
            "kafka:\n  bootstrap_servers: k:9092\n  properties:\n    linger.ms: [1, 2]", "kafka.properties[\"linger.ms\"]",
            "expected a string, number or boolean, got a list"),
        .init("kafka:\n  bootstrap_servers: k:9092\n  properties: 5", "kafka.properties", "expected a mapping, got '5'"),
    ]

    static let archive: [InvalidCase] = [
        .init("archive:\n  enabled: maybe", "archive.enabled", "expected a boolean (true or false), got 'maybe'"),
        .init("archive:\n  url: s3://bucket/prefix", "archive.url", "s3 archives are not supported by this version; use a file:// url"),
        .init("archive:\n  url: /var/archive", "archive.url", "expected a file:// url (e.g. 'file://./data/archive'), got '/var/archive'"),
        .init("archive:\n  url: 'file://'", "archive.url", "a file:// url needs a path (e.g. 'file://./data/archive'), got 'file://'"),
        .init("archive:\n  format: ndjson", "archive.format", "expected one of 'ndjson_gzip', got 'ndjson'"),
        .init("archive:\n  buffer:\n    size_mb: 0", "archive.buffer.size_mb", "0 is out of range 0.001…128"),
        .init("archive:\n  buffer:\n    size_mb: 128.5", "archive.buffer.size_mb", "128.5 is out of range 0.001…128"),
        .init("archive:\n  buffer:\n    size_mb: big", "archive.buffer.size_mb", "expected a number, got 'big'"),
        .init("archive:\n  buffer:\n    interval_s: 901", "archive.buffer.interval_s", "901 is out of range 0.001…900"),
        .init("archive:\n  buffer:\n    interval_s: -1", "archive.buffer.interval_s", "-1 is out of range 0.001…900"),
        .init(
            "archive:\n  partition_template: 'team={team}/{minute}/'", "archive.partition_template",
            "unknown placeholder '{minute}' (allowed: {team}, {app}, {yyyy}, {MM}, {dd}, {HH})"),
        .init(
            "archive:\n  partition_template: '{team}/{mm}/'", "archive.partition_template",
            "unknown placeholder '{mm}' (allowed: {team}, {app}, {yyyy}, {MM}, {dd}, {HH}); did you mean '{MM}'?"),
        .init("archive:\n  partition_template: '{team}/{app'", "archive.partition_template", "unclosed '{' in '{team}/{app'"),
        .init("archive:\n  partition_template: '../{team}/'", "archive.partition_template", "must not contain '..', got '../{team}/'"),
        .init(
            "archive:\n  partition_template: '/abs/{team}/'", "archive.partition_template",
            "must be a relative path (must not start with '/'), got '/abs/{team}/'"),
        .init("archive:\n  error_prefix: ''", "archive.error_prefix", "must not be empty"),
        .init("archive:\n  error_prefix: /errors/", "archive.error_prefix", "must be a relative path (must not start with '/'), got '/errors/'"),
        .init("archive:\n  error_prefix: errors/../x", "archive.error_prefix", "must not contain '..', got 'errors/../x'"),
        .init("archive:\n  compression_level: 0", "archive.compression_level", "0 is out of range 1…9"),
        .init("archive:\n  compression_level: 10", "archive.compression_level", "10 is out of range 1…9"),
    ]

    static let streams: [InvalidCase] = [
        .init("streams:\n  - app: x", "streams[0].team", "missing"),
        .init("streams:\n  - team: x", "streams[0].app", "missing"),
        .init("streams:\n  - team: ''\n    app: x", "streams[0].team", "must not be empty"),
        .init("streams:\n  - team: a/b\n    app: x", "streams[0].team", "may contain only letters, digits, '.', '_' and '-', got 'a/b'"),
        .init("streams:\n  - team: x\n    app: 'my app'", "streams[0].app", "may contain only letters, digits, '.', '_' and '-', got 'my app'"),
        .init("streams:\n  - team: x\n    app: '..'", "streams[0].app", "must not be '.' or '..'"),
        .init("streams:\n  - team: .\n    app: x", "streams[0].team", "must not be '.' or '..'"),
        .init("streams:\n  - team: x\n    app: y\n    kinesis_stream: ''\nkinesis: {}", "streams[0].kinesis_stream", "must not be empty"),
        .init("streams:\n  - team: x\n    app: y\n    kafka_topic: ''", "streams[0].kafka_topic", "must not be empty"),
        .init(
            "streams:\n  - team: x\n    app: y\n    large_message_threshold_kb: -1", "streams[0].large_message_threshold_kb",
            "-1 is out of range 0…1048576"),
        .init("streams:\n  - team: x\n    app: y\n    archive: no", "streams[0].archive", "expected a boolean (true or false), got 'no'"),
        .init("streams: x", "streams", "expected a list of streams, got 'x'"),
        .init("streams:\n  - x", "streams[0]", "expected a stream mapping (team, app, …), got 'x'"),
    ]

    func check(_ testCase: InvalidCase) {
        let report = load(testCase.yaml)
        #expect(report.configuration == nil)
        #expect(report.errors.map(\.path) == [testCase.path])
        #expect(report.errors.first?.message == testCase.message)
        #expect(report.errors.first?.line != nil)
    }

    @Test("server", arguments: server) func serverRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("durability", arguments: durability) func durabilityRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("routing", arguments: routing) func routingRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("kinesis", arguments: kinesis) func kinesisRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("kafka", arguments: kafka) func kafkaRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("archive", arguments: archive) func archiveRules(_ testCase: InvalidCase) { check(testCase) }
    @Test("streams", arguments: streams) func streamRules(_ testCase: InvalidCase) { check(testCase) }

    @Test("values at the edges of their ranges are accepted")
    func boundaries() throws {
        let configuration = try loadValid(
            """
            server:
              port: 0
              max_batch_events: 100000
              max_json_depth: 2
            durability:
              max_disk_mb: 64
              segment_size_mb: 64
            kinesis:
              aggregation_max_size: 1048576
              rate_limit: 10000
              max_record_size_kb: 1
            kafka:
              bootstrap_servers: k:9092
              acks: -1
              message_max_bytes: 1000000000
            archive:
              buffer:
                size_mb: 128
                interval_s: 900
              compression_level: 9
              url: file://data/archive
            """)
        #expect(configuration.server.port == 0)
        #expect(configuration.durability.segmentSizeMB == 64)
        #expect(configuration.kinesis?.rateLimit == 10000)
        #expect(configuration.kafka?.acks == "all")
        #expect(configuration.kafka?.messageMaxBytes == 1_000_000_000)
        #expect(configuration.archive.bufferSizeMB == 128)
        #expect(configuration.archive.url == "file://data/archive")
    }

    @Test(
        "kafka acks accepts YAML integers and strings",
        arguments: [
            ("all", "all"), ("'all'", "all"), ("-1", "all"), ("0", "0"), ("1", "1"), ("'1'", "1"),
        ])
    func acks(written: String, expected: String) throws {
        let configuration = try loadValid("kafka:\n  bootstrap_servers: k:9092\n  acks: \(written)")
        #expect(configuration.kafka?.acks == expected)
    }

    @Test("kafka security: AWS_MSK_IAM needs no username; bootstrap_servers may be a list")
    func kafkaSecurity() throws {
        let configuration = try loadValid(
            """
            kafka:
              bootstrap_servers: [b-1:9098, b-2:9098]
              security:
                protocol: sasl_ssl
                sasl_mechanism: AWS_MSK_IAM
            """)
        #expect(configuration.kafka?.bootstrapServers == "b-1:9098,b-2:9098")
        #expect(configuration.kafka?.security.saslMechanism == "AWS_MSK_IAM")
    }

    @Test("a SASL mechanism without a SASL protocol is a warning")
    func saslWithoutSASLProtocol() throws {
        let report = load("kafka:\n  bootstrap_servers: k:9092\n  security:\n    protocol: ssl\n    sasl_mechanism: PLAIN")
        #expect(report.errors == [])
        #expect(report.warnings.map(\.path) == ["kafka.security.sasl_mechanism"])
        #expect(report.warnings.first?.line == 5)
    }

    @Test("archive urls: relative and absolute file urls")
    func archiveURLs() throws {
        for url in ["file://./data/archive", "file://data/archive", "file:///var/x"] {
            let configuration = try loadValid("archive:\n  url: \(url)")
            #expect(configuration.archive.url == url)
        }
    }
}
