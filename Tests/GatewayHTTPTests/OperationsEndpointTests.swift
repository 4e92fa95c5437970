import Foundation
import GatewayConfig
import GatewayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Operations endpoints and durability modes")
struct OperationsEndpointTests {
    @Test("/health reports outstanding records and the log; /ready is 200; /metrics speaks Prometheus")
    func operations() async throws {
        let fixture = try GatewayFixture()
        try await fixture.run { client in
            _ = try await client.post("/v1/events", #"{"team":"web","app":"clicks","payload":1}"#)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            let json = health.json
            #expect(json["ok"] as? Bool == true)
            #expect(json["outstanding_records"] is Int)
            #expect((json["log"] as? [String: Any])?["kind"] as? String == "disk")
            #expect((json["log"] as? [String: Any])?["next_sequence"] as? Int == 1)
            #expect(((json["sinks"] as? [String: Any])?["archive"] as? [String: Any])?["healthy"] as? Bool == true)

            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)

            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: metrics.body)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(text.contains(#"sluice_events_total{team="web",app="clicks",route="local",size="small"} 1"#))
            #expect(text.contains("sluice_http_requests_total"))
            #expect(text.contains("sluice_log_bytes"))
            #expect(text.contains(#"sluice_sink_backlog_records{sink="archive"}"#))
            #expect(!text.contains(#"sink="kinesis""#), "no gauges for sinks that are not running")
        }
    }

    @Test("durability: memory accepts and archives without a log on disk")
    func memoryMode() async throws {
        let fixture = try GatewayFixture { $0.durability.mode = .memory }
        let archive = try await fixture.run { client in
            let response = try await client.post("/v1/events", #"{"event_id":"m1","payload":1}"#)
            #expect(response.status == .accepted)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect((health.json["log"] as? [String: Any])?["kind"] as? String == "memory")
        }
        #expect(archive.eventIDs == ["m1"])
        #expect(!FileManager.default.fileExists(atPath: fixture.configuration.durability.directory))
    }

    @Test("with the archive failing and the log full, intake answers 503 with Retry-After and /ready turns 503")
    func backpressure() async throws {
        let fixture = try GatewayFixture {
            $0.durability.mode = .memory
            $0.durability.maxDiskMB = 1
            $0.archive.bufferSizeMB = 0.01
        }
        // A regular file where the archive root must be makes every publish fail.
        try Data("blocked".utf8).write(to: URL(fileURLWithPath: fixture.archivePath))
        try await fixture.run { client in
            let event = "{\"payload\":\"" + String(repeating: "z", count: 20_000) + "\"}"
            var refused: TestResponse?
            for _ in 0..<200 {
                let response = try await client.post("/v1/events", event)
                if response.status == .serviceUnavailable {
                    refused = response
                    break
                }
                #expect(response.status == .accepted)
            }
            let response = try #require(refused)
            #expect(response.headers[.retryAfter] == "1")
            #expect(response.json["type"] as? String == "urn:sluice:problem:backpressure")
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect((ready.json["reasons"] as? [String])?.isEmpty == false)
        }
    }
}

@Suite("Live server")
struct LiveServerTests {
    @Test("events posted over a real socket reach the archive; confirmed requests get receipts")
    func live() async throws {
        let fixture = try GatewayFixture()
        let archive = try await fixture.run(.live) { client in
            for index in 0..<20 {
                let response = try await client.post("/v1/events", "{\"event_id\":\"live-\(index)\",\"payload\":{\"i\":\(index)}}")
                #expect(response.status == .accepted)
            }
            let confirmed = try await client.post("/v1/events/confirmed", #"{"event_id":"live-c","payload":null}"#)
            #expect(confirmed.status == .ok)
            #expect(confirmed.json["event_id"] as? String == "live-c")
        }
        #expect(Set(archive.eventIDs) == Set((0..<20).map { "live-\($0)" } + ["live-c"]))
        #expect(archive.eventIDs.count == 21)
    }
}
