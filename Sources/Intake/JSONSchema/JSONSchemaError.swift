/// Why JSON could not be parsed or a schema could not be compiled.
///
/// `message` names the problem for a human; `schemaPath` (a JSON pointer into the schema, `""` = its root) says
/// where in the schema, `offset` where in the bytes. Programs branch on ``code``.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of problem.
    public enum Code: String, Sendable, Equatable {
        /// The bytes are not JSON.
        case invalidJSON
        /// The JSON nests deeper than allowed.
        case tooDeep
        /// A keyword has a value of the wrong type or range, or the schema is not an object or boolean.
        case invalidSchema
        /// A `pattern` or `patternProperties` key is not a regular expression the engine accepts.
        case invalidPattern
        /// A `$ref` or `$dynamicRef` names a location that does not exist in the schema or its registered resources.
        case unresolvableReference
        /// A `$ref` needs another document that was not registered (nothing is ever fetched).
        case remoteReference
        /// `$schema` names a dialect this module does not implement, and no draft was given.
        case unsupportedDraft
    }

    /// The class of problem.
    public var code: Code
    /// A human sentence naming the problem.
    public var message: String
    /// The JSON pointer of the offending schema location (`""` is the root; other documents are `uri#pointer`).
    public var schemaPath: String?
    /// The byte offset of the problem in the parsed bytes, for parse errors.
    public var offset: Int?

    /// Creates an error.
    public init(code: Code, message: String, schemaPath: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.schemaPath = schemaPath
        self.offset = offset
    }

    /// `"<code> at <schemaPath>: <message>"`, for logs.
    public var description: String {
        if let schemaPath { return "\(code.rawValue) at \"\(schemaPath)\": \(message)" }
        return "\(code.rawValue): \(message)"
    }
}

/// One reason an instance does not satisfy a schema.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// RFC 6901 pointer to the offending part of the instance (`""` is the whole instance).
    public var instancePath: String
    /// Pointer to the failing keyword in the schema, where it is written (for example `"/properties/age/minimum"`;
    /// keywords in registered documents are `uri#pointer`).
    public var schemaPath: String
    /// A human-readable sentence.
    public var message: String

    /// Creates a violation.
    public init(instancePath: String, schemaPath: String, message: String) {
        self.instancePath = instancePath
        self.schemaPath = schemaPath
        self.message = message
    }

    /// `"<instancePath>: <message> (<schemaPath>)"`.
    public var description: String { "\"\(instancePath)\": \(message) (schema \"\(schemaPath)\")" }
}

/// The JSON Schema dialects this module implements.
public enum JSONSchemaDraft: String, Sendable, CaseIterable {
    /// Draft 4 (`http://json-schema.org/draft-04/schema#`).
    case draft4 = "draft-04"
    /// Draft 7 (`http://json-schema.org/draft-07/schema#`).
    case draft7 = "draft-07"
    /// 2020-12 (`https://json-schema.org/draft/2020-12/schema`), the default.
    case draft2020_12 = "2020-12"

    /// The dialect a `$schema` URI names, if it is one of these (`http`/`https`, with or without an empty fragment).
    public init?(schemaURI: String) {
        var uri = Substring(schemaURI)
        if uri.hasSuffix("#") { uri = uri.dropLast() }
        if uri.hasPrefix("https://") {
            uri = uri.dropFirst("https://".count)
        } else if uri.hasPrefix("http://") {
            uri = uri.dropFirst("http://".count)
        } else {
            return nil
        }
        switch uri {
        case "json-schema.org/draft-04/schema": self = .draft4
        case "json-schema.org/draft-07/schema": self = .draft7
        case "json-schema.org/draft/2020-12/schema": self = .draft2020_12
        default: return nil
        }
    }

    /// The draft's metaschema URI (what `$schema` holds).
    public var metaschemaURI: String {
        switch self {
        case .draft4: "http://json-schema.org/draft-04/schema#"
        case .draft7: "http://json-schema.org/draft-07/schema#"
        case .draft2020_12: "https://json-schema.org/draft/2020-12/schema"
        }
    }
}

/// A JSON pointer token escaped per RFC 6901 (`~` → `~0`, `/` → `~1`).
func escapePointerToken(_ token: String) -> String {
    guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
    var escaped = ""
    for character in token {
        switch character {
        case "~": escaped += "~0"
        case "/": escaped += "~1"
        default: escaped.append(character)
        }
    }
    return escaped
}

/// A JSON pointer token with its RFC 6901 escapes undone (`~1` → `/`, `~0` → `~`).
func unescapePointerToken(_ token: Substring) -> String {
    guard token.contains("~") else { return String(token) }
    var result = ""
    var iterator = token.makeIterator()
    while let character = iterator.next() {
        if character == "~" {
            switch iterator.next() {
            case "0": result.append("~")
            case "1": result.append("/")
            case let other?:
                result.append("~")
                result.append(other)
            case nil: result.append("~")
            }
        } else {
            result.append(character)
        }
    }
    return result
}
