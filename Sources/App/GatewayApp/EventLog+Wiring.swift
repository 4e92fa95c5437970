import CoreMetrics
import GatewayConfig
import GatewayCore
import GatewayLog
import Logging
import WriteAheadLog

/// The log for `durability:`: the durable write-ahead log (`mode: disk`) or memory, with one cursor per sink.
func makeEventLog(
    configuration: Configuration, sinks: [SinkID], logger: Logger, metrics: any MetricsFactory
) throws(GatewayStartupError) -> any EventLog {
    let durability = configuration.durability
    // Only subscriptions to the log itself have cursors in it (a Kafka source has its own offsets); retention keeps
    // released records for them, for replay, and for live streams and the events API.
    let logSubscriptions = configuration.subscriptions.compactMap { subscription -> String? in
        if case .log = subscription.source { return subscription.name }
        return nil
    }
    let maxBytes = durability.maxDiskMB.mebibytesClamped
    switch durability.mode {
    case .memory:
        return MemoryLog(
            sinks: sinks, maxBytes: maxBytes, subscriptions: logSubscriptions,
            subscriptionRetention: .seconds(durability.subscriptionRetentionHours * 3600),
            retainReleased: durability.subscriptionRetentionHours > 0)
    case .disk:
        var walConfiguration = WALConfiguration(directory: durability.directory, cursorNames: sinks.map(\.name))
        walConfiguration.segmentSizeBytes = durability.segmentSizeMB.mebibytesClamped
        walConfiguration.maxDiskBytes = maxBytes
        walConfiguration.subscriptionCursorNames = logSubscriptions.map(WriteAheadEventLog.cursorName(forSubscription:))
        walConfiguration.subscriptionRetention = .seconds(durability.subscriptionRetentionHours * 3600)
        // Live streams and the events API read released records too, without a cursor of their own.
        walConfiguration.retainReleasedSegments = durability.subscriptionRetentionHours > 0
        walConfiguration.fsync =
            switch durability.fsync {
            case .always: .always
            case .interval: .interval(.milliseconds(durability.fsyncIntervalMs))
            case .never: .never
            }
        let wal: WriteAheadLog
        do {
            wal = try WriteAheadLog.open(walConfiguration)
        } catch {
            throw GatewayStartupError(message: "durability.dir: cannot open the write-ahead log: \(error)")
        }
        let recovery = wal.recovery
        if recovery.truncatedBytes > 0 {
            logger.warning(
                "write-ahead log recovery truncated a damaged tail",
                metadata: [
                    LoggingKeys.truncatedBytes: "\(recovery.truncatedBytes)",
                    LoggingKeys.segment: "\(recovery.truncatedSegment.map(String.init) ?? "-")",
                    LoggingKeys.reason: "\(recovery.reason ?? "-")",
                ]
            )
        }
        logger.info(
            "write-ahead log opened",
            metadata: [LoggingKeys.recordsRecovered: "\(recovery.recordsRecovered)", LoggingKeys.path: "\(walConfiguration.directory)"]
        )
        Counter(label: "sluice_log_recovery_truncated_bytes_total", factory: metrics).increment(by: recovery.truncatedBytes)
        return WriteAheadEventLog(wal: wal, maxBytes: maxBytes, sinks: SinkTable(sinks))
    }
}
