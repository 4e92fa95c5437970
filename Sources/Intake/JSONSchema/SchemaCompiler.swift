import Foundation

/// Turns schema documents into ``SchemaNode``s once: registers every `$id`, `$anchor` and `$dynamicAnchor`, resolves
/// every `$ref` to a node index, compiles every pattern, and checks every keyword's value (errors carry the path).
struct SchemaCompiler {
    /// A place in one of the documents: the document's index and a JSON pointer (escaped, as written in `$ref`s).
    struct Location: Hashable {
        var document: Int
        var pointer: String
    }

    /// What the registration walk learned about a subschema location.
    struct LocationInfo {
        var base: URIReference
        var resource: Int
    }

    struct Document {
        var value: JSONValue
        var draft: JSONSchemaDraft
        /// `""` for the main schema, else the URI it was registered under (used in schema paths).
        var label: String
        /// Whether the validation vocabulary applies (2020-12: a custom metaschema's `$vocabulary` can leave it out).
        var validationVocabulary = true
    }

    static let validationVocabularyURI = "https://json-schema.org/draft/2020-12/vocab/validation"

    /// Reads the `$vocabulary` of each document's metaschema when that metaschema is a registered document (not one of
    /// the drafts' own): the validation vocabulary applies only when it is listed.
    mutating func applyVocabularies() {
        for position in documents.indices where documents[position].draft == .draft2020_12 {
            guard case .string(let declared)? = documents[position].value["$schema"], JSONSchemaDraft(schemaURI: declared) == nil,
                let metaschema = resourceLocations[URIReference(declared).textWithoutFragment],
                case .object(let vocabularies)? = value(at: metaschema)?["$vocabulary"]
            else { continue }
            documents[position].validationVocabulary = vocabularies[Self.validationVocabularyURI] != nil
        }
    }

    /// The deepest nesting of subschemas accepted (beyond the parser's own limit, for trees built in code).
    static let maxSchemaDepth = 256

    var documents: [Document] = []
    var resourceLocations: [String: Location] = [:]
    var anchors: [String: Location] = [:]
    var dynamicAnchorNames: [String: Int] = [:]
    var resources: [SchemaResource] = []
    var resourceDynamicAnchors: [[Int: Location]] = []
    var info: [Location: LocationInfo] = [:]
    var nodes: [SchemaNode] = []
    var nodeIndex: [Location: Int] = [:]
    var pending: [(index: Int, location: Location, value: JSONValue)] = []

    // MARK: Documents and registration

    mutating func addDocument(_ value: JSONValue, uri: String, draft fallback: JSONSchemaDraft, explicit: Bool) throws(JSONSchemaError) {
        var draft = fallback
        if !explicit, case .string(let declared)? = value["$schema"], let named = JSONSchemaDraft(schemaURI: declared) {
            draft = named
        }
        let document = documents.count
        documents.append(Document(value: value, draft: draft, label: uri))
        let base = URIReference(uri)
        let retrieval = base.textWithoutFragment
        let location = Location(document: document, pointer: "")
        resources.append(SchemaResource(uri: retrieval))
        resourceDynamicAnchors.append([:])
        if resourceLocations[retrieval] == nil { resourceLocations[retrieval] = location }
        try register(value, at: location, base: base, resource: resources.count &- 1, draft: draft, depth: 0)
    }

    private func path(_ location: Location) -> String {
        let label = documents[location.document].label
        return label.isEmpty ? location.pointer : label + "#" + location.pointer
    }

    private func invalid(_ message: String, _ location: Location, code: JSONSchemaError.Code = .invalidSchema) -> JSONSchemaError {
        JSONSchemaError(code: code, message: message, schemaPath: path(location))
    }

    private static func child(_ location: Location, _ tokens: String...) -> Location {
        var pointer = location.pointer
        for token in tokens { pointer += "/" + escapePointerToken(token) }
        return Location(document: location.document, pointer: pointer)
    }

    /// Keywords whose value is one subschema.
    private static let singleSchemaKeywords = [
        "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else", "items",
        "unevaluatedItems", "unevaluatedProperties",
    ]
    /// Keywords whose value is an array of subschemas.
    private static let schemaArrayKeywords = ["allOf", "anyOf", "oneOf", "items", "prefixItems"]
    /// Keywords whose value is an object of subschemas.
    private static let schemaMapKeywords = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"]

    private mutating func register(
        _ value: JSONValue, at location: Location, base inherited: URIReference, resource inheritedResource: Int,
        draft: JSONSchemaDraft, depth: Int
    ) throws(JSONSchemaError) {
        guard depth <= Self.maxSchemaDepth else {
            throw invalid("subschemas nest deeper than \(Self.maxSchemaDepth) levels", location, code: .tooDeep)
        }
        guard case .object(let object) = value else {
            info[location] = LocationInfo(base: inherited, resource: inheritedResource)
            return
        }
        var base = inherited
        var resource = inheritedResource
        let siblingsIgnored = draft != .draft2020_12 && object["$ref"] != nil
        let idKeyword = draft == .draft4 ? "id" : "$id"
        if case .string(let id)? = object[idKeyword], !siblingsIgnored {
            if draft != .draft2020_12, id.hasPrefix("#") {
                anchors[base.textWithoutFragment + id] = location
            } else {
                let resolved = base.resolving(URIReference(id))
                let uri = resolved.textWithoutFragment
                if location.pointer.isEmpty, resource < resources.count, resources[resource].uri != uri {
                    // The document's own `$id`: one resource, reachable under both URIs.
                    if resourceLocations[uri] == nil { resourceLocations[uri] = location }
                    resources[resource].uri = uri
                } else if !location.pointer.isEmpty {
                    if resourceLocations[uri] == nil { resourceLocations[uri] = location }
                    resources.append(SchemaResource(uri: uri))
                    resourceDynamicAnchors.append([:])
                    resource = resources.count &- 1
                }
                if let fragment = resolved.fragment, !fragment.isEmpty, !fragment.hasPrefix("/") {
                    anchors[uri + "#" + fragment] = location
                }
                var withoutFragment = resolved
                withoutFragment.fragment = nil
                base = withoutFragment
            }
        }
        if draft == .draft2020_12 {
            if case .string(let anchor)? = object["$anchor"] {
                anchors[base.textWithoutFragment + "#" + anchor] = location
            }
            if case .string(let anchor)? = object["$dynamicAnchor"] {
                let key = base.textWithoutFragment + "#" + anchor
                if anchors[key] == nil { anchors[key] = location }
                let name = internAnchor(anchor)
                if resource < resourceDynamicAnchors.count { resourceDynamicAnchors[resource][name] = location }
            }
        }
        info[location] = LocationInfo(base: base, resource: resource)
        for keyword in Self.singleSchemaKeywords {
            guard let sub = object[keyword] else { continue }
            if case .array = sub { continue }
            try register(sub, at: Self.child(location, keyword), base: base, resource: resource, draft: draft, depth: depth &+ 1)
        }
        for keyword in Self.schemaArrayKeywords {
            guard case .array(let subs)? = object[keyword] else { continue }
            for (position, sub) in subs.enumerated() {
                try register(
                    sub, at: Self.child(location, keyword, String(position)), base: base, resource: resource, draft: draft,
                    depth: depth &+ 1
                )
            }
        }
        for keyword in Self.schemaMapKeywords {
            guard case .object(let map)? = object[keyword] else { continue }
            for (name, sub) in map {
                if case .array = sub { continue }
                try register(sub, at: Self.child(location, keyword, name), base: base, resource: resource, draft: draft, depth: depth &+ 1)
            }
        }
    }

    private mutating func internAnchor(_ name: String) -> Int {
        if let id = dynamicAnchorNames[name] { return id }
        let id = dynamicAnchorNames.count
        dynamicAnchorNames[name] = id
        return id
    }

    // MARK: Locations

    /// The value at a location, following the pointer through objects and arrays.
    func value(at location: Location) -> JSONValue? {
        guard location.document < documents.count else { return nil }
        var current = documents[location.document].value
        if location.pointer.isEmpty { return current }
        guard location.pointer.hasPrefix("/") else { return nil }
        for token in location.pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let key = unescapePointerToken(token)
            switch current {
            case .object(let object):
                guard let next = object[key] else { return nil }
                current = next
            case .array(let array):
                guard let position = Int(key), position >= 0, position < array.count else { return nil }
                current = array[position]
            default:
                return nil
            }
        }
        return current
    }

    /// The base URI and resource of a location: recorded by the walk, or those of its nearest recorded ancestor.
    func locationInfo(_ location: Location) -> LocationInfo {
        var pointer = Substring(location.pointer)
        while true {
            if let found = info[Location(document: location.document, pointer: String(pointer))] { return found }
            guard let slash = pointer.lastIndex(of: "/") else { break }
            pointer = pointer[..<slash]
        }
        return LocationInfo(base: URIReference(documents[location.document].label), resource: 0)
    }

    /// The node for a location, allocated (and queued for compilation) on first use.
    mutating func node(for location: Location, value: JSONValue) -> Int {
        if let existing = nodeIndex[location] { return existing }
        let index = nodes.count
        nodes.append(SchemaNode())
        nodeIndex[location] = index
        pending.append((index, location, value))
        return index
    }

    /// Resolves `reference` against `base` to a location in a registered document.
    mutating func resolve(_ reference: String, base: URIReference, at keyword: Location) throws(JSONSchemaError) -> Location {
        let resolved = base.resolving(URIReference(reference))
        let uri = resolved.textWithoutFragment
        let rawFragment = resolved.fragment ?? ""
        let fragment = rawFragment.removingPercentEncoding ?? rawFragment
        guard let root = resourceLocations[uri] else {
            throw invalid(
                "\"\(reference)\" refers to \"\(uri)\", a document that is not registered (remote references are not fetched; "
                    + "pass it in `resources:`)",
                keyword,
                code: .remoteReference
            )
        }
        if fragment.isEmpty { return root }
        if fragment.hasPrefix("/") {
            let target = Location(document: root.document, pointer: root.pointer + fragment)
            guard value(at: target) != nil else {
                throw invalid("\"\(reference)\" points at nothing (no \"\(fragment)\" in \"\(uri)\")", keyword, code: .unresolvableReference)
            }
            return target
        }
        guard let anchor = anchors[uri + "#" + fragment] else {
            throw invalid("\"\(reference)\" names no anchor \"\(fragment)\" in \"\(uri)\"", keyword, code: .unresolvableReference)
        }
        return anchor
    }

    // MARK: Compilation

    /// Compiles every queued node (subschemas and reference targets are queued as they are met).
    mutating func compilePending() throws(JSONSchemaError) {
        while let (index, location, value) = pending.popLast() {
            let node = try compileNode(value, at: location)
            nodes[index] = node
        }
    }

    /// Compiles the `$dynamicAnchor` table of every resource that compiled nodes belong to (only those can be in a
    /// dynamic scope), until no new resource is reached.
    mutating func compileDynamicAnchors() throws(JSONSchemaError) {
        var done: Set<Int> = []
        while true {
            let reached = Set(nodes.map(\.resource)).subtracting(done)
            if reached.isEmpty { return }
            for resource in reached.sorted() where resource < resourceDynamicAnchors.count {
                for (name, location) in resourceDynamicAnchors[resource] {
                    guard let value = value(at: location) else { continue }
                    resources[resource].dynamicAnchors[name] = node(for: location, value: value)
                }
            }
            done.formUnion(reached)
            try compilePending()
        }
    }

    private func number(_ value: JSONValue, _ location: Location, _ name: String) throws(JSONSchemaError) -> JSONNumber {
        guard case .number(let number) = value else { throw invalid("\(name) must be a number", location) }
        return number
    }

    private func count(_ value: JSONValue, _ location: Location, _ name: String) throws(JSONSchemaError) -> Int {
        guard case .number(let number) = value, number.isInteger, number.doubleValue >= 0 else {
            throw invalid("\(name) must be a non-negative integer", location)
        }
        guard let exact = number.int64Value, let count = Int(exactly: exact) else { return Int.max }
        return count
    }

    private func strings(_ value: JSONValue, _ location: Location, _ name: String) throws(JSONSchemaError) -> [String] {
        guard case .array(let elements) = value else { throw invalid("\(name) must be an array of strings", location) }
        var result: [String] = []
        for element in elements {
            guard case .string(let string) = element else { throw invalid("\(name) must be an array of strings", location) }
            result.append(string)
        }
        return result
    }

    private mutating func subschema(_ value: JSONValue, _ location: Location, _ name: String) throws(JSONSchemaError) -> Int {
        switch value {
        case .object, .bool: return node(for: location, value: value)
        default: throw invalid("\(name) must be a schema (an object or a boolean)", location)
        }
    }

    private mutating func subschemas(_ value: JSONValue, _ location: Location, _ name: String) throws(JSONSchemaError) -> [Int] {
        guard case .array(let elements) = value, !elements.isEmpty || name == "prefixItems" || name == "items" else {
            throw invalid("\(name) must be a non-empty array of schemas", location)
        }
        var result: [Int] = []
        for (position, element) in elements.enumerated() {
            result.append(try subschema(element, Self.child(location, String(position)), name))
        }
        return result
    }

    private mutating func pattern(_ source: String, _ location: Location) throws(JSONSchemaError) -> SchemaPattern {
        do {
            return try SchemaPattern(source)
        } catch {
            throw invalid(error.message, location, code: .invalidPattern)
        }
    }

    private mutating func compileNode(_ value: JSONValue, at location: Location) throws(JSONSchemaError) -> SchemaNode {
        let draft = documents[location.document].draft
        let locationInfo = locationInfo(location)
        var node = SchemaNode()
        node.resource = locationInfo.resource
        switch value {
        case .bool(let accepts):
            if !accepts { node.keywords.append(Keyword(kind: .alwaysFalse, schemaPath: path(location))) }
            return node
        case .object(let object):
            try compileKeywords(object, at: location, draft: draft, base: locationInfo.base, into: &node)
            return node
        default:
            throw invalid("a schema must be an object or a boolean, not \(value.typeName)", location)
        }
    }

    private mutating func compileKeywords(
        _ object: JSONObject, at location: Location, draft: JSONSchemaDraft, base: URIReference, into compiled: inout SchemaNode
    ) throws(JSONSchemaError) {
        var keywords: [Keyword] = []
        func add(_ kind: KeywordKind, _ name: String) {
            keywords.append(Keyword(kind: kind, schemaPath: path(Self.child(location, name))))
        }
        func at(_ name: String) -> Location { Self.child(location, name) }

        if let reference = object["$ref"] {
            guard case .string(let text) = reference else { throw invalid("$ref must be a string", at("$ref")) }
            let target = try resolve(text, base: base, at: at("$ref"))
            guard let targetValue = value(at: target) else {
                throw invalid("\"\(text)\" points at nothing", at("$ref"), code: .unresolvableReference)
            }
            add(.ref(node(for: target, value: targetValue)), "$ref")
            if draft != .draft2020_12 {
                compiled.keywords = keywords
                return
            }
        }
        if draft == .draft2020_12, let reference = object["$dynamicRef"] {
            guard case .string(let text) = reference else { throw invalid("$dynamicRef must be a string", at("$dynamicRef")) }
            let target = try resolve(text, base: base, at: at("$dynamicRef"))
            guard let targetValue = value(at: target) else {
                throw invalid("\"\(text)\" points at nothing", at("$dynamicRef"), code: .unresolvableReference)
            }
            var anchor: Int?
            let fragment = base.resolving(URIReference(text)).fragment ?? ""
            if !fragment.isEmpty, !fragment.hasPrefix("/"), case .string(let declared)? = targetValue["$dynamicAnchor"],
                declared == fragment
            {
                anchor = internAnchor(fragment)
            }
            add(.dynamicRef(node(for: target, value: targetValue), anchor: anchor), "$dynamicRef")
        }

        let validation = documents[location.document].validationVocabulary
        if validation, let type = object["type"] {
            var set = JSONTypeSet()
            let names: [String]
            switch type {
            case .string(let name): names = [name]
            case .array: names = try strings(type, at("type"), "type")
            default: throw invalid("type must be a string or an array of strings", at("type"))
            }
            for name in names {
                guard let one = JSONTypeSet(name: name) else { throw invalid("\"\(name)\" is not a JSON type", at("type")) }
                set.insert(one)
            }
            add(.type(set), "type")
        }
        if validation, let value = object["enum"] {
            guard case .array(let options) = value else { throw invalid("enum must be an array", at("enum")) }
            add(.enumeration(options), "enum")
        }
        if validation, draft != .draft4, let value = object["const"] { add(.constant(value), "const") }

        // Numbers.
        if validation, let value = object["multipleOf"] {
            let divisor = try number(value, at("multipleOf"), "multipleOf")
            guard divisor.doubleValue > 0 else { throw invalid("multipleOf must be greater than 0", at("multipleOf")) }
            add(.multipleOf(divisor), "multipleOf")
        }
        if !validation {
            // The validation vocabulary is off.
        } else if draft == .draft4 {
            if let value = object["minimum"] {
                let limit = try number(value, at("minimum"), "minimum")
                var exclusive = false
                if let flag = object["exclusiveMinimum"] {
                    guard case .bool(let isExclusive) = flag else {
                        throw invalid("exclusiveMinimum must be a boolean in draft-04", at("exclusiveMinimum"))
                    }
                    exclusive = isExclusive
                }
                add(exclusive ? .exclusiveMinimum(limit) : .minimum(limit), exclusive ? "exclusiveMinimum" : "minimum")
            }
            if let value = object["maximum"] {
                let limit = try number(value, at("maximum"), "maximum")
                var exclusive = false
                if let flag = object["exclusiveMaximum"] {
                    guard case .bool(let isExclusive) = flag else {
                        throw invalid("exclusiveMaximum must be a boolean in draft-04", at("exclusiveMaximum"))
                    }
                    exclusive = isExclusive
                }
                add(exclusive ? .exclusiveMaximum(limit) : .maximum(limit), exclusive ? "exclusiveMaximum" : "maximum")
            }
        } else {
            if let value = object["minimum"] { add(.minimum(try number(value, at("minimum"), "minimum")), "minimum") }
            if let value = object["maximum"] { add(.maximum(try number(value, at("maximum"), "maximum")), "maximum") }
            if let value = object["exclusiveMinimum"] {
                add(.exclusiveMinimum(try number(value, at("exclusiveMinimum"), "exclusiveMinimum")), "exclusiveMinimum")
            }
            if let value = object["exclusiveMaximum"] {
                add(.exclusiveMaximum(try number(value, at("exclusiveMaximum"), "exclusiveMaximum")), "exclusiveMaximum")
            }
        }

        // Strings.
        if validation, let value = object["minLength"] { add(.minLength(try count(value, at("minLength"), "minLength")), "minLength") }
        if validation, let value = object["maxLength"] { add(.maxLength(try count(value, at("maxLength"), "maxLength")), "maxLength") }
        if validation, let value = object["pattern"] {
            guard case .string(let source) = value else { throw invalid("pattern must be a string", at("pattern")) }
            add(.pattern(try pattern(source, at("pattern"))), "pattern")
        }

        // Arrays.
        if draft == .draft2020_12 {
            var prefixCount = 0
            if let value = object["prefixItems"] {
                let schemas = try subschemas(value, at("prefixItems"), "prefixItems")
                prefixCount = schemas.count
                add(.prefixItems(schemas), "prefixItems")
            }
            if let value = object["items"] {
                add(.itemsFrom(start: prefixCount, schema: try subschema(value, at("items"), "items")), "items")
            }
        } else if let value = object["items"] {
            if case .array = value {
                let schemas = try subschemas(value, at("items"), "items")
                add(.prefixItems(schemas), "items")
                if let additional = object["additionalItems"] {
                    let schema = try subschema(additional, at("additionalItems"), "additionalItems")
                    add(.itemsFrom(start: schemas.count, schema: schema), "additionalItems")
                }
            } else {
                add(.itemsFrom(start: 0, schema: try subschema(value, at("items"), "items")), "items")
            }
        }
        if draft != .draft4, let value = object["contains"] {
            let schema = try subschema(value, at("contains"), "contains")
            var minimum = 1
            var maximum: Int?
            if draft == .draft2020_12, validation {
                if let value = object["minContains"] { minimum = try count(value, at("minContains"), "minContains") }
                if let value = object["maxContains"] { maximum = try count(value, at("maxContains"), "maxContains") }
            }
            add(.contains(schema: schema, minimum: minimum, maximum: maximum), "contains")
        }
        if validation, let value = object["minItems"] { add(.minItems(try count(value, at("minItems"), "minItems")), "minItems") }
        if validation, let value = object["maxItems"] { add(.maxItems(try count(value, at("maxItems"), "maxItems")), "maxItems") }
        if validation, let value = object["uniqueItems"] {
            guard case .bool(let unique) = value else { throw invalid("uniqueItems must be a boolean", at("uniqueItems")) }
            if unique { add(.uniqueItems, "uniqueItems") }
        }

        // Objects.
        var known: Set<String> = []
        var patterns: [SchemaPattern] = []
        if let value = object["properties"] {
            guard case .object(let map) = value else { throw invalid("properties must be an object", at("properties")) }
            var entries: [(name: String, schema: Int)] = []
            for (name, sub) in map {
                entries.append((name, try subschema(sub, Self.child(location, "properties", name), "a property schema")))
                known.insert(name)
            }
            add(.properties(entries), "properties")
        }
        if let value = object["patternProperties"] {
            guard case .object(let map) = value else { throw invalid("patternProperties must be an object", at("patternProperties")) }
            var entries: [(pattern: SchemaPattern, schema: Int)] = []
            for (source, sub) in map {
                let where_ = Self.child(location, "patternProperties", source)
                let compiled = try pattern(source, where_)
                entries.append((compiled, try subschema(sub, where_, "a pattern property schema")))
                patterns.append(compiled)
            }
            add(.patternProperties(entries), "patternProperties")
        }
        if let value = object["additionalProperties"] {
            let schema = try subschema(value, at("additionalProperties"), "additionalProperties")
            add(.additionalProperties(schema: schema, known: known, patterns: patterns), "additionalProperties")
        }
        if validation, let value = object["required"] { add(.required(try strings(value, at("required"), "required")), "required") }
        if draft != .draft2020_12, let value = object["dependencies"] {
            guard case .object(let map) = value else { throw invalid("dependencies must be an object", at("dependencies")) }
            var required: [(name: String, required: [String])] = []
            var schemas: [(name: String, schema: Int)] = []
            for (name, dependency) in map {
                let where_ = Self.child(location, "dependencies", name)
                if case .array = dependency {
                    required.append((name, try strings(dependency, where_, "a dependency")))
                } else {
                    schemas.append((name, try subschema(dependency, where_, "a dependency")))
                }
            }
            if !required.isEmpty { add(.dependentRequired(required), "dependencies") }
            if !schemas.isEmpty { add(.dependentSchemas(schemas), "dependencies") }
        }
        if validation, draft == .draft2020_12, let value = object["dependentRequired"] {
            guard case .object(let map) = value else { throw invalid("dependentRequired must be an object", at("dependentRequired")) }
            var required: [(name: String, required: [String])] = []
            for (name, names) in map {
                required.append((name, try strings(names, Self.child(location, "dependentRequired", name), "a dependentRequired entry")))
            }
            add(.dependentRequired(required), "dependentRequired")
        }
        if draft == .draft2020_12, let value = object["dependentSchemas"] {
            guard case .object(let map) = value else { throw invalid("dependentSchemas must be an object", at("dependentSchemas")) }
            var schemas: [(name: String, schema: Int)] = []
            for (name, sub) in map {
                schemas.append((name, try subschema(sub, Self.child(location, "dependentSchemas", name), "a dependent schema")))
            }
            add(.dependentSchemas(schemas), "dependentSchemas")
        }
        if draft != .draft4, let value = object["propertyNames"] {
            add(.propertyNames(try subschema(value, at("propertyNames"), "propertyNames")), "propertyNames")
        }
        if validation, let value = object["minProperties"] {
            add(.minProperties(try count(value, at("minProperties"), "minProperties")), "minProperties")
        }
        if validation, let value = object["maxProperties"] {
            add(.maxProperties(try count(value, at("maxProperties"), "maxProperties")), "maxProperties")
        }

        // Applicators.
        if let value = object["allOf"] { add(.allOf(try subschemas(value, at("allOf"), "allOf")), "allOf") }
        if let value = object["anyOf"] { add(.anyOf(try subschemas(value, at("anyOf"), "anyOf")), "anyOf") }
        if let value = object["oneOf"] { add(.oneOf(try subschemas(value, at("oneOf"), "oneOf")), "oneOf") }
        if let value = object["not"] { add(.not(try subschema(value, at("not"), "not")), "not") }
        if draft != .draft4, let value = object["if"] {
            let condition = try subschema(value, at("if"), "if")
            let then = try object["then"].map { (sub) throws(JSONSchemaError) in try subschema(sub, at("then"), "then") }
            let otherwise = try object["else"].map { (sub) throws(JSONSchemaError) in try subschema(sub, at("else"), "else") }
            add(.conditional(condition: condition, then: then, else: otherwise), "if")
        }

        // Last: they need the annotations of everything above.
        if draft == .draft2020_12 {
            if let value = object["unevaluatedItems"] {
                add(.unevaluatedItems(try subschema(value, at("unevaluatedItems"), "unevaluatedItems")), "unevaluatedItems")
                compiled.needsAnnotations = true
            }
            if let value = object["unevaluatedProperties"] {
                let schema = try subschema(value, at("unevaluatedProperties"), "unevaluatedProperties")
                add(.unevaluatedProperties(schema), "unevaluatedProperties")
                compiled.needsAnnotations = true
            }
        }
        compiled.keywords = keywords
    }
}
