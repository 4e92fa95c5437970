import Foundation
import GatewayConfig
import GatewayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Bad input")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var body: [UInt8]
        var contentType: String? = "application/json"
        var status: Int
        var type: String
        var field: String? = nil
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "malformed JSON", body: Array(#"{"payload": {"a": }"#.utf8), status: 400, type: "malformed-json"),
        Case(name: "not an object", body: Array("[1,2,3]".utf8), status: 400, type: "invalid-envelope"),
        Case(name: "missing payload", body: Array(#"{"team":"web","app":"clicks"}"#.utf8), status: 400, type: "invalid-envelope", field: "payload"),
        Case(
            name: "wrong field type", body: Array(#"{"team":5,"app":"clicks","payload":1}"#.utf8), status: 400, type: "invalid-envelope",
            field: "team"),
        Case(
            name: "wrong flag type", body: Array(#"{"large_message":"yes","payload":1}"#.utf8), status: 400, type: "invalid-envelope",
            field: "large_message"),
        Case(name: "unknown envelope field", body: Array(#"{"payload":1,"timestamp":3}"#.utf8), status: 400, type: "invalid-envelope"),
        Case(name: "duplicate envelope field", body: Array(#"{"payload":1,"payload":2}"#.utf8), status: 400, type: "invalid-envelope"),
        Case(name: "empty event id", body: Array(#"{"event_id":"","payload":1}"#.utf8), status: 400, type: "invalid-envelope", field: "event_id"),
        Case(name: "empty body", body: [], status: 400, type: "empty-body"),
        Case(name: "unknown stream", body: Array(#"{"team":"ghost","app":"town","payload":1}"#.utf8), status: 404, type: "unknown-stream"),
        Case(name: "team without app", body: Array(#"{"team":"web","payload":1}"#.utf8), status: 400, type: "missing-stream"),
        Case(name: "wrong content type", body: Array(#"{"payload":1}"#.utf8), contentType: "text/csv", status: 415, type: "unsupported-media-type"),
        Case(
            name: "text/plain that is not JSON", body: Array("hello".utf8), contentType: "text/plain;charset=UTF-8", status: 400,
            type: "malformed-json"),
        Case(
            name: "non-UTF-8 charset", body: Array(#"{"payload":1}"#.utf8), contentType: "application/json; charset=latin1", status: 415,
            type: "unsupported-media-type"),
        Case(name: "invalid UTF-8", body: Array(#"{"payload":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), status: 400, type: "malformed-json"),
        Case(
            name: "nesting 10,000 levels deep",
            body: Array((#"{"payload":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}").utf8), status: 400,
            type: "malformed-json"),
        Case(name: "trailing garbage", body: Array(#"{"payload":1} x"#.utf8), status: 400, type: "malformed-json"),
        Case(
            name: "body over max_body_kb", body: Array((#"{"payload":""# + String(repeating: "x", count: 40_000) + #""}"#).utf8), status: 413,
            type: "body-too-large"),
    ]

    @Test("each bad request gets a problem+json naming the problem, and accepted events stay intact", arguments: cases)
    func badRequest(_ testCase: Case) async throws {
        let fixture = try GatewayFixture { $0.server.maxBodyKB = 32 }
        let archive = try await fixture.run { client in
            let before = try await client.post("/v1/events", #"{"event_id":"before","payload":{"ok":true}}"#)
            #expect(before.status == .accepted)
            let response = try await client.post("/v1/events", testCase.body, contentType: testCase.contentType)
            #expect(Int(response.status.code) == testCase.status)
            #expect(response.headers[.contentType] == "application/problem+json")
            let json = response.json
            #expect(json["type"] as? String == "urn:sluice:problem:" + testCase.type)
            #expect(json["status"] as? Int == testCase.status)
            #expect((json["detail"] as? String)?.isEmpty == false)
            if let field = testCase.field {
                #expect((json["errors"] as? [[String: Any]])?.first?["field"] as? String == field)
            }
            let after = try await client.post("/v1/events", #"{"event_id":"after","payload":{"ok":true}}"#)
            #expect(after.status == .accepted)
        }
        #expect(archive.eventIDs == ["before", "after"])
        #expect(archive.corrupt.isEmpty)
    }

    @Test("an event larger than every route allows is 413 naming the limit")
    func eventTooLarge() async throws {
        let fixture = try GatewayFixture {
            $0.server.maxBodyKB = 4096
            $0.durability.segmentSizeMB = 1
        }
        try await fixture.run { client in
            let payload = "\"" + String(repeating: "y", count: 1_100_000) + "\""
            let response = try await client.post("/v1/events", "{\"payload\":\(payload)}")
            #expect(response.status == .contentTooLarge)
            #expect(response.json["type"] as? String == "urn:sluice:problem:event-too-large")
            #expect(response.json["limit_bytes"] as? Int == 1_048_576)
        }
    }

    @Test("a batch that is not an array, or is empty, or too long, is refused whole")
    func badBatches() async throws {
        let fixture = try GatewayFixture { $0.server.maxBatchEvents = 2 }
        try await fixture.run { client in
            let object = try await client.post("/v1/events/batch", #"{"payload":1}"#)
            #expect(object.status == .badRequest)
            let empty = try await client.post("/v1/events/batch", "[]")
            #expect(empty.json["type"] as? String == "urn:sluice:problem:empty-batch")
            let long = try await client.post("/v1/events/batch", #"[{"payload":1},{"payload":2},{"payload":3}]"#)
            #expect(long.status == .contentTooLarge)
            let broken = try await client.post("/v1/events/batch", #"[{"payload":1},"#)
            #expect(broken.json["type"] as? String == "urn:sluice:problem:malformed-json")
            let ndjsonOnSingle = try await client.post("/v1/events", #"{"payload":1}"#, contentType: "application/x-ndjson")
            #expect(ndjsonOnSingle.status == .unsupportedMediaType)
        }
    }
}
