import ArchiveSink
public import GatewayConfig
import GatewayCore
import KafkaSink
import KinesisSink
public import Routing

/// The router for a configuration: each stream's candidates, mapped from its `kinesis_stream` and `kafka_topic` onto
/// the registered sinks (see docs/routing.md).
///
/// - Small events (payload at most the stream's `large_message_threshold_kb`, not `large_message: true`) prefer the
///   stream's Kinesis stream; large ones take its Kafka topic. A stream with one backend sends everything there.
/// - A stream with neither uses the embedded default: the archive (`local`).
/// - A backend counts only when its config section is present. `archive: true` (and `archive.enabled`) add a copy to
///   the archive.
public func makeRouter(configuration: Configuration) -> Router {
    let localLimit = saturatingBytes(configuration.durability.segmentSizeMB, unit: 1024 * 1024)
    let streams = configuration.streams.map { stream -> StreamRoutes in
        let kinesis = stream.kinesisStream.flatMap { name in
            configuration.kinesis.map { (Route(sink: .kinesis, destination: name), saturatingBytes($0.maxRecordSizeKB, unit: 1024)) }
        }
        let kafka = stream.kafkaTopic.flatMap { name in
            configuration.kafka.map { (Route(sink: .kafka, destination: name), $0.messageMaxBytes) }
        }
        var candidates: [StreamRoutes.Candidate] = []
        switch (kinesis, kafka) {
        case (let kinesis?, let kafka?):
            candidates.append(.init(route: kinesis.0, maxRecordBytes: kinesis.1, takesLargeEvents: false))
            candidates.append(.init(route: kafka.0, maxRecordBytes: kafka.1, takesLargeEvents: true))
        case (let kinesis?, nil):
            candidates.append(.init(route: kinesis.0, maxRecordBytes: kinesis.1, takesLargeEvents: true))
        case (nil, let kafka?):
            candidates.append(.init(route: kafka.0, maxRecordBytes: kafka.1, takesLargeEvents: true))
        case (nil, nil):
            candidates.append(.init(route: Route(sink: .archive), maxRecordBytes: localLimit, takesLargeEvents: true))
        }
        let threshold = stream.largeMessageThresholdKB ?? configuration.routing.largeMessageThresholdKB
        return StreamRoutes(
            stream: StreamReference(team: stream.team, app: stream.app),
            largeThresholdBytes: saturatingBytes(threshold, unit: 1024),
            candidates: candidates,
            copies: configuration.archive.enabled && stream.archive ? SinkSet([.archive]) : .empty
        )
    }
    return Router(streams: streams, defaultStream: configuration.defaultStream)
}

/// `count * unit` in bytes, clamped to `0...Int.max`: the loader bounds every size, but a `Configuration` built in
/// code is not checked, and a limit must never trap.
func saturatingBytes(_ count: Int, unit: Int) -> Int {
    guard count > 0 else { return 0 }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: unit)
    return overflow ? Int.max : bytes
}
