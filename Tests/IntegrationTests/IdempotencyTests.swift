import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

@Suite("Idempotency-Key through the binary: replays, mismatches, and a restart", .serialized)
struct IdempotencyTests {
    static func count(_ client: GatewayClient) async throws -> Int {
        let page = try await client.get("/v1/streams/web/clicks/events?limit=1000")
        return (page.object["events"] as? [Any])?.count ?? -1
    }

    @Test("a repeated key returns the first receipt and appends nothing, also after a restart; another body is 422")
    func replay() async throws {
        let directory = try makeTemporaryDirectory("sluice-idempotency")
        var process = try SluiceProcess(directory: directory, config: testConfig())
        var client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let body = eventBody("idem-1")
        let first = try await client.send(.POST, "/v1/events", body: body, headers: [("Idempotency-Key", "key-1")])
        #expect(first.status == 202 && first.header("Idempotent-Replayed") == nil, "\(first.body)")
        let again = try await client.send(.POST, "/v1/events", body: body, headers: [("Idempotency-Key", "key-1")])
        #expect(again.status == 202 && again.header("Idempotent-Replayed") == "true", "\(again.headers)")
        #expect(again.body == first.body, "the replay is the first receipt")
        let other = try await client.send(.POST, "/v1/events", body: eventBody("idem-2"), headers: [("Idempotency-Key", "key-1")])
        #expect(other.status == 422 && other.object["type"] as? String == "urn:sluice:problem:idempotency-key-reused", "\(other.body)")
        let batchBody = "[\(eventBody("idem-b1")),\(eventBody("idem-b2"))]"
        let batch = try await client.send(.POST, "/v1/events/batch", body: batchBody, headers: [("Idempotency-Key", "key-batch")])
        let batchAgain = try await client.send(.POST, "/v1/events/batch", body: batchBody, headers: [("Idempotency-Key", "key-batch")])
        #expect(
            batch.status == 200 && batchAgain.status == 200 && batchAgain.body == batch.body && batchAgain.header("Idempotent-Replayed") == "true")
        // The same key on another endpoint is another request.
        let confirmed = try await client.send(.POST, "/v1/events/confirmed", body: body, headers: [("Idempotency-Key", "key-1")])
        #expect(confirmed.status == 200 && confirmed.header("Idempotent-Replayed") == nil, "\(confirmed.body)")
        // A request that failed is not kept: the key can be used again once the request is fixed.
        let malformed = try await client.send(.POST, "/v1/events", body: "{", headers: [("Idempotency-Key", "key-2")])
        #expect(malformed.status == 400)
        #expect(try await Self.count(client) == 4, "idem-1, two batch events, and the confirmed one")

        #expect(process.terminate() == 0)
        process = try SluiceProcess(directory: directory, config: testConfig())
        defer { _ = process.terminate() }
        client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let afterRestart = try await client.send(.POST, "/v1/events", body: body, headers: [("Idempotency-Key", "key-1")])
        #expect(afterRestart.status == 202 && afterRestart.header("Idempotent-Replayed") == "true", "\(afterRestart.headers)")
        #expect(afterRestart.body == first.body)
        #expect(try await Self.count(client) == 4, "nothing was appended by the replays")
        for bad in ["", String(repeating: "k", count: 256)] {
            let refused = try await client.send(.POST, "/v1/events", body: body, headers: [("Idempotency-Key", bad)])
            #expect(refused.status == 400, "'\(bad.prefix(8))…': \(refused.body)")
        }
    }
}
