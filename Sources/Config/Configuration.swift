/// The whole gateway configuration, as loaded from the YAML file (see `docs/configuration.md`).
///
/// Every section has defaults, so an empty file (or no file at all) is the embedded default:
/// one catch-all stream, a durable write-ahead log and a local archive under `./data`.
public struct Configuration: Sendable, Equatable {
    /// The HTTP listener.
    public var server: ServerConfiguration
    /// The write-ahead log between the router and every sink.
    public var durability: DurabilityConfiguration
    /// The routing thresholds shared by all streams.
    public var routing: RoutingConfiguration
    /// The Kinesis Data Streams backend; `nil` when the `kinesis:` section is absent (backend off).
    public var kinesis: KinesisConfiguration?
    /// The Kafka / MSK backend; `nil` when the `kafka:` section is absent (backend off).
    public var kafka: KafkaConfiguration?
    /// The Firehose-like archive.
    public var archive: ArchiveConfiguration
    /// The configured streams, in file order.
    public var streams: [StreamConfiguration]
    /// The stream used when a request names neither `team` nor `app`.
    public var defaultStream: StreamReference?
    /// Independent consumers, in file order (`subscriptions:`).
    public var subscriptions: [SubscriptionConfiguration] = []
    /// Where outbound requests made for users may go (`network:`).
    public var network: NetworkConfiguration = .init()
    /// The live streams and the events API (`live:`).
    public var live: LiveConfiguration = .init()
    /// Credentials and what they grant (`auth:`); `nil` when the section is absent (no authentication).
    public var auth: AuthConfiguration?
    /// The gateway-wide rate limit (`limits:`); `nil` when absent.
    public var limits: RateLimitConfiguration?
    /// The `Idempotency-Key` index (`idempotency:`).
    public var idempotency: IdempotencyConfiguration = .init()

    public init(
        server: ServerConfiguration = .init(),
        durability: DurabilityConfiguration = .init(),
        routing: RoutingConfiguration = .init(),
        kinesis: KinesisConfiguration? = nil,
        kafka: KafkaConfiguration? = nil,
        archive: ArchiveConfiguration = .init(),
        streams: [StreamConfiguration] = [],
        defaultStream: StreamReference? = nil
    ) {
        self.server = server
        self.durability = durability
        self.routing = routing
        self.kinesis = kinesis
        self.kafka = kafka
        self.archive = archive
        self.streams = streams
        self.defaultStream = defaultStream
    }

    /// The embedded default used by `sluice serve` without `--config`: one catch-all stream
    /// (`default/default`) that is also the default stream, archived under `./data/archive`.
    public static var embeddedDefault: Configuration {
        Configuration(
            streams: [StreamConfiguration(team: "default", app: "default")],
            defaultStream: StreamReference(team: "default", app: "default")
        )
    }
}

/// `server:` — the HTTP listener and request limits.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to bind. Default `0.0.0.0`.
    public var host: String = "0.0.0.0"
    /// Port to bind. Default `8080`; `0` picks a free port.
    public var port: Int = 8080
    /// Largest request body accepted, in KiB (decimal `kb` in the key name, 1 KiB = 1024 bytes). Default 10240 (10 MiB);
    /// 1…1048576 (1 GiB).
    public var maxBodyKB: Int = 10240
    /// How long `/v1/events/confirmed` waits for the backend before answering 504, in milliseconds. Default 30000;
    /// 1…86400000 (24 h).
    public var confirmedTimeoutMs: Int = 30000
    /// Largest number of events in one `/v1/events/batch` request. Default 500.
    public var maxBatchEvents: Int = 500
    /// Deepest JSON nesting accepted in a request body. Default 128.
    public var maxJSONDepth: Int = 128
    /// `max_uri_bytes`: the longest request target (path and query) in bytes; beyond it the answer is 414.
    /// Default 8192; 256…1048576.
    public var maxURIBytes: Int = 8192
    /// `max_header_kb`: total KiB of all header lines of a request; beyond it the answer is 431. Default 32; 1…1024.
    public var maxHeaderKB: Int = 32
    /// `max_header_count`: the most header fields in a request; beyond it the answer is 431. Default 100; 1…10000.
    public var maxHeaderCount: Int = 100
    /// `read_timeout_s`: seconds to receive a request's headers (from its first byte) and, separately, its whole body
    /// (from the end of the headers); beyond it the answer is 408 and the connection is closed. Default 30; 1…3600.
    public var readTimeoutSeconds: Int = 30
    /// `idle_timeout_s`: seconds after which a keep-alive connection with no request in progress is closed.
    /// Default 75; 1…86400.
    public var idleTimeoutSeconds: Int = 75
    /// `max_connections`: open connections; new ones beyond it are refused at once with 503. Default 10000; 1…1000000.
    public var maxConnections: Int = 10_000
    /// `max_inflight_mb`: MiB of request bodies buffered across all connections; beyond it the answer is 503 with
    /// `Retry-After`. Default 256; 1…65536.
    public var maxInflightMB: Int = 256
    /// `cors`: cross-origin requests from browsers; `nil` (absent): no CORS headers, so browsers block cross-origin
    /// reads.
    public var cors: CORSConfiguration?
    /// `tls`: the listener speaks TLS with this certificate and key; `nil` (absent): plain HTTP.
    public var tls: ServerTLSConfiguration?

    public init() {}
}

/// `durability:` — the write-ahead log.
public struct DurabilityConfiguration: Sendable, Equatable {
    /// Whether accepted events go to the on-disk log (`disk`) or only to memory (`memory`, lost on crash).
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        case disk
        case memory
    }

    /// When the log calls `fdatasync`.
    public enum FsyncPolicy: String, Sendable, Equatable, CaseIterable {
        /// A request is acknowledged only after the sync that covers it.
        case always
        /// Writes reach the OS before the acknowledgement; a sync runs at most every `fsyncIntervalMs`.
        case interval
        /// The OS decides when data reaches the disk.
        case never
    }

    /// `mode`. Default `disk`.
    public var mode: Mode = .disk
    /// `dir`: where segment and cursor files live. Default `./data/wal`.
    public var directory: String = "./data/wal"
    /// `fsync`. Default `interval`.
    public var fsync: FsyncPolicy = .interval
    /// `fsync_interval_ms`. Default 10.
    public var fsyncIntervalMs: Int = 10
    /// `max_disk_mb`: the log's disk quota in MiB; past it new events get 503. Default 1024; 1…16777216 (16 TiB).
    public var maxDiskMB: Int = 1024
    /// `segment_size_mb`: a segment is sealed at this size in MiB. Default 64; 1…4096 (4 GiB).
    public var segmentSizeMB: Int = 64
    /// How long the log keeps records every sink released, for subscriptions and replay, in hours (bounded by
    /// `max_disk_mb`). Default 24; only applies when subscriptions are configured.
    public var subscriptionRetentionHours: Int = 24

    public init() {}
}

/// `routing:` — thresholds shared by all streams.
public struct RoutingConfiguration: Sendable, Equatable {
    /// `large_message_threshold_kb`: payloads above this many KiB take the large (Kafka) route. Default 100;
    /// 0…1048576 (1 GiB).
    public var largeMessageThresholdKB: Int = 100

    public init() {}
}

/// `kinesis:` — the Kinesis Data Streams backend (KPL knob names and defaults).
public struct KinesisConfiguration: Sendable, Equatable {
    /// `region`. Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1` (resolved at start-up).
    public var region: String?
    /// `endpoint_url`: overrides the AWS endpoint (local endpoints such as moto).
    public var endpointURL: String?
    /// `aggregation`: KPL aggregation on/off. Default true.
    public var aggregation: Bool = true
    /// `aggregation_max_size`: bytes per aggregated record. Default 51200.
    public var aggregationMaxSize: Int = 51200
    /// `record_max_buffered_time_ms`. Default 100.
    public var recordMaxBufferedTimeMs: Int = 100
    /// `flush_when_idle`: send at once when no call of the stream is in flight. Default true.
    public var flushWhenIdle: Bool = true
    /// `record_ttl_ms`. Default 30000.
    public var recordTTLMs: Int = 30000
    /// `max_outstanding_records`: past it new events get 503. Default 100000.
    public var maxOutstandingRecords: Int = 100_000
    /// `max_outstanding_mb`: bytes of records the producer holds in memory; past it the log keeps them. Default 64.
    public var maxOutstandingMB: Int = 64
    /// `rate_limit`: percentage of the per-shard limits to use. Default 150 (as the KPL).
    public var rateLimit: Int = 150
    /// `fail_if_throttled`. Default false.
    public var failIfThrottled: Bool = false
    /// `max_record_size_kb`: the largest record the stream accepts, in KiB. Default 1024 (AWS default, 1 MiB).
    public var maxRecordSizeKB: Int = 1024
    /// `collection_max_count`: records per `PutRecords` call. Default 500 (the AWS limit).
    public var collectionMaxCount: Int = 500
    /// `collection_max_size`: bytes per `PutRecords` call. Default 5242880 (5 MiB, the AWS limit).
    public var collectionMaxSize: Int = 5_242_880
    /// `max_connections`: concurrent `PutRecords` calls. Default 24.
    public var maxConnections: Int = 24
    /// `request_timeout_ms`: the deadline of one call. Default 6000.
    public var requestTimeoutMs: Int = 6000
    /// `min_backoff_ms`: first retry delay of a failed record. Default 100.
    public var minBackoffMs: Int = 100
    /// `max_backoff_ms`: longest retry delay. Default 5000.
    public var maxBackoffMs: Int = 5000
    /// `shard_map_refresh_ms`: how often the shard map is read again. Default 60000.
    public var shardMapRefreshMs: Int = 60000

    public init() {}
}

/// `kafka:` — the Kafka / Amazon MSK backend.
public struct KafkaConfiguration: Sendable, Equatable {
    /// Security settings of the Kafka connection.
    public struct Security: Sendable, Equatable {
        /// `protocol`: `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`. Default `plaintext`.
        public var securityProtocol: String = "plaintext"
        /// `sasl_mechanism`: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `AWS_MSK_IAM`.
        public var saslMechanism: String?
        /// `username` (PLAIN/SCRAM).
        public var username: String?
        /// `password` (PLAIN/SCRAM).
        public var password: String?
        /// `ca_file` (ssl/sasl_ssl).
        public var caFile: String?
        /// `cert_file` (client certificate).
        public var certFile: String?
        /// `key_file` (client key).
        public var keyFile: String?

        public init() {}
    }

    /// `bootstrap_servers`: comma-separated `host:port` list. Required when the section is present.
    public var bootstrapServers: String = ""
    /// `security`.
    public var security: Security = .init()
    /// `acks`: `all`, `1` or `0`. Default `all`.
    public var acks: String = "all"
    /// `compression`: `none`, `gzip`, `snappy`, `lz4`, `zstd`. Default `none`.
    public var compression: String = "none"
    /// `linger_ms`. Default 5.
    public var lingerMs: Int = 5
    /// `batch_size` in bytes. Default 1000000.
    public var batchSize: Int = 1_000_000
    /// `message_max_bytes`: the largest message, also the router's limit for the Kafka route. Default 8388608 (8 MiB, MSK Serverless).
    public var messageMaxBytes: Int = 8_388_608
    /// `properties`: any other librdkafka property, passed through as is.
    public var properties: [String: String] = [:]

    public init() {}
}

/// `archive:` — the Firehose-like archive of accepted events.
public struct ArchiveConfiguration: Sendable, Equatable {
    /// `enabled`. Default true.
    public var enabled: Bool = true
    /// `url`: `file://PATH` (relative paths allowed, `file://./data/archive`) or `s3://bucket/prefix`. Default `file://./data/archive`.
    public var url: String = "file://./data/archive"
    /// `format`: `ndjson_gzip` (the only one for now). Default `ndjson_gzip`.
    public var format: String = "ndjson_gzip"
    /// `buffer.size_mb`: flush a partition's buffer at this many MiB (uncompressed). Default 5 (as Firehose).
    public var bufferSizeMB: Double = 5
    /// `buffer.interval_s`: flush a partition's buffer after this many seconds. Default 60.
    public var bufferIntervalSeconds: Double = 60
    /// `partition_template`. Default `team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/`.
    public var partitionTemplate: String = "team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/"
    /// `error_prefix`: where failed records go, with the reason. Default `errors/`.
    public var errorPrefix: String = "errors/"
    /// `compression_level`: gzip level 1 (fastest) to 9 (smallest). Default 1.
    public var compressionLevel: Int = 1

    public init() {}
}

/// One entry of `streams:`.
public struct StreamConfiguration: Sendable, Equatable {
    /// `team`. Required.
    public var team: String
    /// `app`. Required.
    public var app: String
    /// `kinesis_stream`: the Kinesis stream for small events, if any.
    public var kinesisStream: String?
    /// `kafka_topic`: the Kafka topic for large events, if any.
    public var kafkaTopic: String?
    /// `large_message_threshold_kb`: overrides `routing.large_message_threshold_kb` for this stream.
    public var largeMessageThresholdKB: Int?
    /// `archive`: whether this stream's events are also archived. Default true.
    public var archive: Bool = true
    /// `rate_limit`: this stream's limit, for all clients together.
    public var rateLimit: RateLimitConfiguration?
    /// `schema`: the JSON Schema of this stream's payloads.
    public var schema: StreamSchemaConfiguration?
    /// `on_invalid`: what happens to a payload the schema refuses. Default `reject`.
    public var onInvalid: InvalidEventAction = .reject
    /// `errors_stream`: where `on_invalid: dead_letter` puts refused events (a configured stream).
    public var errorsStream: StreamReference?

    public init(
        team: String,
        app: String,
        kinesisStream: String? = nil,
        kafkaTopic: String? = nil,
        largeMessageThresholdKB: Int? = nil,
        archive: Bool = true
    ) {
        self.team = team
        self.app = app
        self.kinesisStream = kinesisStream
        self.kafkaTopic = kafkaTopic
        self.largeMessageThresholdKB = largeMessageThresholdKB
        self.archive = archive
    }
}

/// `default_stream:` — `{team: …, app: …}` naming one of `streams`.
public struct StreamReference: Sendable, Equatable, Hashable {
    /// `team`.
    public var team: String
    /// `app`.
    public var app: String

    public init(team: String, app: String) {
        self.team = team
        self.app = app
    }
}
