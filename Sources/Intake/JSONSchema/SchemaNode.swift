import Foundation

/// One compiled (sub)schema: its assertions and applicators, with subschemas referenced by node index.
struct SchemaNode: Sendable {
    /// The keywords to evaluate, `unevaluated*` last.
    var keywords: [Keyword] = []
    /// The schema resource (`$id` scope) the node belongs to: an index into ``CompiledSchema``'s resources.
    var resource: Int = 0
    /// Whether a keyword of this node needs the annotations of its siblings (`unevaluatedItems`/`Properties`).
    var needsAnnotations = false
}

/// A keyword and where it is written in the schema (for violations).
struct Keyword: Sendable {
    var kind: KeywordKind
    var schemaPath: String
}

/// The JSON types, as a bit set (`integer` is its own bit; `number` matches integers too).
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let object = JSONTypeSet(rawValue: 4)
    static let array = JSONTypeSet(rawValue: 8)
    static let number = JSONTypeSet(rawValue: 16)
    static let string = JSONTypeSet(rawValue: 32)
    static let integer = JSONTypeSet(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init?(name: String) {
        switch name {
        case "null": self = .null
        case "boolean": self = .boolean
        case "object": self = .object
        case "array": self = .array
        case "number": self = .number
        case "string": self = .string
        case "integer": self = .integer
        default: return nil
        }
    }

    /// Whether `value` has one of the types.
    @inline(__always)
    func matches(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .object: contains(.object)
        case .array: contains(.array)
        case .string: contains(.string)
        case .number(let number): contains(.number) || (contains(.integer) && number.isInteger)
        }
    }

    var names: String {
        var names: [String] = []
        let all: [(JSONTypeSet, String)] = [
            (.null, "null"), (.boolean, "boolean"), (.object, "object"), (.array, "array"), (.number, "number"),
            (.string, "string"), (.integer, "integer"),
        ]
        for (type, name) in all where contains(type) { names.append(name) }
        return names.joined(separator: ", ")
    }
}

/// A compiled regular expression (ECMA-262 patterns run on ICU through `NSRegularExpression`).
final class SchemaPattern: @unchecked Sendable {
    // NSRegularExpression is immutable once created and documented as safe to use from many threads at once.
    let source: String
    private let regex: NSRegularExpression?
    /// The linear-time matcher, for patterns in its subset (most schema patterns).
    private let simple: SimplePattern?

    init(_ source: String) throws(JSONSchemaError) {
        self.source = source
        do {
            // ICU rejects the empty pattern, which matches everything.
            regex = source.isEmpty ? nil : try NSRegularExpression(pattern: Self.translate(source), options: [])
        } catch {
            throw JSONSchemaError(code: .invalidPattern, message: "\"\(source)\" is not a valid regular expression")
        }
        simple = SimplePattern(source)
    }

    /// ECMA-262 `\d`, `\w`, `\s` are ASCII-only / Unicode-whitespace; ICU's are Unicode-wide. Narrow `\d` and `\w`.
    private static func translate(_ source: String) -> String {
        guard source.contains("\\") else { return source }
        var result = ""
        var escaped = false
        var inClass = false
        for character in source {
            if escaped {
                escaped = false
                switch character {
                case "d": result += inClass ? "0-9" : "[0-9]"
                case "D": result += inClass ? "\\D" : "[^0-9]"
                case "w": result += inClass ? "a-zA-Z0-9_" : "[a-zA-Z0-9_]"
                case "W": result += inClass ? "\\W" : "[^a-zA-Z0-9_]"
                default:
                    result.append("\\")
                    result.append(character)
                }
                continue
            }
            if character == "\\" {
                escaped = true
                continue
            }
            if character == "[" { inClass = true }
            if character == "]" { inClass = false }
            result.append(character)
        }
        if escaped { result.append("\\") }
        return result
    }

    /// Whether the pattern matches anywhere in `string` (patterns are not anchored).
    func matches(_ string: String) -> Bool {
        if let simple, let matched = simple.matches(string) { return matched }
        guard let regex else { return true }
        let range = NSRange(location: 0, length: string.utf16.count)
        return regex.firstMatch(in: string, options: [], range: range) != nil
    }
}

/// What a keyword checks or applies; subschemas are node indices.
enum KeywordKind: Sendable {
    /// The `false` schema.
    case alwaysFalse
    case type(JSONTypeSet)
    case enumeration([JSONValue])
    case constant(JSONValue)
    case multipleOf(JSONNumber)
    case minimum(JSONNumber)
    case exclusiveMinimum(JSONNumber)
    case maximum(JSONNumber)
    case exclusiveMaximum(JSONNumber)
    case minLength(Int)
    case maxLength(Int)
    case pattern(SchemaPattern)
    /// `prefixItems`, and the array form of `items` before 2020-12.
    case prefixItems([Int])
    /// `items` (2020-12, and the schema form before), `additionalItems`: the items from `start` on.
    case itemsFrom(start: Int, schema: Int)
    case contains(schema: Int, minimum: Int, maximum: Int?)
    case minItems(Int)
    case maxItems(Int)
    case uniqueItems
    case properties([(name: String, schema: Int)])
    case patternProperties([(pattern: SchemaPattern, schema: Int)])
    case additionalProperties(schema: Int, known: Set<String>, patterns: [SchemaPattern])
    case required([String])
    case dependentRequired([(name: String, required: [String])])
    case dependentSchemas([(name: String, schema: Int)])
    case propertyNames(Int)
    case minProperties(Int)
    case maxProperties(Int)
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(condition: Int, then: Int?, else: Int?)
    case ref(Int)
    /// `$dynamicRef`: the statically resolved node, and the anchor to look up in the dynamic scope when the static
    /// target is a `$dynamicAnchor` of that name.
    case dynamicRef(Int, anchor: Int?)
    case unevaluatedItems(Int)
    case unevaluatedProperties(Int)
}

/// A schema resource (a document root or a subschema with `$id`): its `$dynamicAnchor`s by interned name.
struct SchemaResource: Sendable {
    var uri: String
    var dynamicAnchors: [Int: Int] = [:]
}
