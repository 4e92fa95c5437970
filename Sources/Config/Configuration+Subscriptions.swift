/// `subscriptions:` — one independent consumer of a stream, delivering batches to a handler under a policy with
/// AWS Lambda event-source-mapping names and semantics (see docs/subscriptions.md).
public struct SubscriptionConfiguration: Sendable, Equatable {
    /// Where a subscription reads from.
    public enum Source: Sendable, Equatable {
        /// The gateway's own log.
        case log(LogSource)
        /// A Kafka topic through a consumer group (the `kafka:` section's connection).
        case kafka(KafkaSource)
    }

    /// `source: {kafka: …}`.
    public struct KafkaSource: Sendable, Equatable {
        public var topic: String
        /// Gateways sharing it split the topic's partitions.
        public var groupID: String
        /// For partitions the group has no committed offset for: `trim_horizon` (earliest) or `latest`.
        public var startingPosition: StartingPosition = .latest
        /// librdkafka consumer properties, over the `kafka:` section's.
        public var properties: [String: String] = [:]

        public init(topic: String, groupID: String) {
            self.topic = topic
            self.groupID = groupID
        }
    }

    /// `source: {log: …}` — the gateway's own log, filtered by stream.
    public struct LogSource: Sendable, Equatable {
        /// `team/app` or `team/*` patterns; a record matches when any pattern does.
        public var streams: [String]
        /// Where a subscription without a stored position starts.
        public var startingPosition: StartingPosition = .latest
        /// For `at_timestamp`: Unix milliseconds.
        public var timestampMillis: Int64?

        public init(streams: [String], startingPosition: StartingPosition = .latest, timestampMillis: Int64? = nil) {
            self.streams = streams
            self.startingPosition = startingPosition
            self.timestampMillis = timestampMillis
        }
    }

    /// Where a new subscription starts (Kinesis' iterator types).
    public enum StartingPosition: String, Sendable, Equatable, CaseIterable {
        /// The oldest record the log still holds.
        case trimHorizon = "trim_horizon"
        /// Only records appended after the subscription first started.
        case latest
        /// The first record received at or after `timestamp`.
        case atTimestamp = "at_timestamp"
    }

    /// What a subscription delivers to.
    public enum Handler: Sendable, Equatable {
        /// An HTTP endpoint that receives each batch.
        case webhook(Webhook)
        /// A PostgreSQL table each batch is written to.
        case postgres(Postgres)
    }

    /// `handler: {postgres: …}` (see docs/subscriptions.md, "PostgreSQL handler").
    public struct Postgres: Sendable, Equatable {
        /// How events become rows.
        public enum Mode: String, Sendable, Equatable, CaseIterable {
            /// One row per event, idempotent by event id.
            case insert
            /// One row per key with the newest event's state.
            case upsert
        }

        /// Whether the connection uses TLS.
        public enum TLSMode: String, Sendable, Equatable, CaseIterable {
            case disable
            case prefer
            case require
        }

        /// One column: its name, where its value comes from, its SQL type.
        public struct Column: Sendable, Equatable {
            public var name: String
            /// `event_id`, `received_at`, `partition_key`, `team`, `app`, `payload`, `sequence` or a JSON pointer
            /// into the payload (`/order/id`).
            public var from: String
            /// The SQL type (nil: the default of `from`: text, timestamptz for received_at, jsonb for payload,
            /// bigint for sequence).
            public var type: String?

            public init(name: String, from: String, type: String? = nil) {
                self.name = name
                self.from = from
                self.type = type
            }
        }

        /// `postgres://user:password@host:5432/database`; what it leaves out comes from PGUSER, PGPASSWORD, PGHOST,
        /// PGPORT, PGDATABASE.
        public var url: String
        /// `table` or `schema.table`.
        public var table: String
        public var mode: Mode = .insert
        /// The key columns of upsert mode.
        public var key: [String] = []
        /// Create the table (`CREATE TABLE IF NOT EXISTS`) before the first batch. Default false.
        public var createTable: Bool = false
        public var columns: [Column] = []
        public var tls: TLSMode = .prefer
        /// PEM roots that verify the server's certificate (the system's otherwise).
        public var caFile: String?
        /// The connection pool's size. Default 10.
        public var maxConnections: Int = 10
        /// The server's statement timeout. Default 30 s.
        public var timeoutSeconds: Double = 30

        public init(url: String, table: String) {
            self.url = url
            self.table = table
        }
    }

    /// `handler: {webhook: …}`.
    public struct Webhook: Sendable, Equatable {
        /// The body shape: our envelopes, or the AWS Lambda event shapes.
        public enum Format: String, Sendable, Equatable, CaseIterable {
            case sluice
            case lambda
        }

        /// `http://` or `https://` URL.
        public var url: String
        public var format: Format = .sluice
        /// Per request. Default 30 s.
        public var timeoutSeconds: Double = 30
        /// Extra request headers (values may use `${ENV}`).
        public var headers: [String: String] = [:]
        /// The HMAC-SHA256 key of the `Sluice-Signature` header; no header without it.
        public var signingSecret: String?

        public init(url: String) {
            self.url = url
        }
    }

    /// Where records that exhausted the policy go (always also the gateway's own store, for inspection and redrive).
    public enum DeadLetterDestination: Sendable, Equatable {
        /// The subscription's dead-letter store inside the gateway (`GET /v1/subscriptions/{name}/dead-letters`).
        case log
        /// The archive's error prefix (`<error_prefix>subscriptions/…`), besides the gateway's store.
        case archive
        /// A Kafka topic (the `kafka:` section's connection), besides the gateway's store.
        case kafka(topic: String)
        /// A Kinesis stream (the `kinesis:` section's region and endpoint), besides the gateway's store.
        case kinesis(stream: String)
    }

    /// Unique, `[a-z0-9][a-z0-9._-]{0,62}`: it names files, metrics and URLs.
    public var name: String
    public var source: Source
    public var handler: Handler
    /// Records per handler call. Default 100 (Lambda's), 1…10000.
    public var batchSize: Int = 100
    /// How long to gather records before a call. Default 0 (deliver what is there).
    public var maximumBatchingWindowSeconds: Double = 0
    /// Retries of a failing batch before its records are dead letters; -1 = forever. Default 10 (Lambda: -1).
    public var maximumRetryAttempts: Int = 10
    /// Records older than this are dead letters instead of being delivered; -1 = no limit. Default 86400
    /// (Lambda: -1).
    public var maximumRecordAgeSeconds: Int = 86400
    /// Split a failing batch in two and retry the halves (splits do not count as retries). Default true
    /// (Lambda: false).
    public var bisectBatchOnFunctionError: Bool = true
    /// Honour `{"batchItemFailures":[…]}` answers. Default true (Lambda: off unless asked).
    public var reportBatchItemFailures: Bool = true
    /// Concurrent batches per partition, per-partition-key order kept. Default 1, 1…10.
    public var parallelizationFactor: Int = 1
    public var onFailure: DeadLetterDestination = .log

    public init(name: String, source: Source, handler: Handler) {
        self.name = name
        self.source = source
        self.handler = handler
    }
}

/// `network:` — which hosts outbound requests the gateway makes for users (webhooks) may reach.
public struct NetworkConfiguration: Sendable, Equatable {
    /// Host names and CIDR blocks (`hooks.example.com`, `10.0.0.0/8`, `127.0.0.1/32`) that webhooks may reach even
    /// when they are loopback, private, link-local or cloud-metadata addresses (refused otherwise).
    public var allowedWebhookHosts: [String] = []

    public init(allowedWebhookHosts: [String] = []) {
        self.allowedWebhookHosts = allowedWebhookHosts
    }
}
