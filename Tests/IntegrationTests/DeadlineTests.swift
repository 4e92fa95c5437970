import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

@Suite("X-Deadline-Ms bounds a confirmed wait, through the binary and Tansu", .serialized, .timeLimit(.minutes(3)))
struct DeadlineTests {
    @Test("a deadline shorter than the backend answers 504 in time, and the event is still delivered; a bad value is 400")
    func deadline() async throws {
        let broker = try TansuBroker.start()
        defer { broker.stop() }
        let directory = try makeTemporaryDirectory("sluice-deadline")
        // librdkafka holds each message for 2 s (linger_ms), so Kafka's receipt comes long after a 300 ms deadline.
        let config = backendTestConfig(
            streamLines: ["kafka_topic: deadline-topic"], sections: "kafka:\n  bootstrap_servers: \(broker.bootstrapServers)\n  linger_ms: 2000\n")
        let process = try SluiceProcess(directory: directory, config: config)
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let started = ContinuousClock.now
        let reply = try await client.send(.POST, "/v1/events/confirmed", body: eventBody("deadline-1"), headers: [("X-Deadline-Ms", "300")])
        let waited = ContinuousClock.now - started
        #expect(reply.status == 504, "\(reply.body)")
        #expect(reply.object["type"] as? String == "urn:sluice:problem:confirmation-timeout")
        #expect((reply.object["detail"] as? String)?.contains("X-Deadline-Ms") == true, "\(reply.body)")
        #expect(reply.object["log"] != nil)
        #expect(waited < .milliseconds(1500), "the deadline was 300 ms; the answer took \(waited)")
        // Without a deadline the same wait ends with Kafka's receipt.
        let confirmed = try await client.send(.POST, "/v1/events/confirmed", body: eventBody("deadline-2"))
        #expect(confirmed.status == 200 && confirmed.object["kafka"] != nil, "\(confirmed.body)")
        let messages = try readTopic(broker, "deadline-topic", expected: 2)
        #expect(Set(messages.compactMap { $0.envelope?["event_id"] as? String }) == ["deadline-1", "deadline-2"])
        for bad in ["0", "-5", "soon", "1.5"] {
            let refused = try await client.send(.POST, "/v1/events/confirmed", body: eventBody("deadline-bad"), headers: [("X-Deadline-Ms", bad)])
            #expect(refused.status == 400 && refused.object["type"] as? String == "urn:sluice:problem:invalid-header", "'\(bad)': \(refused.body)")
        }
    }
}
