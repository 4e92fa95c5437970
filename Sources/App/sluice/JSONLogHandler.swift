import Foundation
import GatewayCore
import Logging
import Synchronization

/// Writes one JSON object per log line to standard error:
/// `{"ts":"2026-11-22T02:55:31.123Z","level":"info","label":"sluice","message":"listening","sluice.port":"8080"}`.
struct JSONLogHandler: LogHandler {
    private static let output = Mutex<Void>(())

    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var line = "{\"ts\":\"\(Timestamp.rfc3339(millis: Timestamp.nowMillis()))\",\"level\":\"\(event.level)\""
        line += ",\"label\":\(EnvelopeWriter.jsonString(label)),\"message\":\(EnvelopeWriter.jsonString(event.message.description))"
        for key in fields.keys.sorted() {
            guard let value = fields[key] else { continue }
            line += ",\(EnvelopeWriter.jsonString(key)):\(EnvelopeWriter.jsonString(value.description))"
        }
        line += "}\n"
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}
