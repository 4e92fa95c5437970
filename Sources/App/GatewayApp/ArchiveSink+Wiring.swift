import ArchiveSink
import CoreMetrics
import DeadLetterDestinations
import GatewayConfig
import GatewayCore
import Subscriptions

extension SinkRegistration {
    /// The local archive: always on (it is the embedded default route and the dead-letter destination).
    static let archive = SinkRegistration(
        id: .archive,
        isConfigured: { _ in true },
        problems: { configuration in
            var problems: [String] = []
            do throws(GatewayStartupError) {
                _ = try archiveDirectory(from: configuration.archive.url)
            } catch {
                problems.append(error.message)
            }
            do {
                _ = try PartitionTemplate(configuration.archive.partitionTemplate)
            } catch {
                problems.append("archive.partition_template: \(error)")
            }
            return problems
        },
        make: { wiring throws(GatewayStartupError) in
            let archive = try makeArchiveSink(wiring.configuration.archive, clock: wiring.clock, metrics: wiring.metrics)
            wiring.archiveDirectory = archive.directory
            wiring.subscriptionDeadLetters = archive.subscriptionDeadLetters
            return WiredSink(sink: archive.sink, deadLetters: archive.sink)
        }
    )
}

/// The archive sink for the `archive:` section, its directory, and the `on_failure: {archive: {}}` destination it
/// provides.
func makeArchiveSink(
    _ archive: ArchiveConfiguration, clock: some Clock<Duration>, metrics: any MetricsFactory
) throws(GatewayStartupError) -> (
    sink: any Sink & DeadLetterDestination, directory: String, subscriptionDeadLetters: any DeadLetterForwarder
) {
    let template: PartitionTemplate
    do {
        template = try PartitionTemplate(archive.partitionTemplate)
    } catch {
        throw GatewayStartupError(message: "archive.partition_template: \(error)")
    }
    let directory = try archiveDirectory(from: archive.url)
    let sink = ArchiveSink(
        configuration: ArchiveSinkConfiguration(
            directory: directory,
            bufferBytes: archive.bufferSizeMB.mebibytesClamped,
            bufferInterval: archive.bufferIntervalSeconds.secondsClamped,
            partitionTemplate: template,
            errorPrefix: archive.errorPrefix,
            compressionLevel: archive.compressionLevel
        ),
        clock: clock,
        metricsFactory: metrics
    )
    return (sink, directory, ArchiveDeadLetterForwarder(archive: sink, root: directory))
}

/// The local directory of a `file://` archive url (`file://./data/archive`, `file:///var/lib/sluice`).
func archiveDirectory(from url: String) throws(GatewayStartupError) -> String {
    guard url.hasPrefix("file://") else {
        throw GatewayStartupError(message: "archive.url: only file:// archives are available in this version (got '\(url)')")
    }
    let path = String(url.dropFirst("file://".count))
    guard !path.isEmpty else { throw GatewayStartupError(message: "archive.url: the file:// url names no directory") }
    return path
}
