import ArgumentParser
import Foundation
import GatewayCore
import JSONSchema

/// `sluice validate --schema FILE [--draft D]`: JSON instances from stdin, one per line, each checked against a
/// schema; prints `valid`, or `invalid` and the violations as JSON, per line.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate JSON instances (one per line, from stdin) against a JSON Schema.",
        discussion: """
            Prints one verdict per input line: 'valid', or 'invalid' followed by a JSON list of violations \
            ({"instance_path","schema_path","message"}). Empty lines are skipped. Exit 0 when every instance is valid, \
            1 when one is not, 2 when the schema itself cannot be used.
            """
    )

    @Option(help: "The JSON Schema file.")
    var schema: String

    @Option(help: "The draft: 2020-12, draft-07 or draft-04 (default: the schema's $schema, else 2020-12).")
    var draft: String?

    func run() throws {
        var chosen: JSONSchemaDraft?
        if let draft {
            guard let named = JSONSchemaDraft(rawValue: draft) else {
                print("error: --draft must be one of \(JSONSchemaDraft.allCases.map(\.rawValue).joined(separator: ", ")), got '\(draft)'")
                throw ExitCode(2)
            }
            chosen = named
        }
        guard let data = FileManager.default.contents(atPath: schema) else {
            print("error: cannot read the schema file '\(schema)'")
            throw ExitCode(2)
        }
        let compiled: CompiledSchema
        do {
            compiled = try CompiledSchema(schemaBytes: Array(data), draft: chosen)
        } catch {
            print("error: the schema is not valid: \(error)")
            throw ExitCode(2)
        }
        var allValid = true
        while let line = readLine(strippingNewline: true) {
            if line.allSatisfy(\.isWhitespace) { continue }
            let violations: [SchemaViolation]
            do {
                violations = try compiled.validate(bytes: Array(line.utf8))
            } catch {
                violations = [SchemaViolation(instancePath: "", schemaPath: "", message: "not JSON: \(error.message)")]
            }
            if violations.isEmpty {
                print("valid")
                continue
            }
            allValid = false
            let items = violations.map { violation in
                "{\"instance_path\":\(EnvelopeWriter.jsonString(violation.instancePath)),"
                    + "\"schema_path\":\(EnvelopeWriter.jsonString(violation.schemaPath)),"
                    + "\"message\":\(EnvelopeWriter.jsonString(violation.message))}"
            }
            print("invalid [" + items.joined(separator: ",") + "]")
        }
        if !allValid { throw ExitCode(1) }
    }
}
