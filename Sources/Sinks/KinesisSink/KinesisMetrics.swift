import CoreMetrics
import KinesisAPI
import Synchronization

/// The Kinesis sink's own metrics (names in `docs/kinesis.md`): per stream, per shard, and the records held.
enum KinesisMetrics {
    /// Per-stream metrics (`stream` label).
    final class Stream: Sendable {
        let name: String
        let kinesisRecords: Counter
        let userRecordsSent: Counter
        let bytes: Counter
        let putCalls: Counter
        let aggregationRatio: CoreMetrics.Gauge
        let putLatency: CoreMetrics.Timer
        let expired: Counter
        let wrongShard: Counter
        let shardMapRefreshes: Counter
        private let factory: any MetricsFactory
        private let retryCounters = Mutex<[KinesisError.Code: Counter]>([:])

        init(stream: String, factory: any MetricsFactory) {
            name = stream
            self.factory = factory
            let dimensions = [("stream", stream)]
            kinesisRecords = Counter(label: "sluice_kinesis_records_sent_total", dimensions: dimensions, factory: factory)
            userRecordsSent = Counter(label: "sluice_kinesis_user_records_sent_total", dimensions: dimensions, factory: factory)
            bytes = Counter(label: "sluice_kinesis_bytes_sent_total", dimensions: dimensions, factory: factory)
            putCalls = Counter(label: "sluice_kinesis_put_records_calls_total", dimensions: dimensions, factory: factory)
            aggregationRatio = CoreMetrics.Gauge(label: "sluice_kinesis_aggregation_ratio", dimensions: dimensions, factory: factory)
            putLatency = CoreMetrics.Timer(
                label: "sluice_kinesis_put_records_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            expired = Counter(label: "sluice_kinesis_expired_records_total", dimensions: dimensions, factory: factory)
            wrongShard = Counter(label: "sluice_kinesis_unexpected_shard_total", dimensions: dimensions, factory: factory)
            shardMapRefreshes = Counter(label: "sluice_kinesis_shard_map_refreshes_total", dimensions: dimensions, factory: factory)
        }

        /// Retried user records by error code.
        func retries(code: KinesisError.Code) -> Counter {
            retryCounters.withLock { counters in
                if let counter = counters[code] { return counter }
                let counter = Counter(
                    label: "sluice_kinesis_retries_total", dimensions: [("stream", name), ("error_code", code.description)], factory: factory
                )
                counters[code] = counter
                return counter
            }
        }

        /// Counts a call about to be made.
        func record(_ records: [OutgoingRecord]) {
            var users = 0
            var size = 0
            for record in records {
                users += record.users.count
                size += record.billedBytes
            }
            putCalls.increment()
            kinesisRecords.increment(by: records.count)
            userRecordsSent.increment(by: users)
            bytes.increment(by: size)
            if !records.isEmpty { aggregationRatio.record(Double(users) / Double(records.count)) }
        }
    }

    /// Per-shard metrics (`stream` and `shard` labels).
    final class Shard: Sendable {
        let userRecords: Counter
        let throttles: Counter
        let rateLimited: Counter

        init(stream: String, shard: String, factory: any MetricsFactory) {
            let dimensions = [("stream", stream), ("shard", shard)]
            userRecords = Counter(label: "sluice_kinesis_shard_user_records_total", dimensions: dimensions, factory: factory)
            throttles = Counter(label: "sluice_kinesis_shard_throttled_total", dimensions: dimensions, factory: factory)
            rateLimited = Counter(label: "sluice_kinesis_shard_rate_limited_total", dimensions: dimensions, factory: factory)
        }
    }

    /// `sluice_kinesis_outstanding_records`: user records the sink holds.
    static func outstanding(factory: any MetricsFactory) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: "sluice_kinesis_outstanding_records", factory: factory)
    }
}
