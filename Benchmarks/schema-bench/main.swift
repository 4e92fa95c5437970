import Foundation
import JSONSchema

// `schema-bench DIR`: the JSON Schema validator's throughput on DIR/event.json against DIR/schema.json, for a few
// seconds per mode (scripts/benchmark-schema writes the files and runs Python's `jsonschema` on the same ones).

guard CommandLine.arguments.count == 2 else {
    print("usage: schema-bench DIR (with DIR/event.json and DIR/schema.json)")
    exit(2)
}
let directory = CommandLine.arguments[1]
do {
    let event = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/event.json")))
    let schemaBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/schema.json")))
    let schema = try CompiledSchema(schemaBytes: schemaBytes)
    let tree = try JSONValue(parsing: event)
    guard schema.isValid(tree), schema.validate(tree).isEmpty else {
        print("schema-bench: the event does not match the schema")
        exit(1)
    }

    func measure(_ label: String, _ body: () throws -> Bool) rethrows {
        var count = 0
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = Duration.zero
        while elapsed < .seconds(3) {
            for _ in 0..<100 { _ = try body() }
            count += 100
            elapsed = clock.now - start
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let perSecond = Double(count) / seconds
        let megabytes = Double(event.count) * perSecond / 1e6
        print(
            "swift JSONSchema, \(label): \(Int(perSecond)) events/s, \(String(format: "%.2f", megabytes)) MB/s (\(event.count) B event)"
        )
    }
    measure("isValid on the parsed tree") { schema.isValid(tree) }
    try measure("parse (parsingValidated) + isValid") {
        try event.withUnsafeBytes { buffer in try schema.isValid(validatedBytes: buffer) }
    }
    try measure("parse (parsingValidated) only") {
        try event.withUnsafeBytes { buffer in try JSONValue(parsingValidated: buffer) != .null }
    }
    measure("validate (all violations) on the parsed tree") { schema.validate(tree).isEmpty }
} catch {
    print("schema-bench: \(error)")
    exit(1)
}
