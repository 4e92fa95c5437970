import Foundation
import GatewayConfig
import GatewayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Events endpoints")
struct EventsEndpointTests {
    @Test("POST /v1/events answers 202 with the event id, route and log position, and the event reaches the archive")
    func fireAndForget() async throws {
        let fixture = try GatewayFixture()
        let archive = try await fixture.run { client in
            let response = try await client.post(
                "/v1/events", #"{"team":"web","app":"clicks","event_id":"evt-1","partition_key":"u1","payload":{"a":[1,2,{"b":"\u00e9"}]}}"#
            )
            #expect(response.status == .accepted)
            #expect(response.headers[.contentType] == "application/json")
            let json = response.json
            #expect(json["event_id"] as? String == "evt-1")
            #expect(json["route"] as? String == "local")
            #expect((json["log"] as? [String: Any])?["sequence"] as? Int == 0)
        }
        #expect(archive.eventIDs == ["evt-1"])
        let line = try #require(archive.lines.first)
        // The payload bytes are forwarded exactly as received, escapes included.
        #expect(String(decoding: line.bytes, as: UTF8.self).hasSuffix(#","payload":{"a":[1,2,{"b":"\u00e9"}]}}"#))
        #expect(line.object?["partition_key"] as? String == "u1")
        #expect(line.object?["v"] as? Double == 1)
        #expect((line.object?["received_at"] as? String)?.hasSuffix("Z") == true)
    }

    @Test("every response carries the request id, processing latency and Server-Timing; network latency when asked")
    func latencyHeaders() async throws {
        let fixture = try GatewayFixture()
        try await fixture.run { client in
            let sentAt = Int64(Date().timeIntervalSince1970 * 1000) - 25
            let response = try await client.post(
                "/v1/events", #"{"payload":1}"#,
                headers: [HTTPField.Name("X-Request-Id")!: "req-42", HTTPField.Name("X-Client-Sent-At")!: "\(sentAt)"]
            )
            #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "req-42")
            let processing = try #require(response.headers[HTTPField.Name("X-Processing-Latency")!])
            #expect(processing.hasSuffix("ms") && Double(processing.dropLast(2)) != nil)
            let network = try #require(response.headers[HTTPField.Name("X-Network-Latency")!])
            #expect((Double(network.dropLast(2)) ?? 0) >= 25)
            let timing = try #require(response.headers[HTTPField.Name("Server-Timing")!])
            #expect(timing.hasPrefix("app;dur=") && timing.contains("net;dur="))

            let failed = try await client.post("/v1/events", "{", headers: [:])
            #expect(failed.status == .badRequest)
            #expect(failed.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
            #expect(failed.headers[HTTPField.Name("X-Processing-Latency")!] != nil)
            #expect(failed.headers[HTTPField.Name("X-Network-Latency")!] == nil)
        }
    }

    @Test("POST /v1/events/confirmed answers 200 with the local receipt")
    func confirmed() async throws {
        let fixture = try GatewayFixture()
        let archive = try await fixture.run { client in
            let response = try await client.post("/v1/events/confirmed", #"{"event_id":"c-1","payload":"hello"}"#)
            #expect(response.status == .ok)
            let json = response.json
            #expect(json["route"] as? String == "local")
            #expect(json["attempts"] as? Int == 1)
            let log = try #require(json["log"] as? [String: Any])
            #expect(log["sequence"] as? Int == 0 && log["segment"] as? Int == 0 && log["offset"] as? Int == 0)
        }
        #expect(archive.eventIDs == ["c-1"])
    }

    @Test("a JSON-array batch answers one result per event, in order; a mix gives 207 and the good ones are kept")
    func batchArray() async throws {
        let fixture = try GatewayFixture()
        let archive = try await fixture.run { client in
            let body = #"[{"event_id":"b0","payload":0},{"team":"nope","app":"x","payload":1},{"event_id":"b2"},{"event_id":"b3","payload":3}]"#
            let response = try await client.post("/v1/events/batch", body)
            #expect(response.status.code == 207)
            let json = response.json
            #expect(json["accepted"] as? Int == 2)
            #expect(json["rejected"] as? Int == 2)
            let results = try #require(json["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [202, 404, 400, 202])
            #expect(results.map { $0["index"] as? Int } == [0, 1, 2, 3])
            #expect(results[0]["event_id"] as? String == "b0")
            #expect(((results[2]["error"] as? [String: Any])?["type"] as? String)?.hasSuffix("invalid-envelope") == true)

            let allGood = try await client.post("/v1/events/batch", #"[{"event_id":"b4","payload":4}]"#)
            #expect(allGood.status == .ok)
        }
        #expect(archive.eventIDs.sorted() == ["b0", "b3", "b4"])
    }

    @Test("an NDJSON batch with one bad line accepts the good lines")
    func batchNDJSON() async throws {
        let fixture = try GatewayFixture()
        let archive = try await fixture.run { client in
            let body = "{\"event_id\":\"n1\",\"payload\":1}\r\n\n{\"event_id\":\"n2\",\"payload\":\n{\"event_id\":\"n3\",\"payload\":3}\n"
            let response = try await client.post("/v1/events/batch", body, contentType: "application/x-ndjson")
            #expect(response.status.code == 207)
            let results = try #require(response.json["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [202, 400, 202])
            #expect(results.map { $0["line"] as? Int } == [1, 3, 4])
        }
        #expect(archive.eventIDs == ["n1", "n3"])
    }

    @Test("unknown paths and methods answer problem+json")
    func unknownPath() async throws {
        let fixture = try GatewayFixture()
        try await fixture.run { client in
            let response = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == "application/problem+json")
            let wrongMethod = try await client.execute(uri: "/v1/events", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
        }
    }
}
