/// A JSON Schema compiled once (references resolved, patterns compiled, keywords checked) and then run on any
/// number of instances, from any number of threads: it is immutable.
///
/// ```swift
/// let schema = try CompiledSchema(schemaBytes: Array(text.utf8))
/// if !schema.isValid(payload) { report(schema.validate(payload)) }
/// ```
public struct CompiledSchema: Sendable {
    /// The dialect the schema is compiled as.
    public let draft: JSONSchemaDraft
    /// The most violations ``validate(_:)`` collects (so a hostile instance cannot produce megabytes of errors).
    public let violationLimit: Int

    private let nodes: [SchemaNode]
    private let resources: [SchemaResource]
    private let root: Int

    /// The violations collected by default.
    public static let defaultViolationLimit = 100

    /// Compiles a schema.
    /// - Parameters:
    ///   - schema: The schema document.
    ///   - draft: The dialect; `nil` reads `$schema` (and uses 2020-12 when there is none). An explicit draft wins.
    ///   - resources: Other schema documents `$ref` may name, by URI (nothing is ever fetched): for example
    ///     `["https://example.com/address.json": addressSchema]`. Each may declare its own `$schema`.
    ///   - violationLimit: The most violations ``validate(_:)`` collects.
    /// - Throws: ``JSONSchemaError`` with the schema path of the problem: a keyword of the wrong type, a bad
    ///   pattern, a `$ref` to nothing or to a document that was not registered, an unknown `$schema`.
    public init(
        schema: JSONValue, draft: JSONSchemaDraft? = nil, resources: [String: JSONValue] = [:],
        violationLimit: Int = CompiledSchema.defaultViolationLimit
    ) throws(JSONSchemaError) {
        var chosen = draft ?? .draft2020_12
        if draft == nil, case .string(let declared)? = schema["$schema"] {
            // A custom metaschema registered in `resources` stands for the draft it is written in.
            var metaschemaDraft: JSONSchemaDraft?
            if let metaschema = resources[declared] ?? resources[URIReference(declared).textWithoutFragment] {
                if case .string(let itsDraft)? = metaschema["$schema"] {
                    metaschemaDraft = JSONSchemaDraft(schemaURI: itsDraft)
                }
            }
            guard let named = JSONSchemaDraft(schemaURI: declared) ?? metaschemaDraft else {
                throw JSONSchemaError(
                    code: .unsupportedDraft,
                    message: "$schema \"\(declared)\" is not draft-04, draft-07 or 2020-12 (pass `draft:` to choose one)",
                    schemaPath: "/$schema"
                )
            }
            chosen = named
        }
        var compiler = SchemaCompiler()
        try compiler.addDocument(schema, uri: "", draft: chosen, explicit: true)
        for uri in resources.keys.sorted() {
            guard let document = resources[uri] else { continue }
            try compiler.addDocument(document, uri: uri, draft: chosen, explicit: false)
        }
        compiler.applyVocabularies()
        let root = compiler.node(for: SchemaCompiler.Location(document: 0, pointer: ""), value: schema)
        try compiler.compilePending()
        try compiler.compileDynamicAnchors()
        self.draft = chosen
        self.violationLimit = max(1, violationLimit)
        self.nodes = compiler.nodes
        self.resources = compiler.resources
        self.root = root
    }

    /// Parses (with `EnvelopeScanner.validate`) and compiles a schema; see ``init(schema:draft:resources:violationLimit:)``.
    public init(
        schemaBytes: [UInt8], draft: JSONSchemaDraft? = nil, resources: [String: JSONValue] = [:],
        violationLimit: Int = CompiledSchema.defaultViolationLimit
    ) throws(JSONSchemaError) {
        let schema = try JSONValue(parsing: schemaBytes)
        try self.init(schema: schema, draft: draft, resources: resources, violationLimit: violationLimit)
    }

    /// Every violation of the schema by `instance` (at most ``violationLimit``); empty when it is valid.
    public func validate(_ instance: JSONValue) -> [SchemaViolation] {
        var evaluator = SchemaEvaluator(nodes: nodes, resources: resources, violationLimit: violationLimit)
        var evaluated = EvaluatedSet()
        let valid = evaluator.evaluate(root, instance, collect: true, track: false, evaluated: &evaluated)
        if let reason = evaluator.abandoned, valid || evaluator.violations.isEmpty {
            return [SchemaViolation(instancePath: "", schemaPath: "", message: "the schema cannot be evaluated: \(reason)")]
        }
        if !valid && evaluator.violations.isEmpty {
            return [SchemaViolation(instancePath: "", schemaPath: "", message: "the value does not match the schema")]
        }
        return evaluator.violations
    }

    /// Whether `instance` satisfies the schema: stops at the first failure and builds no messages.
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = SchemaEvaluator(nodes: nodes, resources: resources, violationLimit: violationLimit)
        var evaluated = EvaluatedSet()
        let valid = evaluator.evaluate(root, instance, collect: false, track: false, evaluated: &evaluated)
        return valid && evaluator.abandoned == nil
    }

    /// Parses `bytes` (with `EnvelopeScanner.validate`) and validates the value.
    /// - Throws: ``JSONSchemaError`` when the bytes are not JSON.
    public func validate(bytes: [UInt8]) throws(JSONSchemaError) -> [SchemaViolation] {
        validate(try JSONValue(parsing: bytes))
    }

    /// Builds the tree of bytes the gateway has already validated and validates it.
    /// - Throws: ``JSONSchemaError`` when the bytes are not JSON after all.
    public func validate(validatedBytes bytes: UnsafeRawBufferPointer) throws(JSONSchemaError) -> [SchemaViolation] {
        validate(try JSONValue(parsingValidated: bytes))
    }

    /// Builds the tree of already validated bytes and says whether it satisfies the schema.
    /// - Throws: ``JSONSchemaError`` when the bytes are not JSON after all.
    public func isValid(validatedBytes bytes: UnsafeRawBufferPointer) throws(JSONSchemaError) -> Bool {
        isValid(try JSONValue(parsingValidated: bytes))
    }
}
