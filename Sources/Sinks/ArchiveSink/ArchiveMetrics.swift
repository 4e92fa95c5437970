import CoreMetrics
import Metrics

/// The archive's metrics: files, records and bytes published, publish failures and retries, buffered bytes,
/// dead letters.
struct ArchiveMetrics: Sendable {
    let filesPublished: Counter
    let recordsPublished: Counter
    let bytesUncompressed: Counter
    let bytesCompressed: Counter
    let publishFailures: Counter
    let publishRetries: Counter
    let buffered: Gauge
    let deadLetters: Counter

    init(factory: any MetricsFactory) {
        filesPublished = Counter(label: "sluice_archive_files_total", factory: factory)
        recordsPublished = Counter(label: "sluice_archive_records_total", factory: factory)
        bytesUncompressed = Counter(label: "sluice_archive_bytes_total", dimensions: [("encoding", "identity")], factory: factory)
        bytesCompressed = Counter(label: "sluice_archive_bytes_total", dimensions: [("encoding", "gzip")], factory: factory)
        publishFailures = Counter(label: "sluice_archive_publish_failures_total", factory: factory)
        publishRetries = Counter(label: "sluice_archive_publish_retries_total", factory: factory)
        buffered = Gauge(label: "sluice_archive_buffered_bytes", factory: factory)
        deadLetters = Counter(label: "sluice_archive_error_records_total", factory: factory)
    }
}
