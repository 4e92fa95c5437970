import Foundation
import LoadGenerator
import Testing

@Suite("Payload and request bodies")
struct PayloadTests {
    func parse(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    @Test("payloads have exactly the requested size and are JSON objects")
    func exactSizes() throws {
        var sizes = Array(2...300)
        sizes += [511, 512, 513, 1000, 4096, 5000, 65_535, 100_000, 1_048_576]
        for size in sizes {
            let payload = try PayloadBuilder.payload(size: size)
            #expect(payload.count == size, "size \(size)")
            let object = try parse(payload)
            #expect(object is [String: Any], "size \(size) is not an object")
        }
    }

    @Test("sizes below 2 bytes are refused")
    func tooSmall() {
        #expect(throws: BenchError.self) { try PayloadBuilder.payload(size: 1) }
        #expect(throws: BenchError.self) { try PayloadBuilder.payload(size: 0) }
    }

    @Test("envelopes are valid JSON with the event id, stream, partition key and payload")
    func envelope() throws {
        let shape = EventShape(
            streams: [StreamName(team: "web", app: "clicks"), StreamName(team: "mobile", app: "taps")],
            payloadSize: 100,
            partitionKeys: 50
        )
        let factory = try EventFactory(shape: shape, idPrefix: "run1")
        for number in [0, 1, 2, 41, 999_999] {
            let bytes = factory.envelope(number)
            let object = try #require(try parse(bytes) as? [String: Any])
            #expect(object["event_id"] as? String == factory.eventID(number))
            #expect(object["team"] as? String == (number % 2 == 0 ? "web" : "mobile"))
            #expect(object["app"] as? String == (number % 2 == 0 ? "clicks" : "taps"))
            #expect(object["large_message"] as? Bool == false)
            let key = try #require(object["partition_key"] as? String)
            #expect(key == "user-" + String(format: "%02d", factory.keyNumber(number)))
            let payload = try #require(object["payload"])
            let payloadData = try JSONSerialization.data(withJSONObject: payload)
            #expect(payloadData.count == 100)
        }
        #expect(factory.eventID(42) == "run1-000000000042")
    }

    @Test("event ids are unique, partition keys cover the cardinality")
    func uniqueness() throws {
        let factory = try EventFactory(shape: EventShape(payloadSize: 10, partitionKeys: 10), idPrefix: "p")
        let ids = Set((0..<10_000).map(factory.eventID))
        #expect(ids.count == 10_000)
        let keys = Set((0..<10_000).map(factory.keyNumber))
        #expect(keys == Set(0..<10))
    }

    @Test("the large fraction is exact and evenly spread")
    func largeFraction() throws {
        let shape = EventShape(payloadSize: 20, partitionKeys: 1, largeFraction: 0.1, largePayloadSize: 300)
        let factory = try EventFactory(shape: shape, idPrefix: "p")
        let large = (0..<1000).filter(factory.isLarge)
        #expect(large.count == 100)
        let firstLarge = try #require(large.first)
        let object = try #require(try parse(factory.envelope(firstLarge)) as? [String: Any])
        #expect(object["large_message"] as? Bool == true)
        let payload = try JSONSerialization.data(withJSONObject: try #require(object["payload"]))
        #expect(payload.count == 300)
    }

    @Test("batch bodies: JSON arrays and NDJSON of consecutive events, sizes as announced")
    func batchBodies() throws {
        let factory = try EventFactory(shape: EventShape(payloadSize: 64, partitionKeys: 7), idPrefix: "b")
        let json = factory.body(firstEvent: 10, count: 5, batch: .json)
        #expect(json.count == factory.bodySize(firstEvent: 10, count: 5, batch: .json))
        let array = try #require(try parse(json) as? [[String: Any]])
        #expect(array.map { $0["event_id"] as? String } == (10..<15).map(factory.eventID))
        let ndjson = factory.body(firstEvent: 10, count: 5, batch: .ndjson)
        #expect(ndjson.count == factory.bodySize(firstEvent: 10, count: 5, batch: .ndjson))
        let lines = ndjson.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 5)
        for (offset, line) in lines.enumerated() {
            let object = try #require(try parse(Array(line)) as? [String: Any])
            #expect(object["event_id"] as? String == factory.eventID(10 + offset))
        }
        let single = factory.body(firstEvent: 3, count: 1, batch: nil)
        #expect(single == factory.envelope(3))
    }

    @Test("id prefixes and shapes are validated")
    func validation() throws {
        #expect(throws: BenchError.self) { try EventFactory(shape: EventShape(), idPrefix: "has space") }
        #expect(throws: BenchError.self) { try EventFactory(shape: EventShape(), idPrefix: "") }
        #expect(throws: BenchError.self) { try EventFactory(shape: EventShape(partitionKeys: 0), idPrefix: "p") }
        #expect(throws: BenchError.self) { try EventFactory(shape: EventShape(largeFraction: 1.5), idPrefix: "p") }
        #expect(throws: BenchError.self) { try StreamName(parsing: "web") }
        #expect(throws: BenchError.self) { try StreamName(parsing: "a/b/c") }
        #expect(try StreamName(parsing: "web/clicks") == StreamName(team: "web", app: "clicks"))
    }

    @Test("target URLs")
    func urls() throws {
        let plain = try BenchTarget(parsing: "http://127.0.0.1:8080")
        #expect(plain == BenchTarget(host: "127.0.0.1", port: 8080))
        let prefixed = try BenchTarget(parsing: "http://localhost:9000/gateway/")
        #expect(prefixed == BenchTarget(host: "localhost", port: 9000, basePath: "/gateway"))
        let v6 = try BenchTarget(parsing: "http://[::1]:8080")
        #expect(v6.host == "::1")
        #expect(v6.hostHeader == "[::1]:8080")
        #expect(try BenchTarget(parsing: "example.org").port == 80)
        #expect(throws: BenchError.self) { try BenchTarget(parsing: "https://127.0.0.1") }
        #expect(throws: BenchError.self) { try BenchTarget(parsing: "http://127.0.0.1:99999") }
        #expect(throws: BenchError.self) { try BenchTarget(parsing: "http://:8080") }
    }
}
