import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

@Suite("POST /v1/events/explain through the binary: the decision, nothing written, no token taken")
struct ExplainTests {
    static let key = "sk-explain-key-0123456789"

    static let config = """
        streams:
          - team: shop
            app: orders
            rate_limit: {events_per_second: 0.01, burst: 1}
            schema: {inline: {type: object, required: [order_id], properties: {order_id: {type: string}}}}
        durability:
          dir: ./wal
        archive:
          url: file://./archive
        auth:
          api_keys:
            - {name: explainer, key_env: EXPLAIN_KEY, streams: ["shop/*"], scopes: [ingest, read]}
        """

    @Test("stream, auth, schema, size, route, archive path and limits are explained; the event is not written")
    func explain() async throws {
        let directory = try makeTemporaryDirectory("sluice-explain")
        let process = try SluiceProcess(directory: directory, config: Self.config, environment: ["EXPLAIN_KEY": Self.key])
        defer { _ = process.terminate() }
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(process.port)")
        let auth = [("X-Api-Key", Self.key)]
        let valid = #"{"team":"shop","app":"orders","partition_key":"p1","payload":{"order_id":"o-1"}}"#
        for _ in 0..<3 {
            let reply = try await client.send(.POST, "/v1/events/explain", body: valid, headers: auth)
            #expect(reply.status == 200, "\(reply.body)")
            let object = reply.object
            #expect((object["stream"] as? [String: String]) == ["team": "shop", "app": "orders"])
            #expect((object["auth"] as? [String: String])?["verdict"] == "allowed")
            #expect((object["auth"] as? [String: String])?["principal"] == "explainer")
            #expect((object["schema"] as? [String: Any])?["verdict"] as? String == "valid")
            #expect((object["size"] as? [String: Any])?["class"] as? String == "small")
            #expect((object["route"] as? [String: Any])?["name"] as? String == "local")
            #expect(object["partition_key"] as? String == "p1")
            let path = (object["archive"] as? [String: String])?["path"]
            #expect(path?.hasPrefix("team=shop/app=orders/dt=") == true, "\(reply.body)")
            let limits = object["limits"] as? [String: Any]
            #expect(limits?["apply"] as? [String] == ["stream"] && limits?["verdict"] as? String == "admitted", "\(reply.body)")
        }
        // Three explanations took no token: the one event the burst allows still goes through.
        let posted = try await client.send(.POST, "/v1/events", body: valid, headers: auth)
        #expect(posted.status == 202, "\(posted.body)")
        let page = try await client.send(.GET, "/v1/streams/shop/orders/events", headers: auth)
        #expect((page.object["events"] as? [Any])?.count == 1, "only the posted event is in the log: \(page.body)")
        let after = try await client.send(.POST, "/v1/events/explain", body: valid, headers: auth)
        #expect((after.object["limits"] as? [String: Any])?["verdict"] as? String == "limited", "\(after.body)")

        let invalid = try await client.send(
            .POST, "/v1/events/explain", body: #"{"team":"shop","app":"orders","payload":{"order_id":5}}"#, headers: auth)
        let schema = invalid.object["schema"] as? [String: Any]
        #expect(schema?["verdict"] as? String == "invalid" && (schema?["violations"] as? [[String: String]])?.first?["instance_path"] == "/order_id")
        let anonymous = try await client.send(.POST, "/v1/events/explain", body: valid)
        #expect(anonymous.status == 200 && (anonymous.object["auth"] as? [String: String])?["verdict"] == "credentials_required")
        #expect(anonymous.object["route"] == nil, "no decision is told to a caller who may not write: \(anonymous.body)")
        let unknown = try await client.send(.POST, "/v1/events/explain", body: #"{"team":"shop","app":"nope","payload":1}"#, headers: auth)
        #expect((unknown.object["stream_problem"] as? [String: Any])?["type"] as? String == "urn:sluice:problem:unknown-stream", "\(unknown.body)")
        let malformed = try await client.send(.POST, "/v1/events/explain", body: "{", headers: auth)
        #expect(malformed.status == 400)
    }
}
