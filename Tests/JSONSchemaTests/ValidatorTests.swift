import Foundation
import JSONSchema
import Testing

private func json(_ text: String) throws -> JSONValue {
    try JSONValue(parsing: text)
}

private func compile(_ text: String, draft: JSONSchemaDraft? = nil) throws -> CompiledSchema {
    try CompiledSchema(schema: json(text), draft: draft)
}

/// What `CompiledSchema.init` threw, or `nil` when it compiled.
private func compileError(_ text: String, draft: JSONSchemaDraft? = nil) throws -> JSONSchemaError? {
    let value = try json(text)
    do {
        _ = try CompiledSchema(schema: value, draft: draft)
        return nil
    } catch {
        return error
    }
}

@Suite("JSON Schema validator")
struct ValidatorTests {
    // MARK: Violations

    @Test("violations carry the instance path and the keyword's schema path")
    func violationPaths() throws {
        let schema = try compile(
            """
            {"type": "object", "required": ["name"],
             "properties": {
               "age": {"type": "integer", "minimum": 0},
               "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
               "address": {"$ref": "#/$defs/address"}},
             "$defs": {"address": {"type": "object", "properties": {"zip": {"pattern": "^[0-9]{5}$"}}}}}
            """
        )
        let violations = schema.validate(try json(#"{"age": -1, "tags": ["ok", "toolong", 7], "address": {"zip": "1234"}}"#))
        #expect(
            violations.map { [$0.instancePath, $0.schemaPath] } == [
                ["/age", "/properties/age/minimum"],
                ["/tags/1", "/properties/tags/items/maxLength"],
                ["/tags/2", "/properties/tags/items/type"],
                ["/address/zip", "/$defs/address/properties/zip/pattern"],
                ["", "/required"],
            ]
        )
        #expect(violations[0].message.contains("minimum"))
        #expect(violations[4].message.contains("\"name\""))
        #expect(!schema.isValid(try json(#"{"name": "x", "age": -1}"#)))
        #expect(schema.isValid(try json(#"{"name": "x", "age": 3, "tags": ["a"], "address": {"zip": "12345"}}"#)))
        #expect(schema.validate(try json(#"{"name": "x"}"#)).isEmpty)
    }

    @Test("member names in instance paths are escaped (RFC 6901)")
    func escapedInstancePath() throws {
        let schema = try compile(#"{"additionalProperties": {"type": "string"}}"#)
        let violations = schema.validate(try json(#"{"a/b~c": 1}"#))
        #expect(violations.map(\.instancePath) == ["/a~1b~0c"])
        #expect(violations.map(\.schemaPath) == ["/additionalProperties/type"])
    }

    @Test("the number of violations is capped")
    func violationCap() throws {
        let schema = try CompiledSchema(schema: json(#"{"items": {"type": "string"}}"#), violationLimit: 10)
        let instance = JSONValue.array(Array(repeating: .number(JSONNumber(1)), count: 10_000))
        #expect(schema.validate(instance).count == 10)
        #expect(!schema.isValid(instance))
    }

    // MARK: Drafts

    @Test("the draft comes from $schema, and an explicit draft wins")
    func draftDetection() throws {
        #expect(try compile(#"{"$schema": "http://json-schema.org/draft-04/schema#"}"#).draft == .draft4)
        #expect(try compile(#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#).draft == .draft7)
        #expect(try compile(#"{"$schema": "https://json-schema.org/draft/2020-12/schema"}"#).draft == .draft2020_12)
        #expect(try compile("{}").draft == .draft2020_12)
        #expect(try compile(#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#, draft: .draft4).draft == .draft4)
        #expect(try compileError(#"{"$schema": "http://example.com/custom"}"#)?.code == .unsupportedDraft)
        // draft-04's boolean exclusiveMaximum, draft-07's numeric one.
        let draft4 = try compile(#"{"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": true}"#)
        #expect(!draft4.isValid(.number(JSONNumber(5))))
        #expect(draft4.isValid(.number(JSONNumber(4))))
        let draft7 = try compile(#"{"$schema": "http://json-schema.org/draft-07/schema#", "exclusiveMaximum": 5}"#)
        #expect(!draft7.isValid(.number(JSONNumber(5))))
        // Siblings of $ref: ignored before 2020-12, applied in it.
        let siblings = ##"{"$defs": {"any": {}}, "definitions": {"any": {}}, "$ref": "#/definitions/any", "type": "string"}"##
        #expect(try compile(siblings, draft: .draft7).isValid(.number(JSONNumber(1))))
        #expect(try !compile(siblings, draft: .draft2020_12).isValid(.number(JSONNumber(1))))
    }

    // MARK: Invalid schemas

    @Test("invalid schemas throw with the schema path")
    func invalidSchemas() throws {
        let wrongType = try compileError(#"{"properties": {"a": {"minimum": "zero"}}}"#)
        #expect(wrongType?.code == .invalidSchema)
        #expect(wrongType?.schemaPath == "/properties/a/minimum")
        let badPattern = try compileError(#"{"properties": {"a": {"pattern": "(unclosed"}}}"#)
        #expect(badPattern?.code == .invalidPattern)
        #expect(badPattern?.schemaPath == "/properties/a/pattern")
        let dangling = try compileError(##"{"items": {"$ref": "#/$defs/missing"}}"##)
        #expect(dangling?.code == .unresolvableReference)
        #expect(dangling?.schemaPath == "/items/$ref")
        let remote = try compileError(#"{"$ref": "https://example.com/other.json"}"#)
        #expect(remote?.code == .remoteReference)
        #expect(remote?.message.contains("https://example.com/other.json") == true)
        #expect(try compileError(#"{"type": "strin"}"#)?.schemaPath == "/type")
        #expect(try compileError(#"{"minLength": -1}"#)?.schemaPath == "/minLength")
        #expect(try compileError(#"{"allOf": {}}"#)?.schemaPath == "/allOf")
        #expect(try compileError("[]")?.code == .invalidSchema)
    }

    @Test("registered resources serve remote references")
    func resources() throws {
        let address = try json(#"{"type": "object", "required": ["zip"]}"#)
        let schema = try CompiledSchema(
            schema: json(#"{"properties": {"home": {"$ref": "https://example.com/address.json"}}}"#),
            resources: ["https://example.com/address.json": address]
        )
        let violations = schema.validate(try json(#"{"home": {}}"#))
        #expect(violations.map(\.schemaPath) == ["https://example.com/address.json#/required"])
        #expect(violations.map(\.instancePath) == ["/home"])
    }

    // MARK: Hostile input

    @Test(
        "reference cycles that consume no instance do not hang",
        arguments: [
            ##"{"$ref": "#"}"##,
            ##"{"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}"##,
            ##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}"##,
            ##"{"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}"##,
        ])
    func referenceCycles(schemaText: String) throws {
        let schema = try compile(schemaText)
        #expect(!schema.isValid(.null))
        #expect(!schema.validate(try json(#"{"a": [1, 2]}"#)).isEmpty)
    }

    @Test("recursion that consumes the instance works to the depth limit and fails beyond it, without crashing")
    func deepNesting() throws {
        let schema = try compile(##"{"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#"}}]}"##)
        let nested = String(repeating: "[", count: 120) + "1" + String(repeating: "]", count: 120)
        #expect(schema.isValid(try json(nested)))
        // Deeper than the parser allows: a typed error, not a crash.
        let tooDeep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSchemaError.self) { try json(tooDeep) }
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsingValidated: Array(tooDeep.utf8)) }
        // A tree built in code, deeper than evaluation goes.
        var value = JSONValue.number(JSONNumber(1))
        for _ in 0..<300 { value = .array([value]) }
        #expect(!schema.isValid(value))
        #expect(!schema.validate(value).isEmpty)
    }

    @Test("a long chain of references stops at the evaluation depth limit, without exhausting the stack")
    func longReferenceChain() throws {
        var definitions: [(key: String, value: JSONValue)] = []
        for index in 0..<5_000 {
            let reference = JSONValue.object(JSONObject([(key: "$ref", value: .string("#/$defs/d\(index + 1)"))]))
            definitions.append((key: "d\(index)", value: reference))
        }
        definitions.append((key: "d5000", value: .object(JSONObject([(key: "type", value: .string("string"))]))))
        let root = JSONObject([(key: "$defs", value: .object(JSONObject(definitions))), (key: "$ref", value: .string("#/$defs/d0"))])
        let schema = try CompiledSchema(schema: .object(root))
        #expect(!schema.isValid(.string("x")))
        #expect(schema.validate(.string("x")).first?.message.contains("too deeply") == true)
    }

    @Test(
        "parsing invalid bytes throws, with or without the scanner",
        arguments: [
            "", "{", "[1,", #"{"a" 1}"#, "tru", "\"abc", #""\u12""#, "-", "1e", "01", "[1 2]", "{\"a\":1}}", "nul",
        ])
    func invalidBytes(text: String) {
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsing: text) }
        let bytes = Array(text.utf8)
        // The unchecked path may accept some oddities the scanner rejects, but never crashes.
        _ = try? JSONValue(parsingValidated: bytes)
    }

    @Test("invalid UTF-8 is rejected by the checked parser and survives the unchecked one")
    func invalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsing: bytes) }
        #expect((try? JSONValue(parsingValidated: bytes)) == .string("\u{FFFD}\u{FFFD}"))
    }

    @Test("random bytes never crash the unchecked parser")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,-+.eE0123456789tfnrule\ "#.utf8)
        for _ in 0..<2_000 {
            let count = Int.random(in: 0..<40, using: &generator)
            let bytes = (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            _ = try? JSONValue(parsingValidated: bytes)
        }
    }

    // MARK: Numbers

    @Test("big numbers keep integer-ness and exact order")
    func bigNumbers() throws {
        let integer = try compile(#"{"type": "integer"}"#)
        #expect(integer.isValid(try json("123456789012345678901234567890")))
        #expect(integer.isValid(try json("1e400")))
        #expect(integer.isValid(try json("1.0")))
        #expect(!integer.isValid(try json("1.5")))
        #expect(!integer.isValid(try json("1e-400")))
        let maximum = try compile(#"{"maximum": 9223372036854775807}"#)
        #expect(maximum.isValid(try json("9223372036854775807")))
        #expect(!maximum.isValid(try json("9223372036854775808")))
        #expect(try json("1") == json("1.0"))
        #expect(try json("1e2") == json("100"))
        #expect(try json(#"{"a": 1, "b": [2.50]}"#) == json(#"{"b": [2.5], "a": 1.0}"#))
        let unique = try compile(#"{"uniqueItems": true}"#)
        #expect(!unique.isValid(try json("[1, 1.0]")))
        let many = JSONValue.array((0..<5_000).map { .number(JSONNumber($0)) } + [.number(JSONNumber(4_999.0))])
        #expect(!unique.isValid(many))
    }

    @Test("number literals parse to the correctly rounded double, and integer-ness is exact")
    func numberLiterals() throws {
        var generator = SystemRandomNumberGenerator()
        var literals = [
            "-0", "0.0", "1E5", "1.5e-3", "-2.50", "123456789012345678", "12345678901234567890", "9223372036854775808",
            "-9223372036854775808", "4.35", "0.1", "1e22", "1e23", "123456789.123456789e-5", "5e-324", "1.7976931348623157e308",
        ]
        for _ in 0..<2_000 {
            let integer = String(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0..<64, using: &generator))
            let fraction = String(UInt32.random(in: 0...UInt32.max, using: &generator))
            let exponent = Int.random(in: -30...30, using: &generator)
            literals.append("\(integer).\(fraction)e\(exponent)")
            literals.append("-\(integer).\(fraction)")
        }
        for literal in literals {
            guard case .number(let number) = try json(literal) else {
                Issue.record("\(literal) is not a number")
                continue
            }
            #expect(number.doubleValue == Double(literal), "\(literal)")
            if let exact = Int64(literal) { #expect(number.int64Value == exact, "\(literal)") }
        }
        #expect(try json("9223372036854775808") != json("9223372036854775807"))
        #expect(try json("0.1") == .number(JSONNumber(0.1)))
        #expect(try json("2") == .number(JSONNumber(2.0)))
        guard case .number(let big) = try json("9223372036854775808") else { return }
        #expect(big.isInteger && big.int64Value == nil)
    }

    @Test("multipleOf is exact for decimals")
    func multipleOfDecimals() throws {
        let schema = try compile(#"{"multipleOf": 0.0001}"#)
        #expect(schema.isValid(try json("0.0075")))
        #expect(!schema.isValid(try json("0.00751")))
        let cents = try compile(#"{"multipleOf": 0.01}"#)
        #expect(cents.isValid(try json("19.99")))
        #expect(cents.isValid(try json("4.35")))
        #expect(!cents.isValid(try json("4.355")))
        let tenth = try compile(#"{"multipleOf": 0.1}"#)
        #expect(tenth.isValid(try json("0.3")))
        let huge = try compile(#"{"multipleOf": 0.123456789}"#)
        #expect(!huge.isValid(try json("1e308")))
    }

    @Test("string lengths count code points")
    func codePoints() throws {
        let schema = try compile(#"{"maxLength": 2, "minLength": 2}"#)
        #expect(schema.isValid(.string("💩💩")))
        #expect(schema.isValid(.string("é\u{301}")))
        #expect(!schema.isValid(.string("abc")))
    }

    @Test("objects keep member order and find members by key")
    func objectOrder() throws {
        let members = (0..<50).map { (key: "k\($0)", value: JSONValue.number(JSONNumber($0))) }
        let object = JSONObject(members)
        #expect(object.keys.first == "k0")
        #expect(object.keys.last == "k49")
        #expect(object["k37"] == .number(JSONNumber(37)))
        #expect(object["missing"] == nil)
        guard case .object(let parsed) = try json(#"{"z": 1, "a": 2, "z": 3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(parsed.keys == ["z", "a"])
        #expect(parsed["z"] == .number(JSONNumber(3)))
    }

    @Test("a compiled schema is shared across threads")
    func concurrentUse() async throws {
        // `s` uses ICU (a group, and a non-ASCII string), `n` the plain keywords.
        let schema = try compile(
            #"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}, "s": {"pattern": "^(ab)+é$"}}}"#
        )
        let good = try json(#"{"n": 5, "s": "ababé"}"#)
        let bad = try json(#"{"n": 5, "s": "abaé"}"#)
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    var agrees = true
                    for _ in 0..<200 { agrees = agrees && schema.isValid(index.isMultiple(of: 2) ? good : bad) == index.isMultiple(of: 2) }
                    return agrees
                }
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0 })
    }

    @Test("the linear-time pattern matcher agrees with ICU on its subset")
    func patternsAgreeWithICU() throws {
        let patterns = [
            "^[a-z0-9-]+$", "^[0-9a-f-]{36}$", "^[a-z]+\\.[a-z]+$", "^sku-[0-9]+$", "a+b", "^a*$", "x?y{2,3}z*", "\\d{2,}",
            "^\\w+@\\w+\\.com$", "[^a-c]", "^.{3}$", "b{0,2}c", "^$", "a.c", "[-a]", "[a-]x", "\\$", "^ab|cd$", "(ab)+",
            "^[A-Z][a-z]*\\s\\S+$",
        ]
        let alphabet = Array("abcdxyz0129-_.@ $AB".unicodeScalars)
        var generator = SystemRandomNumberGenerator()
        for source in patterns {
            let schema = try CompiledSchema(schema: .object(JSONObject([(key: "pattern", value: .string(source))])))
            let regex = try NSRegularExpression(pattern: source)
            for _ in 0..<400 {
                let count = Int.random(in: 0..<12, using: &generator)
                var string = ""
                for _ in 0..<count { string.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]) }
                let expected = regex.firstMatch(in: string, range: NSRange(location: 0, length: string.utf16.count)) != nil
                #expect(schema.isValid(.string(string)) == expected, "pattern \(source) on \"\(string)\"")
            }
        }
        #expect(try compile(#"{"pattern": ""}"#).isValid(.string("anything")))
        // A pattern that backtracks badly in ICU stays linear here.
        let slow = try compile(#"{"pattern": "^a*a*a*a*a*a*b$"}"#)
        #expect(!slow.isValid(.string(String(repeating: "a", count: 5_000))))
    }

    @Test("format is an annotation only")
    func formatIsNotAsserted() throws {
        let schema = try compile(#"{"format": "email"}"#)
        #expect(schema.isValid(.string("not an email")))
    }
}
