import Logging
import Synchronization

/// A log handler that keeps the entries at warning level or above (evidence that a sink tried and failed) and
/// forwards nothing: the compliance suite's logger.
struct LogWatch: LogHandler {
    /// The entries seen, shared by every copy of the handler.
    final class Entries: Sendable {
        private let lines = Mutex<[String]>([])

        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
        var count: Int { lines.withLock { $0.count } }
    }

    let entries: Entries
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    init(entries: Entries) {
        self.entries = entries
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= .warning else { return }
        entries.append("\(event.level): \(event.message)")
    }
}
