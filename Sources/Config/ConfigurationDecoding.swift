internal import Yams

/// A position in the configuration file as problems show it: `streams[2].app`,
/// `kafka.properties["linger.ms"]`, `""` for the root.
struct ConfigPath: CustomStringConvertible, Sendable {
    static let root = ConfigPath(description: "")

    let description: String

    func key(_ key: String) -> ConfigPath {
        let simple =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy { scalar in
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "_" || scalar == "-"
            }
        if simple {
            return ConfigPath(description: description.isEmpty ? key : "\(description).\(key)")
        }
        var escaped = ""
        for character in key {
            if character == "\\" || character == "\"" { escaped.append("\\") }
            escaped.append(character)
        }
        return ConfigPath(description: "\(description)[\"\(escaped)\"]")
    }

    func index(_ index: Int) -> ConfigPath {
        ConfigPath(description: "\(description)[\(index)]")
    }
}

/// Allowed range of an integer setting: always closed at both ends, so that every later conversion of the value
/// (to bytes, nanoseconds, milliseconds) stays far from `Int.max`.
struct IntegerBounds: CustomStringConvertible {
    var minimum: Int
    var maximum: Int

    static func between(_ minimum: Int, _ maximum: Int) -> IntegerBounds {
        IntegerBounds(minimum: minimum, maximum: maximum)
    }

    func contains(_ value: Int) -> Bool { value >= minimum && value <= maximum }

    /// `1…1048576`.
    var description: String { "\(minimum)…\(maximum)" }
}

/// Allowed range of a number setting, closed at both ends.
struct NumberBounds: CustomStringConvertible {
    var minimum: Double
    var maximum: Double

    static func between(_ minimum: Double, _ maximum: Double) -> NumberBounds {
        NumberBounds(minimum: minimum, maximum: maximum)
    }

    func contains(_ value: Double) -> Bool { value >= minimum && value <= maximum }

    /// `0.001…900`.
    var description: String { "\(formatNumber(minimum))…\(formatNumber(maximum))" }
}

/// How a scalar's text reads as a number of some kind.
enum ParsedNumber<Value> {
    /// A well-formed value that fits.
    case value(Value)
    /// Well formed, but too large in magnitude to represent (`99999999999999999999`, `1e999`).
    case outOfRange
    /// Not a number of this kind at all.
    case invalid
}

func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
}

/// Limits that keep decoding linear in the size of the file, whatever it holds.
enum DecodingLimits {
    /// Longest scalar, in UTF-8 bytes, after environment substitution.
    static let maxScalarBytes = 65_536
    /// Characters of a value quoted in a message before it is cut with `…`.
    static let maxQuotedCharacters = 80
    /// How many mappings merge keys (`<<: *base`) may pull in across the whole file.
    static let maxMergedMappings = 1_000
}

/// What a YAML value is, once environment references are substituted.
enum ScalarResolution {
    /// A plain `null`, `~` or empty value; the payload describes it for messages.
    case null(String)
    /// A scalar; `display` quotes it for messages (and names the original when substitution changed it);
    /// `origin` is that naming part alone (` (from '${PORT}')`, or empty).
    case text(String, display: String, origin: String)
    /// Not a scalar: the payload describes what it is (`a mapping`, `a list`).
    case notScalar(String)
    /// The substitution failed; the problems are already reported.
    case failed
}

/// Collects problems while the YAML tree is turned into a `Configuration`.
final class DecodingContext {
    let environment: [String: String]
    /// Mappings pulled in by merge keys so far (bounded by ``DecodingLimits/maxMergedMappings``).
    var mergedMappings = 0
    private(set) var errors: [ConfigurationProblem] = []
    private(set) var warnings: [ConfigurationProblem] = []

    init(environment: [String: String]) {
        self.environment = environment
    }

    func error(_ path: ConfigPath, _ message: String, at mark: Mark?) {
        errors.append(ConfigurationProblem(path: path.description, message: message, line: mark?.line, column: mark?.column))
    }

    func warning(_ path: ConfigPath, _ message: String, at mark: Mark?) {
        warnings.append(ConfigurationProblem(path: path.description, message: message, line: mark?.line, column: mark?.column))
    }

    // MARK: Scalars

    /// Describes a node for "expected …, got …" messages, without substituting anything.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(scalar) { return scalar.string.isEmpty ? "an empty value" : "null" }
            return quote(scalar.string)
        }
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        isPlain(scalar) && isNullText(scalar.string)
    }

    static func isPlain(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain || scalar.style == .any
    }

    static func isNullText(_ text: String) -> Bool {
        text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    static func quote(_ text: String) -> String {
        "'\(shorten(text))'"
    }

    /// `text`, cut to ``DecodingLimits/maxQuotedCharacters`` with `…` and its length, so that a huge value
    /// (from the environment, say) does not make a huge message.
    static func shorten(_ text: String) -> String {
        var count = 0
        var end = text.startIndex
        while end < text.endIndex {
            if count == DecodingLimits.maxQuotedCharacters {
                return "\(text[..<end])… (\(text.utf8.count) bytes)"
            }
            count += 1
            end = text.index(after: end)
        }
        return text
    }

    /// Substitutes `${…}` in a scalar and classifies the result.
    func resolve(_ node: Node, _ path: ConfigPath) -> ScalarResolution {
        guard case .scalar(let scalar) = node else {
            return .notScalar(Self.describe(node))
        }
        let result = EnvironmentSubstitution.substitute(
            scalar.string, environment: environment, maxBytes: DecodingLimits.maxScalarBytes)
        guard result.problems.isEmpty else {
            for message in result.problems {
                error(path, message, at: scalar.mark)
            }
            return .failed
        }
        let origin = result.substituted && result.text != scalar.string ? " (from \(Self.quote(scalar.string)))" : ""
        if result.text.utf8.count > DecodingLimits.maxScalarBytes {
            // Only a literal can get here: substitution stops at the limit itself.
            error(
                path, "the value is \(result.text.utf8.count) bytes long; at most \(DecodingLimits.maxScalarBytes) are allowed",
                at: scalar.mark)
            return .failed
        }
        if result.text.unicodeScalars.contains("\u{0}") {
            // A NUL would silently cut the value short wherever it reaches C (paths, host names, librdkafka).
            error(path, "the value contains a NUL character (U+0000)\(origin)", at: scalar.mark)
            return .failed
        }
        if Self.isPlain(scalar), Self.isNullText(result.text) {
            return .null((result.text.isEmpty ? "an empty value" : "null") + origin)
        }
        return .text(result.text, display: Self.quote(result.text) + origin, origin: origin)
    }

    /// Reads a scalar that `convert` accepts; reports "expected \(expected), got …" otherwise.
    func typed<T>(_ node: Node, _ path: ConfigPath, expected: String, _ convert: (String) -> T?) -> T? {
        typed(resolve(node, path), node, path, expected: expected, convert)
    }

    /// As `typed(_:_:expected:_:)`, for a value already resolved.
    func typed<T>(
        _ resolution: ScalarResolution, _ node: Node, _ path: ConfigPath, expected: String,
        _ convert: (String) -> T?
    ) -> T? {
        switch resolution {
        case .failed:
            return nil
        case .notScalar(let found), .null(let found):
            error(path, "expected \(expected), got \(found)", at: node.mark)
            return nil
        case .text(let text, let display, _):
            if let value = convert(text) { return value }
            error(path, "expected \(expected), got \(display)", at: node.mark)
            return nil
        }
    }

    func integer(_ node: Node, _ path: ConfigPath, _ bounds: IntegerBounds) -> Int? {
        integer(resolve(node, path), node, path, bounds)
    }

    /// An integer within `bounds`; anything else is a problem naming the range
    /// (`99999999999 is out of range 1…1048576`), also when the text is too large for any integer type.
    func integer(_ resolution: ScalarResolution, _ node: Node, _ path: ConfigPath, _ bounds: IntegerBounds) -> Int? {
        bounded(
            resolution, node, path, expected: "an integer", range: bounds.description, parse: Self.parseInteger,
            contains: bounds.contains)
    }

    /// A number within `bounds`, as `integer`.
    func number(_ node: Node, _ path: ConfigPath, _ bounds: NumberBounds) -> Double? {
        bounded(
            resolve(node, path), node, path, expected: "a number", range: bounds.description, parse: Self.parseNumber,
            contains: bounds.contains)
    }

    private func bounded<Value>(
        _ resolution: ScalarResolution, _ node: Node, _ path: ConfigPath, expected: String, range: String,
        parse: (String) -> ParsedNumber<Value>, contains: (Value) -> Bool
    ) -> Value? {
        switch resolution {
        case .failed:
            return nil
        case .notScalar(let found), .null(let found):
            error(path, "expected \(expected), got \(found)", at: node.mark)
            return nil
        case .text(let text, let display, let origin):
            switch parse(text) {
            case .invalid:
                error(path, "expected \(expected), got \(display)", at: node.mark)
                return nil
            case .value(let value) where contains(value):
                return value
            case .value, .outOfRange:
                error(path, "\(Self.shorten(text)) is out of range \(range)\(origin)", at: node.mark)
                return nil
            }
        }
    }

    func boolean(_ node: Node, _ path: ConfigPath) -> Bool? {
        typed(node, path, expected: "a boolean (true or false)", Self.parseBoolean)
    }

    /// Any scalar, as written (numbers and booleans included); `validate` returns the problems with it.
    func string(_ node: Node, _ path: ConfigPath, validate: (String) -> [String]) -> String? {
        string(resolve(node, path), node, path, validate: validate)
    }

    func string(
        _ resolution: ScalarResolution, _ node: Node, _ path: ConfigPath,
        validate: (String) -> [String]
    ) -> String? {
        guard let value = typed(resolution, node, path, expected: "a string", { $0 }) else { return nil }
        let problems = validate(value)
        for problem in problems {
            error(path, problem, at: node.mark)
        }
        return problems.isEmpty ? value : nil
    }

    /// One of `options` (case-sensitive), with a "did you mean" hint.
    func choice(_ node: Node, _ path: ConfigPath, _ options: [String]) -> String? {
        let list = options.map(Self.quote).joined(separator: ", ")
        switch resolve(node, path) {
        case .failed:
            return nil
        case .notScalar(let found), .null(let found):
            error(path, "expected one of \(list), got \(found)", at: node.mark)
            return nil
        case .text(let text, let display, _):
            if options.contains(text) { return text }
            var message = "expected one of \(list), got \(display)"
            if let suggestion = suggestion(for: text, among: options) {
                message += " (did you mean '\(suggestion)'?)"
            }
            error(path, message, at: node.mark)
            return nil
        }
    }

    // MARK: Parsing scalars

    /// Decimal (`8080`, `-1`, `+5`), hexadecimal (`0x1F`) or octal (`0o17`) integers, as YAML 1.2;
    /// `.outOfRange` for well-formed integers beyond `Int` (any number of digits is read in one linear pass).
    static func parseInteger(_ text: String) -> ParsedNumber<Int> {
        var body = Substring(text)
        var negative = false
        if let first = body.first, first == "-" || first == "+" {
            negative = first == "-"
            body = body.dropFirst()
        }
        var radix = 10
        if body.hasPrefix("0x") {
            radix = 16
            body = body.dropFirst(2)
        } else if body.hasPrefix("0o") {
            radix = 8
            body = body.dropFirst(2)
        }
        guard !body.isEmpty else { return .invalid }
        var value = 0
        var overflowed = false
        for scalar in body.unicodeScalars {
            let digit: Int
            switch scalar {
            case "0"..."9": digit = Int(scalar.value - 48)
            case "a"..."f": digit = Int(scalar.value - 87)
            case "A"..."F": digit = Int(scalar.value - 55)
            default: return .invalid
            }
            guard digit < radix else { return .invalid }
            guard !overflowed else { continue }
            // Accumulate negatively: `Int.min` has no positive counterpart.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
            let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { overflowed = true } else { value = next }
        }
        if overflowed { return .outOfRange }
        if negative { return .value(value) }
        let (positive, overflow) = (0).subtractingReportingOverflow(value)
        return overflow ? .outOfRange : .value(positive)
    }

    /// Integers and decimal numbers (`5`, `0.5`, `.5`, `1e3`); not `.inf` or `.nan`; `.outOfRange` for
    /// well-formed numbers beyond `Double` (`1e999`).
    static func parseNumber(_ text: String) -> ParsedNumber<Double> {
        let integer = parseInteger(text)
        if case .value(let value) = integer { return .value(Double(value)) }
        if case .outOfRange = integer, text.contains("0x") || text.contains("0o") { return .outOfRange }
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
            return index - start
        }
        if index < scalars.count, scalars[index] == "-" || scalars[index] == "+" { index += 1 }
        var mantissaDigits = digits()
        if index < scalars.count, scalars[index] == "." {
            index += 1
            mantissaDigits += digits()
        }
        guard mantissaDigits > 0 else { return .invalid }
        if index < scalars.count, scalars[index] == "e" || scalars[index] == "E" {
            index += 1
            if index < scalars.count, scalars[index] == "-" || scalars[index] == "+" { index += 1 }
            guard digits() > 0 else { return .invalid }
        }
        guard index == scalars.count, let value = Double(text) else { return .invalid }
        return value.isFinite ? .value(value) : .outOfRange
    }

    /// Only YAML 1.2 booleans: `true`/`false` (also `True`, `TRUE`, `False`, `FALSE`); not `yes`, `on`, `1`.
    static func parseBoolean(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }
}

// MARK: - Mappings

/// Reads one YAML mapping: every key read through `take` is a known key; `finish()` reports the others.
final class MappingReader {
    struct Entry {
        var key: String
        var keyMark: Mark?
        var value: Node
    }

    let context: DecodingContext
    let path: ConfigPath
    let mark: Mark?
    private let entries: [Entry]
    private var known: [String] = []
    private var unsupported: [String: String] = [:]

    private init(context: DecodingContext, path: ConfigPath, mark: Mark?, entries: [Entry]) {
        self.context = context
        self.path = path
        self.mark = mark
        self.entries = entries
    }

    /// A reader for `node`: a mapping, or null (an empty mapping). Reports a problem and returns nil otherwise.
    static func open(_ node: Node, _ path: ConfigPath, _ context: DecodingContext, expected: String = "a mapping")
        -> MappingReader?
    {
        switch node {
        case .scalar(let scalar) where DecodingContext.isNull(scalar):
            return MappingReader(context: context, path: path, mark: scalar.mark, entries: [])
        case .mapping(let mapping):
            var entries: [Entry] = []
            collect(mapping, path: path, context: context, into: &entries)
            return MappingReader(context: context, path: path, mark: mapping.mark, entries: entries)
        default:
            context.error(path, "expected \(expected), got \(DecodingContext.describe(node))", at: node.mark)
            return nil
        }
    }

    /// The entries of a mapping, with YAML merge keys (`<<: *base`) expanded: explicit keys win.
    private static func collect(
        _ mapping: Node.Mapping, path: ConfigPath, context: DecodingContext,
        into entries: inout [Entry]
    ) {
        var merged: [Node.Mapping] = []
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key else {
                context.error(path, "keys must be strings, got \(DecodingContext.describe(key))", at: key.mark)
                continue
            }
            if keyScalar.string == "<<", DecodingContext.isPlain(keyScalar) {
                switch value {
                case .mapping(let base):
                    merged.append(base)
                case .sequence(let bases) where bases.allSatisfy({ $0.mapping != nil }):
                    merged += bases.compactMap(\.mapping)
                default:
                    context.error(
                        path.key("<<"), "a merge key needs a mapping or a list of mappings, got \(DecodingContext.describe(value))", at: value.mark)
                }
                continue
            }
            entries.append(Entry(key: keyScalar.string, keyMark: keyScalar.mark, value: value))
        }
        for base in merged {
            // Aliases of aliases can make merges exponential in the file's size ("billion laughs"): cap the total.
            context.mergedMappings += 1
            if context.mergedMappings == DecodingLimits.maxMergedMappings + 1 {
                context.error(
                    path.key("<<"),
                    "merge keys pull in more than \(DecodingLimits.maxMergedMappings) mappings in this file; "
                        + "flatten the anchors", at: mapping.mark)
            }
            if context.mergedMappings > DecodingLimits.maxMergedMappings { return }
            var inherited: [Entry] = []
            collect(base, path: path, context: context, into: &inherited)
            for entry in inherited where !entries.contains(where: { $0.key == entry.key }) {
                entries.append(entry)
            }
        }
    }

    /// The value of `key` (nil when absent); `key` becomes a known key.
    func take(_ key: String) -> Node? {
        known.append(key)
        return entries.first { $0.key == key }?.value
    }

    /// Whether `key` is present (without making it known).
    func contains(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// Every entry, all made known (for free-form maps such as `kafka.properties`).
    func takeAll() -> [Entry] {
        known += entries.map(\.key)
        return entries
    }

    /// Reports `key`, when present, with `message` instead of the generic unknown-key problem.
    func unsupported(_ key: String, _ message: String) {
        unsupported[key] = message
    }

    /// Reports every key that was neither taken nor declared unsupported.
    func finish() {
        for entry in entries where !known.contains(entry.key) {
            let entryPath = path.key(entry.key)
            if let message = unsupported[entry.key] {
                context.error(entryPath, message, at: entry.keyMark)
                continue
            }
            var message = "unknown key"
            if let suggestion = suggestion(for: entry.key, among: known) {
                message += " (did you mean '\(suggestion)'?)"
            }
            context.error(entryPath, message, at: entry.keyMark)
        }
    }

    // MARK: Typed fields

    private func missing(_ key: String, _ detail: String = "") {
        context.error(path.key(key), "missing" + detail, at: mark)
    }

    /// Reads `key` into `target` when present. Returns false when the value was present but invalid.
    @discardableResult
    func integer(_ key: String, _ bounds: IntegerBounds, into target: inout Int) -> Bool {
        guard let node = take(key) else { return true }
        guard let value = context.integer(node, path.key(key), bounds) else { return false }
        target = value
        return true
    }

    /// As `integer`, with null meaning "not set".
    @discardableResult
    func optionalInteger(_ key: String, _ bounds: IntegerBounds, into target: inout Int?) -> Bool {
        guard let node = take(key) else { return true }
        let resolution = context.resolve(node, path.key(key))
        if case .null = resolution {
            target = nil
            return true
        }
        guard let value = context.integer(resolution, node, path.key(key), bounds) else { return false }
        target = value
        return true
    }

    @discardableResult
    func number(_ key: String, _ bounds: NumberBounds, into target: inout Double) -> Bool {
        guard let node = take(key) else { return true }
        guard let value = context.number(node, path.key(key), bounds) else { return false }
        target = value
        return true
    }

    @discardableResult
    func boolean(_ key: String, into target: inout Bool) -> Bool {
        guard let node = take(key) else { return true }
        guard let value = context.boolean(node, path.key(key)) else { return false }
        target = value
        return true
    }

    @discardableResult
    func string(_ key: String, into target: inout String, validate: (String) -> [String] = nonEmpty) -> Bool {
        guard let node = take(key) else { return true }
        guard let value = context.string(node, path.key(key), validate: validate) else { return false }
        target = value
        return true
    }

    /// As `string`, with null meaning "not set".
    @discardableResult
    func optionalString(_ key: String, into target: inout String?, validate: (String) -> [String] = nonEmpty) -> Bool {
        guard let node = take(key) else { return true }
        // Null, or an unquoted `${VAR:-}` that comes out empty, means "not set".
        let resolution = context.resolve(node, path.key(key))
        if case .null = resolution {
            target = nil
            return true
        }
        guard let value = context.string(resolution, node, path.key(key), validate: validate) else { return false }
        target = value
        return true
    }

    /// A required string: reports `missing` when absent or null.
    func requiredString(_ key: String, validate: (String) -> [String] = nonEmpty) -> String? {
        guard let node = take(key) else {
            missing(key)
            return nil
        }
        let resolution = context.resolve(node, path.key(key))
        if case .null = resolution {
            missing(key)
            return nil
        }
        return context.string(resolution, node, path.key(key), validate: validate)
    }

    @discardableResult
    func choice(_ key: String, _ options: [String], into target: inout String) -> Bool {
        guard let node = take(key) else { return true }
        guard let value = context.choice(node, path.key(key), options) else { return false }
        target = value
        return true
    }

    @discardableResult
    func choice<Option: RawRepresentable<String> & CaseIterable>(_ key: String, into target: inout Option) -> Bool {
        guard let node = take(key) else { return true }
        guard let raw = context.choice(node, path.key(key), Option.allCases.map(\.rawValue)),
            let value = Option(rawValue: raw)
        else { return false }
        target = value
        return true
    }

    /// Opens the sub-mapping at `key` (nil when absent or not a mapping).
    func mapping(_ key: String) -> MappingReader? {
        guard let node = take(key) else { return nil }
        return MappingReader.open(node, path.key(key), context)
    }
}

/// The default string check: not empty.
func nonEmpty(_ value: String) -> [String] {
    value.isEmpty ? ["must not be empty"] : []
}

// MARK: - Suggestions

/// The candidate closest to `word` (Damerau–Levenshtein, ignoring case), if within distance 2
/// (and within half the candidate's length, so that short words are not "corrected" into unrelated ones).
func suggestion(for word: String, among candidates: [String]) -> String? {
    var best: (candidate: String, distance: Int)?
    let lowered = Array(word.lowercased())
    for candidate in candidates {
        let distance = editDistance(lowered, Array(candidate.lowercased()))
        guard distance <= min(2, candidate.count / 2) else { continue }
        if distance < best?.distance ?? Int.max {
            best = (candidate, distance)
        }
    }
    return best?.candidate
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previousPrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], previousPrevious[j - 2] + 1)
            }
        }
        previousPrevious = previous
        previous = current
    }
    return previous[b.count]
}
