internal import Foundation
import JSONSchema
internal import Yams

/// `streams[].schema`, `on_invalid` and `errors_stream` (docs/edge.md#json-schema).
extension ConfigurationDecoder {
    /// The most bytes a `schema.file` may have.
    static let maxSchemaFileBytes = 1 << 20

    /// `schema: {file: PATH | inline: {…} | inline: '{"json":…}', draft: 2020-12|draft-07|draft-04}`, compiled.
    func decodeSchema(_ node: Node, _ path: ConfigPath) -> StreamSchemaConfiguration? {
        guard let map = MappingReader.open(node, path, context, expected: "a schema mapping (file or inline, draft)") else { return nil }
        var file: String?
        map.optionalString("file", into: &file)
        let inline = map.take("inline")
        var draftName: String?
        if map.contains("draft") {
            var chosen = ""
            if map.choice("draft", JSONSchemaDraft.allCases.map(\.rawValue), into: &chosen) { draftName = chosen }
        }
        map.finish()
        let draft = draftName.flatMap(JSONSchemaDraft.init(rawValue:))
        let document: JSONValue
        let origin: String
        switch (file, inline) {
        case (let file?, nil):
            origin = "file '\(file)'"
            guard let data = FileManager.default.contents(atPath: file) else {
                context.error(path.key("file"), "cannot read the schema file '\(DecodingContext.shorten(file))'", at: map.mark)
                return nil
            }
            guard data.count <= Self.maxSchemaFileBytes else {
                context.error(path.key("file"), "the schema file is larger than 1 MiB", at: map.mark)
                return nil
            }
            do {
                document = try JSONValue(parsing: Array(data))
            } catch {
                context.error(path.key("file"), "the schema file is not JSON: \(error.message)", at: map.mark)
                return nil
            }
        case (nil, .scalar(let text)?):
            // A JSON text (`inline: '{"type": "object"}'`).
            origin = "inline"
            do {
                document = try JSONValue(parsing: text.string)
            } catch {
                context.error(path.key("inline"), "the inline schema is not a JSON text or a YAML mapping: \(error.message)", at: text.mark)
                return nil
            }
        case (nil, let inline?):
            origin = "inline"
            guard let value = jsonValue(inline, path.key("inline")) else { return nil }
            document = value
        case (_?, _?):
            context.error(path, "give either 'file' or 'inline', not both", at: map.mark)
            return nil
        case (nil, nil):
            context.error(path, "a schema needs 'file' (a JSON file) or 'inline' (the schema itself)", at: map.mark)
            return nil
        }
        do {
            let compiled = try CompiledSchema(schema: document, draft: draft)
            return StreamSchemaConfiguration(origin: origin, document: document, draft: draft, compiled: compiled)
        } catch {
            let at = error.schemaPath.map { " (at \($0.isEmpty ? "the root" : $0))" } ?? ""
            context.error(path, "the schema (\(origin)) is not valid: \(error.message)\(at)", at: map.mark)
            return nil
        }
    }

    /// An inline schema: a JSON text, or YAML whose plain scalars are typed as YAML 1.2 core (null, booleans,
    /// numbers) and whose quoted scalars are strings.
    private func jsonValue(_ node: Node, _ path: ConfigPath) -> JSONValue? {
        switch node {
        case .scalar(let scalar):
            guard DecodingContext.isPlain(scalar) else { return .string(scalar.string) }
            let text = scalar.string
            if DecodingContext.isNullText(text) { return .null }
            if let flag = DecodingContext.parseBoolean(text) { return .bool(flag) }
            if case .value(let integer) = DecodingContext.parseInteger(text) { return .number(JSONNumber(integer)) }
            if case .value(let number) = DecodingContext.parseNumber(text) { return .number(JSONNumber(number)) }
            return .string(text)
        case .sequence(let items):
            var values: [JSONValue] = []
            for (index, item) in items.enumerated() {
                guard let value = jsonValue(item, path.index(index)) else { return nil }
                values.append(value)
            }
            return .array(values)
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    context.error(path, "schema keys must be strings", at: key.mark)
                    return nil
                }
                guard let member = jsonValue(value, path.key(keyScalar.string)) else { return nil }
                members.append((keyScalar.string, member))
            }
            return .object(JSONObject(members))
        case .alias:
            context.error(path, "aliases are not allowed in an inline schema", at: node.mark)
            return nil
        }
    }
}
