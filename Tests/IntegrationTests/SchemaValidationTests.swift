import Foundation
import GatewayTesting
import NIOHTTP1
import Testing

// `streams[].schema` through the built `sluice` binary: refused with paths, dead-lettered, per event in batches; and
// `sluice validate`.

private let orderSchema = #"""
    {
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["order_id", "amount", "items"],
      "properties": {
        "order_id": {"type": "string", "pattern": "^o-[0-9]+$"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD"]},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}}
      },
      "$defs": {"item": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}
    }
    """#

@Suite("JSON Schema per stream, through the binary", .serialized)
struct SchemaValidationTests {
    static func config() -> String {
        """
        streams:
          - team: shop
            app: orders
            schema: {file: schemas/order.json}
          - team: shop
            app: carts
            schema:
              draft: draft-04
              inline: {type: object, required: [cart_id], properties: {cart_id: {type: string}}}
            on_invalid: dead_letter
            errors_stream: shop/errors
          - {team: shop, app: errors}
        durability:
          dir: ./wal
        archive:
          url: file://./archive
        """
    }

    static func start() throws -> (SluiceProcess, GatewayClient) {
        let directory = try makeTemporaryDirectory("sluice-schema")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("schemas"), withIntermediateDirectories: true)
        try orderSchema.write(to: directory.appendingPathComponent("schemas/order.json"), atomically: true, encoding: .utf8)
        let process = try SluiceProcess(directory: directory, config: config())
        return (process, GatewayClient(baseURL: "http://127.0.0.1:\(process.port)"))
    }

    static func order(_ payload: String) -> String { #"{"team":"shop","app":"orders","payload":\#(payload)}"# }

    @Test("a valid payload is accepted; an invalid one is 400 with every violation's instance and schema path")
    func reject() async throws {
        let (process, client) = try Self.start()
        defer { _ = process.terminate() }
        let valid = try await client.post(
            "/v1/events", Self.order(#"{"order_id":"o-1","amount":9.5,"currency":"EUR","items":[{"sku":"a","qty":2}]}"#))
        #expect(valid.status == 202, "\(valid.body)")
        let invalid = try await client.post("/v1/events", Self.order(#"{"order_id":"x1","amount":-1,"currency":"GBP","items":[{"qty":0}]}"#))
        #expect(invalid.status == 400, "\(invalid.body)")
        #expect(invalid.header("Content-Type") == "application/problem+json")
        #expect(invalid.object["type"] as? String == "urn:sluice:problem:schema-violation")
        let errors = (invalid.object["errors"] as? [[String: String]]) ?? []
        let found = Set(errors.map { "\($0["instance_path"] ?? "?") \($0["schema_path"] ?? "?")" })
        let expected: Set<String> = [
            "/order_id /properties/order_id/pattern", "/amount /properties/amount/minimum", "/currency /properties/currency/enum",
            "/items/0 /$defs/item/required", "/items/0/qty /$defs/item/properties/qty/minimum",
        ]
        #expect(found == expected, "\(invalid.body)")
        #expect(errors.allSatisfy { ($0["message"] ?? "").isEmpty == false })
        // In a batch each event is checked on its own.
        let batch = try await client.post(
            "/v1/events/batch", "[\(Self.order(#"{"order_id":"o-2","amount":1,"items":[{"sku":"b"}]}"#)),\(Self.order(#"{"amount":1}"#))]")
        let results = batch.object["results"] as? [[String: Any]] ?? []
        #expect(batch.status == 207 && results.compactMap { $0["status"] as? Int } == [202, 400], "\(batch.body)")
        let itemErrors = ((results.last?["error"] as? [String: Any])?["errors"] as? [[String: String]]) ?? []
        #expect(itemErrors.map { $0["schema_path"] } == ["/required", "/required"], "one per missing property: \(batch.body)")
        let metrics = try await client.get("/metrics")
        #expect(metrics.body.contains(#"sluice_schema_invalid_total{team="shop",app="orders",action="reject"} 2"#), "\(metrics.body.prefix(0))")
    }

    @Test("on_invalid: dead_letter keeps an invalid event in the errors stream with its violations and payload")
    func deadLetter() async throws {
        let (process, client) = try Self.start()
        defer { _ = process.terminate() }
        let reply = try await client.post("/v1/events", #"{"team":"shop","app":"carts","event_id":"cart-bad","payload":{"cart_id":7}}"#)
        #expect(reply.status == 202, "\(reply.body)")
        #expect(reply.object["schema"] as? String == "invalid")
        #expect((reply.object["stream"] as? [String: String])?["app"] == "errors", "\(reply.body)")
        let good = try await client.post("/v1/events", #"{"team":"shop","app":"carts","event_id":"cart-ok","payload":{"cart_id":"c"}}"#)
        #expect(good.status == 202 && good.object["schema"] == nil)
        let page = try await client.get("/v1/streams/shop/errors/events")
        let events = (page.object["events"] as? [[String: Any]] ?? []).compactMap { $0["event"] as? [String: Any] }
        #expect(events.count == 1, "\(page.body)")
        let stored = try #require(events.first?["payload"] as? [String: Any])
        #expect(stored["event_id"] as? String == "cart-bad")
        #expect((stored["payload"] as? [String: Any])?["cart_id"] as? Int == 7, "the original payload is kept: \(stored)")
        let violations = (stored["error"] as? [String: Any])?["violations"] as? [[String: String]] ?? []
        #expect(violations.map { $0["instance_path"] } == ["/cart_id"] && violations.first?["schema_path"] == "/properties/cart_id/type")
        let carts = try await client.get("/v1/streams/shop/carts/events")
        #expect((carts.object["events"] as? [Any])?.count == 1, "only the valid event is in shop/carts: \(carts.body)")
    }

    @Test("sluice validate: one verdict per line; exit 0, 1, or 2 for an unusable schema")
    func validateCommand() throws {
        let directory = try makeTemporaryDirectory("sluice-validate")
        let schema = directory.appendingPathComponent("order.json")
        try orderSchema.write(to: schema, atomically: true, encoding: .utf8)
        let valid = #"{"order_id":"o-1","amount":1,"items":[{"sku":"a"}]}"#
        let allValid = try runSluice(["validate", "--schema", schema.path], stdin: valid + "\n\n" + valid + "\n")
        #expect(allValid.status == 0 && allValid.output == "valid\nvalid\n", "\(allValid.output)\(allValid.errors)")
        let mixed = try runSluice(["validate", "--schema", schema.path, "--draft", "2020-12"], stdin: valid + "\n{\"amount\":\"x\"}\nnot json\n")
        #expect(mixed.status == 1, "\(mixed.output)")
        let lines = mixed.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[0] == "valid" && lines[1].hasPrefix("invalid [") && lines[2].hasPrefix("invalid ["), "\(mixed.output)")
        #expect(lines[1].contains(#""schema_path":"/properties/amount/type""#), "\(lines)")
        try #"{"type": "object", "pattern": "("}"#.write(to: schema, atomically: true, encoding: .utf8)
        let broken = try runSluice(["validate", "--schema", schema.path], stdin: valid + "\n")
        #expect(broken.status == 2 && broken.output.hasPrefix("error: the schema is not valid"), "\(broken.output)")
    }
}

/// Runs the built binary to completion with `stdin`.
private func runSluice(_ arguments: [String], stdin: String) throws -> (status: Int32, output: String, errors: String) {
    let completion = try TestProcess.run(SluiceProcess.command(arguments, in: nil), input: Data(stdin.utf8), timeout: .seconds(60))
    return (completion.status ?? -1, completion.output, completion.errors)
}
