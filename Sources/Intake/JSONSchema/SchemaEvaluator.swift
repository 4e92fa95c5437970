import Foundation

/// Which members of an object, or items of an array, the keywords evaluated at one instance location have
/// successfully evaluated (the annotations `unevaluatedProperties` and `unevaluatedItems` read).
struct EvaluatedSet {
    /// Every member or item.
    var all = false
    /// One bit per member position (objects) or index (arrays).
    var words: [UInt64] = []

    @inline(__always)
    mutating func insert(_ position: Int) {
        let word = position >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word &- words.count &+ 1)) }
        words[word] |= 1 << UInt64(position & 63)
    }

    @inline(__always)
    func contains(_ position: Int) -> Bool {
        if all { return true }
        let word = position >> 6
        return word < words.count && words[word] & (1 << UInt64(position & 63)) != 0
    }

    mutating func formUnion(_ other: EvaluatedSet) {
        if other.all { all = true }
        if all { return }
        if other.words.count > words.count { words.append(contentsOf: repeatElement(0, count: other.words.count &- words.count)) }
        for (position, word) in other.words.enumerated() { words[position] |= word }
    }
}

/// One component of the instance path.
enum InstancePathComponent {
    case key(String)
    case index(Int)
}

/// One validation run: the violations found so far, the instance path, the dynamic scope, and the `$ref`s being
/// followed (for cycle detection). Created per call; the compiled schema itself is never mutated.
struct SchemaEvaluator {
    let nodes: [SchemaNode]
    let resources: [SchemaResource]
    let violationLimit: Int
    var violations: [SchemaViolation] = []
    /// The path of the instance location, kept only while collecting violations.
    var instancePath: [InstancePathComponent] = []
    var dynamicScope: [Int] = []
    /// The `$ref`s being followed: (target node, instance location id). Revisiting a pair means a cycle.
    var references: [(node: Int, location: Int)] = []
    /// An id of the instance location being evaluated: changes whenever evaluation descends into the instance.
    var location = 0
    var nextLocation = 1
    /// Nested `evaluate` calls (bounds the native stack whatever the schema and instance).
    var depth = 0
    /// How deep in the instance evaluation is.
    var instanceDepth = 0
    /// Why evaluation had to give up somewhere (a reference cycle, too deep): the whole instance is then invalid, even
    /// if the failure happened under a `not` or in a discarded `anyOf` branch.
    var abandoned: String?

    /// The most nested evaluations; deeper schema/instance combinations fail with a violation instead of crashing.
    static let maxEvaluationDepth = 600
    /// The deepest instance nesting evaluated.
    static let maxInstanceDepth = 128

    init(nodes: [SchemaNode], resources: [SchemaResource], violationLimit: Int) {
        self.nodes = nodes
        self.resources = resources
        self.violationLimit = violationLimit
    }

    var pointer: String {
        var result = ""
        for component in instancePath {
            switch component {
            case .key(let key): result += "/" + escapePointerToken(key)
            case .index(let index): result += "/" + String(index)
            }
        }
        return result
    }

    /// Records a violation when collecting. Always returns `false`, so keyword checks can `return fail(...)`.
    @inline(__always)
    mutating func fail(_ collect: Bool, _ keyword: Keyword, _ message: @autoclosure () -> String) -> Bool {
        if collect && violations.count < violationLimit {
            violations.append(SchemaViolation(instancePath: pointer, schemaPath: keyword.schemaPath, message: message()))
        }
        return false
    }

    private var limitReached: Bool { violations.count >= violationLimit }

    /// Evaluates node `index` against `instance`.
    /// - Parameters:
    ///   - collect: Record violations (else stop at the first failure and record nothing).
    ///   - track: Fill `evaluated` with the members/items this node evaluated successfully.
    mutating func evaluate(
        _ index: Int, _ instance: JSONValue, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        guard index >= 0, index < nodes.count else { return false }
        let node = nodes[index]
        if node.keywords.isEmpty { return true }
        depth &+= 1
        defer { depth &-= 1 }
        if depth > Self.maxEvaluationDepth || instanceDepth > Self.maxInstanceDepth {
            abandoned = "the schema and instance nest too deeply to evaluate"
            if collect && violations.count < violationLimit {
                violations.append(
                    SchemaViolation(
                        instancePath: pointer, schemaPath: node.keywords[0].schemaPath,
                        message: "the schema and instance nest too deeply to evaluate"
                    )
                )
            }
            return false
        }
        let pushedScope = dynamicScope.last != node.resource
        if pushedScope { dynamicScope.append(node.resource) }
        defer { if pushedScope { dynamicScope.removeLast() } }

        if node.needsAnnotations && !track {
            // The node's own `unevaluated*` see only the annotations of its own keywords.
            var local = EvaluatedSet()
            return run(node.keywords, instance, collect: collect, track: true, evaluated: &local)
        }
        return run(node.keywords, instance, collect: collect, track: track, evaluated: &evaluated)
    }

    private mutating func run(
        _ keywords: [Keyword], _ instance: JSONValue, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        var valid = true
        for keyword in keywords where !check(keyword, instance, collect: collect, track: track, evaluated: &evaluated) {
            valid = false
            if !collect || limitReached { return false }
        }
        return valid
    }

    /// Evaluates a subschema at a child location of the instance (a member or an item).
    @inline(__always)
    private mutating func evaluateChild(
        _ index: Int, _ value: JSONValue, _ component: InstancePathComponent, collect: Bool
    ) -> Bool {
        let savedLocation = location
        location = nextLocation
        nextLocation &+= 1
        // The path is only needed to report violations, and only collecting evaluations report.
        if collect { instancePath.append(component) }
        instanceDepth &+= 1
        var childEvaluated = EvaluatedSet()
        let valid = evaluate(index, value, collect: collect, track: false, evaluated: &childEvaluated)
        instanceDepth &-= 1
        if collect { instancePath.removeLast() }
        location = savedLocation
        return valid
    }

    /// Evaluates an in-place subschema whose annotations count only if it passes.
    @inline(__always)
    private mutating func evaluateInPlace(
        _ index: Int, _ instance: JSONValue, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        if !track { return evaluate(index, instance, collect: collect, track: false, evaluated: &evaluated) }
        var local = EvaluatedSet()
        let valid = evaluate(index, instance, collect: collect, track: true, evaluated: &local)
        if valid { evaluated.formUnion(local) }
        return valid
    }

    private mutating func follow(
        _ target: Int, _ instance: JSONValue, keyword: Keyword, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        var position = references.count &- 1
        while position >= 0, references[position].location == location {
            if references[position].node == target {
                abandoned = "a reference cycle leads back to itself without consuming the instance"
                return fail(collect, keyword, "reference cycle: this reference leads back to itself without consuming the instance")
            }
            position &-= 1
        }
        references.append((target, location))
        defer { references.removeLast() }
        return evaluateInPlace(target, instance, collect: collect, track: track, evaluated: &evaluated)
    }

    // MARK: Keywords

    private mutating func check(
        _ keyword: Keyword, _ instance: JSONValue, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        switch keyword.kind {
        case .alwaysFalse:
            return fail(collect, keyword, "no value is allowed here (the schema is false)")
        case .type(let types):
            if types.matches(instance) { return true }
            return fail(collect, keyword, "expected \(types.names), got \(instance.typeName)")
        case .enumeration(let options):
            if options.contains(instance) { return true }
            return fail(collect, keyword, "the value is not one of the \(options.count) allowed values")
        case .constant(let expected):
            if instance == expected { return true }
            return fail(collect, keyword, "the value is not the required constant")
        case .ref(let target):
            return follow(target, instance, keyword: keyword, collect: collect, track: track, evaluated: &evaluated)
        case .dynamicRef(let target, let anchor):
            var resolved = target
            if let anchor {
                for resource in dynamicScope {
                    if resource < resources.count, let found = resources[resource].dynamicAnchors[anchor] {
                        resolved = found
                        break
                    }
                }
            }
            return follow(resolved, instance, keyword: keyword, collect: collect, track: track, evaluated: &evaluated)
        case .allOf(let schemas):
            var valid = true
            for schema in schemas where !evaluateInPlace(schema, instance, collect: collect, track: track, evaluated: &evaluated) {
                valid = false
                if !collect || limitReached { return false }
            }
            return valid
        case .anyOf(let schemas):
            var matched = false
            for schema in schemas where evaluateInPlace(schema, instance, collect: false, track: track, evaluated: &evaluated) {
                matched = true
                if !track { break }
            }
            if matched { return true }
            return fail(collect, keyword, "the value matches none of the \(schemas.count) schemas of anyOf")
        case .oneOf(let schemas):
            var matches = 0
            var local = EvaluatedSet()
            for schema in schemas where evaluateInPlace(schema, instance, collect: false, track: track, evaluated: &local) {
                matches &+= 1
                if matches > 1 { break }
            }
            if matches == 1 {
                if track { evaluated.formUnion(local) }
                return true
            }
            if matches == 0 { return fail(collect, keyword, "the value matches none of the \(schemas.count) schemas of oneOf") }
            return fail(collect, keyword, "the value matches more than one schema of oneOf")
        case .not(let schema):
            var ignored = EvaluatedSet()
            if !evaluate(schema, instance, collect: false, track: false, evaluated: &ignored) { return true }
            return fail(collect, keyword, "the value must not match the schema of not")
        case .conditional(let condition, let then, let otherwise):
            if evaluateInPlace(condition, instance, collect: false, track: track, evaluated: &evaluated) {
                guard let then else { return true }
                return evaluateInPlace(then, instance, collect: collect, track: track, evaluated: &evaluated)
            }
            guard let otherwise else { return true }
            return evaluateInPlace(otherwise, instance, collect: collect, track: track, evaluated: &evaluated)
        default:
            break
        }
        switch instance {
        case .number(let number): return checkNumber(keyword, number, collect: collect)
        case .string(let string): return checkString(keyword, string, collect: collect)
        case .array(let array): return checkArray(keyword, array, collect: collect, track: track, evaluated: &evaluated)
        case .object(let object): return checkObject(keyword, object, collect: collect, track: track, evaluated: &evaluated)
        default: return true
        }
    }

    private mutating func checkNumber(_ keyword: Keyword, _ number: JSONNumber, collect: Bool) -> Bool {
        switch keyword.kind {
        case .multipleOf(let divisor):
            if number.isMultiple(of: divisor) { return true }
            return fail(collect, keyword, "\(number) is not a multiple of \(divisor)")
        case .minimum(let limit):
            if JSONNumber.compare(number, limit) != .orderedAscending { return true }
            return fail(collect, keyword, "\(number) is less than the minimum \(limit)")
        case .exclusiveMinimum(let limit):
            if JSONNumber.compare(number, limit) == .orderedDescending { return true }
            return fail(collect, keyword, "\(number) is not greater than \(limit)")
        case .maximum(let limit):
            if JSONNumber.compare(number, limit) != .orderedDescending { return true }
            return fail(collect, keyword, "\(number) is greater than the maximum \(limit)")
        case .exclusiveMaximum(let limit):
            if JSONNumber.compare(number, limit) == .orderedAscending { return true }
            return fail(collect, keyword, "\(number) is not less than \(limit)")
        default:
            return true
        }
    }

    private mutating func checkString(_ keyword: Keyword, _ string: String, collect: Bool) -> Bool {
        switch keyword.kind {
        case .minLength(let minimum):
            // Code points: a fast bound from the UTF-8 length first.
            if string.utf8.count >= minimum &* 4 && minimum < Int.max / 4 { return true }
            let length = string.unicodeScalars.count
            if length >= minimum { return true }
            return fail(collect, keyword, "the string has \(length) characters, fewer than \(minimum)")
        case .maxLength(let maximum):
            if string.utf8.count <= maximum { return true }
            let length = string.unicodeScalars.count
            if length <= maximum { return true }
            return fail(collect, keyword, "the string has \(length) characters, more than \(maximum)")
        case .pattern(let pattern):
            if pattern.matches(string) { return true }
            return fail(collect, keyword, "the string does not match the pattern \"\(pattern.source)\"")
        default:
            return true
        }
    }

    private mutating func checkArray(
        _ keyword: Keyword, _ array: [JSONValue], collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        switch keyword.kind {
        case .prefixItems(let schemas):
            var valid = true
            for (position, schema) in schemas.enumerated() where position < array.count {
                if !evaluateChild(schema, array[position], .index(position), collect: collect) {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            if valid && track {
                for position in 0..<min(schemas.count, array.count) { evaluated.insert(position) }
            }
            return valid
        case .itemsFrom(let start, let schema):
            var valid = true
            var position = start
            while position < array.count {
                if !evaluateChild(schema, array[position], .index(position), collect: collect) {
                    valid = false
                    if !collect || limitReached { return false }
                }
                position &+= 1
            }
            if valid && track && start < array.count {
                if start == 0 {
                    evaluated.all = true
                } else {
                    for position in start..<array.count { evaluated.insert(position) }
                }
            }
            return valid
        case .contains(let schema, let minimum, let maximum):
            var matches = 0
            for (position, item) in array.enumerated() where evaluateChild(schema, item, .index(position), collect: false) {
                matches &+= 1
                if track { evaluated.insert(position) }
                if !track, matches >= minimum, maximum == nil { break }
            }
            if matches < minimum {
                if minimum == 1 { return fail(collect, keyword, "no item matches the schema of contains") }
                return fail(collect, keyword, "\(matches) items match the schema of contains, fewer than \(minimum)")
            }
            if let maximum, matches > maximum {
                return fail(collect, keyword, "\(matches) items match the schema of contains, more than \(maximum)")
            }
            return true
        case .minItems(let minimum):
            if array.count >= minimum { return true }
            return fail(collect, keyword, "the array has \(array.count) items, fewer than \(minimum)")
        case .maxItems(let maximum):
            if array.count <= maximum { return true }
            return fail(collect, keyword, "the array has \(array.count) items, more than \(maximum)")
        case .uniqueItems:
            if array.count < 2 { return true }
            if array.count <= 16 {
                for first in 0..<array.count {
                    for second in (first &+ 1)..<array.count where array[first] == array[second] {
                        return fail(collect, keyword, "items \(first) and \(second) are equal")
                    }
                }
                return true
            }
            var seen: [JSONValue: Int] = [:]
            seen.reserveCapacity(array.count)
            for (position, item) in array.enumerated() {
                if let earlier = seen.updateValue(position, forKey: item) {
                    return fail(collect, keyword, "items \(earlier) and \(position) are equal")
                }
            }
            return true
        case .unevaluatedItems(let schema):
            var valid = true
            for (position, item) in array.enumerated() where !evaluated.contains(position) {
                if !evaluateChild(schema, item, .index(position), collect: collect) {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            if valid { evaluated.all = true }
            return valid
        default:
            return true
        }
    }

    private mutating func checkObject(
        _ keyword: Keyword, _ object: JSONObject, collect: Bool, track: Bool, evaluated: inout EvaluatedSet
    ) -> Bool {
        switch keyword.kind {
        case .properties(let entries):
            var valid = true
            for (name, schema) in entries {
                guard let position = object.position(of: name) else { continue }
                if evaluateChild(schema, object.values[position], .key(name), collect: collect) {
                    if track { evaluated.insert(position) }
                } else {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            return valid
        case .patternProperties(let entries):
            var valid = true
            for (position, key) in object.keys.enumerated() {
                for (pattern, schema) in entries where pattern.matches(key) {
                    if evaluateChild(schema, object.values[position], .key(key), collect: collect) {
                        if track { evaluated.insert(position) }
                    } else {
                        valid = false
                        if !collect || limitReached { return false }
                    }
                }
            }
            return valid
        case .additionalProperties(let schema, let known, let patterns):
            var valid = true
            for (position, key) in object.keys.enumerated() {
                if known.contains(key) || patterns.contains(where: { $0.matches(key) }) { continue }
                if evaluateChild(schema, object.values[position], .key(key), collect: collect) {
                    if track { evaluated.insert(position) }
                } else {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            return valid
        case .required(let names):
            var valid = true
            for name in names where object.position(of: name) == nil {
                valid = fail(collect, keyword, "the required property \"\(name)\" is missing")
                if !collect || limitReached { return false }
            }
            return valid
        case .dependentRequired(let entries):
            var valid = true
            for (name, required) in entries where object.position(of: name) != nil {
                for other in required where object.position(of: other) == nil {
                    valid = fail(collect, keyword, "the property \"\(other)\" is required when \"\(name)\" is present")
                    if !collect || limitReached { return false }
                }
            }
            return valid
        case .dependentSchemas(let entries):
            var valid = true
            for (name, schema) in entries where object.position(of: name) != nil {
                if !evaluateInPlace(schema, .object(object), collect: collect, track: track, evaluated: &evaluated) {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            return valid
        case .propertyNames(let schema):
            for key in object.keys where !evaluateChild(schema, .string(key), .key(key), collect: false) {
                return fail(collect, keyword, "the property name \"\(key)\" does not match the schema of propertyNames")
            }
            return true
        case .minProperties(let minimum):
            if object.count >= minimum { return true }
            return fail(collect, keyword, "the object has \(object.count) properties, fewer than \(minimum)")
        case .maxProperties(let maximum):
            if object.count <= maximum { return true }
            return fail(collect, keyword, "the object has \(object.count) properties, more than \(maximum)")
        case .unevaluatedProperties(let schema):
            var valid = true
            for (position, key) in object.keys.enumerated() where !evaluated.contains(position) {
                if !evaluateChild(schema, object.values[position], .key(key), collect: collect) {
                    valid = false
                    if !collect || limitReached { return false }
                }
            }
            if valid { evaluated.all = true }
            return valid
        default:
            return true
        }
    }
}
