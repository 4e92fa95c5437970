import GatewayApp
import GatewayConfig
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Collects log entries in memory.
final class CollectedLogs: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    let entries = Mutex<[Entry]>([])

    struct Handler: LogHandler {
        let sink: CollectedLogs
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var fields = metadata
            if let extra = event.metadata { fields.merge(extra) { _, new in new } }
            let entry = Entry(level: event.level, message: event.message.description, metadata: fields.mapValues(\.description))
            sink.entries.withLock { $0.append(entry) }
        }
    }
}

@Suite("Structured logs")
struct LoggingTests {
    @Test("every request logs one structured access line carrying the request id")
    func accessLog() async throws {
        let fixture = try GatewayFixture()
        let logs = CollectedLogs()
        let logger = Logger(label: "sluice-test") { _ in CollectedLogs.Handler(sink: logs) }
        let gateway = try buildApplication(configuration: fixture.configuration, logger: logger)
        try await gateway.application.test(.router) { client in
            let response = try await client.post(
                "/v1/events", #"{"payload":1}"#, headers: [HTTPField.Name("X-Request-Id")!: "req-log-1"]
            )
            #expect(response.status == .accepted)
        }
        let lines = logs.entries.withLock { $0 }.filter { $0.message == "request" }
        let line = try #require(lines.first { $0.metadata["sluice.request_id"] == "req-log-1" })
        #expect(line.level == .debug)
        #expect(line.metadata["sluice.status"] == "202")
        #expect(line.metadata["sluice.path"] == "/v1/events")
        #expect(line.metadata["sluice.method"] == "POST")
        #expect(line.metadata["sluice.latency_ms"].flatMap(Double.init) != nil)
    }
}
