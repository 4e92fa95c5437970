import Testing

@testable import GatewayConfig

/// One integer key with its documented range; `prefix` is the YAML before the key's line (its section, and what the
/// section needs besides), `indent` the key's indentation.
struct BoundedKey: CustomTestStringConvertible, Sendable {
    var path: String
    var prefix: String
    var indent: String
    var minimum: Int
    var maximum: Int
    var testDescription: String { "\(path) \(minimum)…\(maximum)" }

    init(_ path: String, _ minimum: Int, _ maximum: Int, prefix: String? = nil) {
        self.path = path
        self.minimum = minimum
        self.maximum = maximum
        let parts = path.split(separator: ".").map(String.init)
        if let prefix {
            self.prefix = prefix
            self.indent = "  "
        } else if parts.count == 3 {
            self.prefix = "\(parts[0]):\n  \(parts[1]):\n"
            self.indent = "    "
        } else {
            self.prefix = "\(parts[0]):\n"
            self.indent = "  "
        }
    }

    var key: String { String(path.split(separator: ".").last ?? "") }

    func yaml(_ value: String) -> String { "\(prefix)\(indent)\(key): \(value)\n" }
}

@Suite("Bounds: every number in the file has a closed range")
struct ConfigurationBoundsTests {
    static let kafka = "kafka:\n  bootstrap_servers: k:9092\n"
    static let stream = "streams:\n  - team: t\n    app: a\n"

    /// Every integer key of the file, with the range docs/configuration.md gives it.
    static let keys: [BoundedKey] = [
        .init("server.port", 0, 65535),
        .init("server.max_body_kb", 1, 1_048_576),
        .init("server.confirmed_timeout_ms", 1, 86_400_000),
        .init("server.max_batch_events", 1, 100_000),
        .init("server.max_json_depth", 2, 100_000),
        .init("server.max_uri_bytes", 256, 1_048_576),
        .init("server.max_header_kb", 1, 1024),
        .init("server.max_header_count", 1, 10_000),
        .init("server.read_timeout_s", 1, 3600),
        .init("server.idle_timeout_s", 1, 86_400),
        .init("server.max_connections", 1, 1_000_000),
        .init("server.max_inflight_mb", 1, 65536),
        .init("durability.fsync_interval_ms", 1, 60_000),
        .init("durability.max_disk_mb", 1, 16_777_216, prefix: "durability:\n  segment_size_mb: 1\n"),
        .init("durability.segment_size_mb", 1, 4096, prefix: "durability:\n  max_disk_mb: 16777216\n"),
        .init("routing.large_message_threshold_kb", 0, 1_048_576),
        .init("kinesis.aggregation_max_size", 1, 1_048_576),
        .init("kinesis.record_max_buffered_time_ms", 1, 86_400_000),
        .init("kinesis.record_ttl_ms", 1, 86_400_000),
        .init("kinesis.max_outstanding_records", 1, 10_000_000),
        .init("kinesis.max_outstanding_mb", 1, 65536),
        .init("kinesis.rate_limit", 1, 10_000),
        .init("kinesis.max_record_size_kb", 1, 10_240),
        .init("kinesis.collection_max_count", 1, 500),
        .init("kinesis.collection_max_size", 1, 10_485_760),
        .init("kinesis.max_connections", 1, 256),
        .init("kinesis.request_timeout_ms", 100, 600_000),
        .init("kinesis.min_backoff_ms", 1, 3_600_000),
        .init("kinesis.max_backoff_ms", 1, 3_600_000),
        .init("kinesis.shard_map_refresh_ms", 1000, 86_400_000),
        .init("kafka.linger_ms", 0, 900_000, prefix: kafka),
        .init("kafka.batch_size", 1, 2_147_483_647, prefix: kafka),
        .init("kafka.message_max_bytes", 1000, 1_000_000_000, prefix: kafka),
        .init("archive.compression_level", 1, 9),
    ]

    @Test("one below the minimum and one above the maximum are problems naming the key and the range", arguments: keys)
    func outsideTheRange(_ key: BoundedKey) {
        for value in [key.minimum - 1, key.maximum + 1] {
            let report = load(key.yaml(String(value)))
            #expect(report.configuration == nil)
            #expect(report.errors.map(\.path) == [key.path])
            #expect(report.errors.first?.message == "\(value) is out of range \(key.minimum)…\(key.maximum)")
            #expect(report.errors.first?.line == key.prefix.filter { $0 == "\n" }.count + 1)
        }
    }

    @Test("the minimum and the maximum themselves are accepted", arguments: keys)
    func edgesOfTheRange(_ key: BoundedKey) throws {
        for value in [key.minimum, key.maximum] {
            let report = load(key.yaml(String(value)))
            #expect(report.errors == [], "\(key.path): \(value)")
        }
    }

    static let overflowing = [
        "9223372036854775807", "9223372036854775808", "99999999999", "99999999999999999999999999999999",
        "-9223372036854775808", "-9223372036854775809", "0x7FFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFFFFFF", "0o7777777777777777777777",
    ]

    @Test(
        "values whose byte or time arithmetic would overflow are problems, not traps",
        arguments: [
            "server.max_body_kb", "server.confirmed_timeout_ms", "server.max_inflight_mb", "server.read_timeout_s",
            "durability.max_disk_mb", "durability.segment_size_mb", "durability.fsync_interval_ms",
            "routing.large_message_threshold_kb", "kinesis.max_record_size_kb", "kinesis.max_outstanding_mb",
            "kinesis.record_ttl_ms", "kinesis.min_backoff_ms", "kafka.linger_ms", "kafka.message_max_bytes",
        ])
    func overflowingValues(_ path: String) throws {
        let key = try #require(Self.keys.first { $0.path == path })
        for value in Self.overflowing {
            let report = load(key.yaml(value))
            #expect(report.configuration == nil)
            #expect(report.errors.map(\.path) == [path], "\(value)")
            #expect(report.errors.first?.message == "\(value) is out of range \(key.minimum)…\(key.maximum)")
        }
    }

    @Test("the issue's examples, with their positions")
    func issueExamples() {
        let body = load("server:\n  host: 127.0.0.1\n  max_body_kb: 99999999999\n")
        #expect(body.errors.map(\.description) == ["server.max_body_kb: 99999999999 is out of range 1…1048576 (line 3, column 16)"])
        let disk = load("durability:\n  max_disk_mb: 9223372036854775807\n")
        #expect(
            disk.errors.map(\.description)
                == ["durability.max_disk_mb: 9223372036854775807 is out of range 1…16777216 (line 2, column 16)"])
        let segment = load("durability:\n  segment_size_mb: 9223372036854775807\n")
        #expect(
            segment.errors.map(\.description)
                == ["durability.segment_size_mb: 9223372036854775807 is out of range 1…4096 (line 2, column 20)"])
        let threshold = load("routing:\n  large_message_threshold_kb: 9223372036854775807\n")
        #expect(
            threshold.errors.map(\.description)
                == ["routing.large_message_threshold_kb: 9223372036854775807 is out of range 0…1048576 (line 2, column 31)"])
        let perStream = load(Self.stream + "    large_message_threshold_kb: 9223372036854775807\n")
        #expect(
            perStream.errors.map(\.description)
                == ["streams[0].large_message_threshold_kb: 9223372036854775807 is out of range 0…1048576 (line 4, column 33)"])
    }

    @Test("an out-of-range number from the environment names the variable")
    func fromTheEnvironment() {
        let report = load("server:\n  max_body_kb: ${BODY}\n", environment: ["BODY": "9223372036854775807"])
        #expect(report.errors.first?.message == "9223372036854775807 is out of range 1…1048576 (from '${BODY}')")
        let defaulted = load("server:\n  max_body_kb: ${BODY:-0}\n")
        #expect(defaulted.errors.first?.message == "0 is out of range 1…1048576 (from '${BODY:-0}')")
    }

    @Test("numbers (archive.buffer) have closed ranges too, and 1e999 is out of range rather than a trap")
    func numberBounds() throws {
        for (key, minimum, maximum) in [("size_mb", "0.001", "128"), ("interval_s", "0.001", "900")] {
            for value in ["0", "0.0009", "-1", "1e999", "-1e999", "99999999999999999999999", "\(maximum).5"] {
                let report = load("archive:\n  buffer:\n    \(key): \(value)\n")
                #expect(report.errors.map(\.path) == ["archive.buffer.\(key)"])
                #expect(report.errors.first?.message == "\(value) is out of range \(minimum)…\(maximum)")
            }
            for value in [minimum, maximum] {
                #expect(load("archive:\n  buffer:\n    \(key): \(value)\n").errors == [])
            }
        }
    }

    @Test("at every maximum, the products the gateway forms fit in Int64 with room to spare")
    func productsAtTheMaxima() throws {
        let configuration = try loadValid(
            """
            server:
              max_body_kb: 1048576
              confirmed_timeout_ms: 86400000
              max_header_kb: 1024
              read_timeout_s: 3600
              idle_timeout_s: 86400
              max_inflight_mb: 65536
            durability:
              fsync_interval_ms: 60000
              max_disk_mb: 16777216
              segment_size_mb: 4096
            routing:
              large_message_threshold_kb: 1048576
            kinesis:
              record_max_buffered_time_ms: 86400000
              record_ttl_ms: 86400000
              max_outstanding_mb: 65536
              max_record_size_kb: 10240
              request_timeout_ms: 600000
              min_backoff_ms: 3600000
              max_backoff_ms: 3600000
              shard_map_refresh_ms: 86400000
            archive:
              buffer:
                size_mb: 128
                interval_s: 900
            """)
        func fits(_ value: Int, times factor: Int) -> Bool {
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return !overflow && product <= Int.max / 16 // room to add several such amounts
        }
        let mib = 1 << 20
        #expect(fits(configuration.server.maxBodyKB, times: 1024))
        #expect(fits(configuration.server.maxHeaderKB, times: 1024))
        #expect(fits(configuration.server.maxInflightMB, times: mib))
        #expect(fits(configuration.durability.maxDiskMB, times: mib))
        #expect(fits(configuration.durability.segmentSizeMB, times: mib))
        #expect(fits(configuration.routing.largeMessageThresholdKB, times: 1024))
        #expect(fits(configuration.kinesis?.maxOutstandingMB ?? 0, times: mib))
        #expect(fits(configuration.kinesis?.maxRecordSizeKB ?? 0, times: 1024))
        // Nanoseconds (NIO's TimeAmount, DispatchTime): seconds × 10^9, milliseconds × 10^6; backoff doubles 16 times.
        #expect(fits(configuration.server.readTimeoutSeconds, times: 1_000_000_000))
        #expect(fits(configuration.server.idleTimeoutSeconds, times: 1_000_000_000))
        #expect(fits(configuration.server.confirmedTimeoutMs, times: 1_000_000))
        #expect(fits(configuration.durability.fsyncIntervalMs, times: 1_000_000))
        #expect(fits(configuration.kinesis?.recordTTLMs ?? 0, times: 1_000_000))
        #expect(fits(configuration.kinesis?.shardMapRefreshMs ?? 0, times: 1_000_000))
        #expect(fits(configuration.kinesis?.minBackoffMs ?? 0, times: 1_000_000 << 16))
        #expect(fits(Int(configuration.archive.bufferIntervalSeconds * 1000), times: 1_000_000))
        #expect(fits(Int(configuration.archive.bufferSizeMB * 1024), times: 1024))
    }

    // MARK: The new server keys

    @Test("the HTTP limits: defaults, decoding, and a warning when one body can never fit in flight")
    func httpLimits() throws {
        let defaults = try loadValid("")
        #expect(defaults.server.maxURIBytes == 8192)
        #expect(defaults.server.maxHeaderKB == 32)
        #expect(defaults.server.maxHeaderCount == 100)
        #expect(defaults.server.readTimeoutSeconds == 30)
        #expect(defaults.server.idleTimeoutSeconds == 75)
        #expect(defaults.server.maxConnections == 10_000)
        #expect(defaults.server.maxInflightMB == 256)
        #expect(ServerConfiguration() == defaults.server)

        let set = try loadValid(
            """
            server:
              max_uri_bytes: 1024
              max_header_kb: 8
              max_header_count: 50
              read_timeout_s: 5
              idle_timeout_s: 10
              max_connections: 200
              max_inflight_mb: ${INFLIGHT:-64}
            """)
        #expect(set.server.maxURIBytes == 1024)
        #expect(set.server.maxHeaderKB == 8)
        #expect(set.server.maxHeaderCount == 50)
        #expect(set.server.readTimeoutSeconds == 5)
        #expect(set.server.idleTimeoutSeconds == 10)
        #expect(set.server.maxConnections == 200)
        #expect(set.server.maxInflightMB == 64)

        #expect(
            load("server:\n  max_uri_bytes: 255\n").errors.map(\.description)
                == ["server.max_uri_bytes: 255 is out of range 256…1048576 (line 2, column 18)"])
        #expect(load("server:\n  read_timeout_s: 0\n").errors.first?.message == "0 is out of range 1…3600")
        #expect(load("server:\n  idle_timeout_s: 1.5\n").errors.first?.message == "expected an integer, got '1.5'")
        #expect(load("server:\n  max_conections: 5\n").errors.first?.message == "unknown key (did you mean 'max_connections'?)")

        let tooBig = load("server:\n  max_body_kb: 1048576\n  max_inflight_mb: 512\n")
        #expect(tooBig.errors == [])
        #expect(tooBig.warnings.map(\.path) == ["server.max_inflight_mb"])
        #expect(tooBig.warnings.first?.line == 3)
        #expect(load("server:\n  max_body_kb: 262144\n").warnings == [])
        #expect(load("server:\n  max_body_kb: 262145\n").warnings.map(\.path) == ["server.max_body_kb"])
    }

    // MARK: Parsing

    @Test("integer parsing: overflow is told apart from not-an-integer, in one pass whatever the length")
    func integerParsing() {
        func parsed(_ text: String) -> String {
            switch DecodingContext.parseInteger(text) {
            case .value(let value): return "\(value)"
            case .outOfRange: return "out of range"
            case .invalid: return "invalid"
            }
        }
        #expect(parsed("9223372036854775807") == "9223372036854775807")
        #expect(parsed("-9223372036854775808") == "-9223372036854775808")
        #expect(parsed("9223372036854775808") == "out of range")
        #expect(parsed("-9223372036854775809") == "out of range")
        #expect(parsed("0x7fffffffffffffff") == "9223372036854775807")
        #expect(parsed("0x8000000000000000") == "out of range")
        #expect(parsed("-0x10") == "-16")
        #expect(parsed("0o17") == "15")
        #expect(parsed("+5") == "5")
        #expect(parsed("007") == "7")
        #expect(parsed("12a") == "invalid")
        #expect(parsed("0o8") == "invalid")
        #expect(parsed("0x1G") == "invalid")
        #expect(parsed("١٢") == "invalid") // non-ASCII digits
        #expect(parsed("") == "invalid")
        #expect(parsed("-") == "invalid")
        #expect(parsed("0x") == "invalid")
        #expect(parsed(String(repeating: "9", count: 60_000)) == "out of range")
    }
}
