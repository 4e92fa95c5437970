import GatewayConfig
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Backend backpressure at the edge", .timeLimit(.minutes(1)))
struct BackendBackpressureTests {
    @Test("a saturated Kinesis producer turns into 503 + Retry-After for its events; other routes still take events")
    func kinesisSaturation() async throws {
        let fixture = try GatewayFixture { configuration in
            var kinesis = KinesisConfiguration()
            kinesis.endpointURL = "http://127.0.0.1:1" // nothing listens: every call fails and records stay outstanding
            kinesis.maxOutstandingRecords = 5
            configuration.kinesis = kinesis
            configuration.streams[1].kinesisStream = "clicks"
        }
        try await fixture.run(.live) { client in
            var refused: TestResponse?
            // The producer takes records from the log asynchronously; post until it holds its maximum.
            for index in 0..<2000 where refused == nil {
                let response = try await client.post("/v1/events", #"{"team":"web","app":"clicks","event_id":"e\#(index)","payload":{}}"#)
                if response.status == .serviceUnavailable { refused = response } else { #expect(response.status == .accepted) }
            }
            let response = try #require(refused, "no 503 after 2000 events")
            #expect(response.headers[.retryAfter] == "1")
            #expect(response.json["type"] as? String == "urn:sluice:problem:backpressure")
            #expect((response.json["detail"] as? String)?.contains("max_outstanding_records") == true)
            let local = try await client.post("/v1/events", #"{"team":"default","app":"default","payload":{}}"#)
            #expect(local.status == .accepted)
        }
    }
}
