public import Delivery
public import KafkaClient

/// The Kafka sink's own configuration: how to reach the brokers, the producer's knobs as typed choices, and the
/// pass-through librdkafka `properties`. The wiring maps the config file's `kafka:` section onto it.
public struct KafkaSinkConfiguration: Sendable, Equatable {
    /// `security.protocol`.
    public typealias SecurityProtocol = KafkaConnectionConfiguration.SecurityProtocol
    /// The SASL mechanism (Amazon MSK IAM among them).
    public typealias SASLMechanism = KafkaConnectionConfiguration.SASLMechanism

    /// How many broker acknowledgements a record needs (`acks`).
    public struct Acks: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, CaseIterable {
            case all
            case leader = "1"
            case none = "0"
        }
        private let value: Value
        /// Every in-sync replica (`all`, also written `-1`); required by the idempotent producer.
        public static let all = Acks(value: .all)
        /// The partition leader only (`1`).
        public static let leader = Acks(value: .leader)
        /// None (`0`): fire and forget, no offsets in receipts.
        public static let none = Acks(value: .none)
        /// Every value's name.
        public static let names = Value.allCases.map(\.rawValue)

        /// The value named `name` (`all`, `-1`, `1`, `0`; any case), nil for others.
        public init?(name: String) {
            guard let value = Value(rawValue: name == "-1" ? "all" : name.lowercased()) else { return nil }
            self.value = value
        }

        private init(value: Value) { self.value = value }
        /// librdkafka's value.
        public var name: String { value.rawValue }
        public var description: String { name }
    }

    /// `compression.type`.
    public struct Compression: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, CaseIterable { case none, gzip, snappy, lz4, zstd }
        private let value: Value
        /// No compression.
        public static let none = Compression(value: .none)
        /// gzip.
        public static let gzip = Compression(value: .gzip)
        /// Snappy.
        public static let snappy = Compression(value: .snappy)
        /// LZ4.
        public static let lz4 = Compression(value: .lz4)
        /// Zstandard.
        public static let zstd = Compression(value: .zstd)
        /// Every codec's name.
        public static let names = Value.allCases.map(\.rawValue)

        /// The codec named `name` (any case), nil for others.
        public init?(name: String) {
            guard let value = Value(rawValue: name.lowercased()) else { return nil }
            self.value = value
        }

        private init(value: Value) { self.value = value }
        /// librdkafka's value.
        public var name: String { value.rawValue }
        public var description: String { name }
    }

    /// The brokers and how to authenticate to them.
    public var connection: KafkaConnectionConfiguration
    /// `acks`. Default ``Acks/all`` (which also switches the idempotent producer on).
    public var acks: Acks = .all
    /// `compression.type`. Default ``Compression/none``.
    public var compression: Compression = .none
    /// `linger.ms`: how long librdkafka waits to fill a batch. Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `batch.size` in bytes. Default 1,000,000.
    public var batchSize: Int = 1_000_000
    /// `message.max.bytes`: the largest record. Default 8 MiB (MSK Serverless).
    public var messageMaxBytes: Int = 8_388_608
    /// `statistics.interval.ms`: how often the broker RTT and queue gauges are updated. Default 5 s.
    public var statisticsInterval: Duration = .seconds(5)
    /// `queue.buffering.max.kbytes`: what librdkafka may hold in memory. Default 32 MiB (librdkafka's own default is
    /// 1 GiB: large events wait in the log, not in memory; 64 MiB measured the same throughput on Tansu with 120 MiB
    /// more peak RSS, see docs/kafka.md).
    public var queueKilobytes: Int = 32768
    /// Any other librdkafka property, applied last: the user's value wins over every mapped one.
    public var properties: [String: String] = [:]
    /// How long ``KafkaSink/flush(reporter:)`` waits for librdkafka. Default 10 s.
    public var flushTimeout: Duration = .seconds(10)
    /// The wait before producing a failed record again, and before retrying a producer that could not be created.
    /// Default 100 ms doubling up to 5 s, full jitter.
    public var backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))

    /// Creates a configuration for `connection` with the documented defaults.
    public init(connection: KafkaConnectionConfiguration) {
        self.connection = connection
    }
}
