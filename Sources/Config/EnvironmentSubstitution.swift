/// `${NAME}` and `${NAME:-default}` substitution in configuration values.
///
/// - `${NAME}` is replaced by `environment[NAME]`; an unset variable is a problem.
/// - `${NAME:-default}` is replaced by the variable, or by `default` when it is unset or empty (as in the shell);
///   the default may itself hold references (`${A:-${B:-x}}`), evaluated only when it is used.
/// - `$${` is a literal `${`; a `$` not followed by `{` is kept as is.
/// - A value taken from the environment is never substituted again.
///
/// Hostile input gives a problem, never a crash or unbounded work: the result stops growing past `maxBytes`
/// (`${A}${A}${A}…` with a large `A`), defaults nest at most ``maxNesting`` deep (the scanner recurses once per
/// level), and a variable whose value is not valid UTF-8 (decoded with U+FFFD replacement characters) is refused
/// rather than used half-garbled. NUL characters are refused by the caller, on the final value.
enum EnvironmentSubstitution {
    /// How deep `${A:-${B:-…}}` may nest.
    static let maxNesting = 16

    struct Result: Equatable {
        /// The text after substitution.
        var text: String
        /// Whether the text held any `${…}` or `$${` (so `text` may differ from the original).
        var substituted: Bool
        /// One message per problem: unset variable, malformed reference.
        var problems: [String]
    }

    static func substitute(_ text: String, environment: [String: String], maxBytes: Int = .max) -> Result {
        // Fast path: most values hold no `$` at all.
        guard text.utf8.contains(UInt8(ascii: "$")) else {
            return Result(text: text, substituted: false, problems: [])
        }
        var scanner = Scanner(scalars: Array(text.unicodeScalars), environment: environment, maxBytes: maxBytes)
        var part = scanner.scan(depth: 0)
        if scanner.tooLong {
            part.problems.append("the value is longer than \(maxBytes) bytes after substitution")
        }
        return Result(text: part.text, substituted: scanner.substituted, problems: part.problems)
    }

    private struct Part {
        var text = ""
        var problems: [String] = []
        var closed = false
    }

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        let environment: [String: String]
        let maxBytes: Int
        var index = 0
        var substituted = false
        /// Set once the text reached `maxBytes`: scanning stops.
        var tooLong = false
        /// Set once defaults nested deeper than `maxNesting`: scanning stops.
        var tooDeep = false

        init(scalars: [Unicode.Scalar], environment: [String: String], maxBytes: Int) {
            self.scalars = scalars
            self.environment = environment
            self.maxBytes = maxBytes
        }

        /// Appends `text`, or stops the scan when the result would pass `maxBytes`.
        private mutating func append(_ text: String, to part: inout Part) {
            guard !tooLong else { return }
            if part.text.utf8.count + text.utf8.count > maxBytes {
                tooLong = true
                index = scalars.count
                return
            }
            part.text += text
        }

        /// The value of `name`, or a problem when it is not valid UTF-8.
        private func lookUp(_ name: String, into part: inout Part) -> String? {
            guard let value = environment[name] else { return nil }
            if value.unicodeScalars.contains("\u{FFFD}") {
                part.problems.append("environment variable '\(DecodingContext.shorten(name))' is not valid UTF-8 text")
                return ""
            }
            return value
        }

        private func scalar(at offset: Int) -> Unicode.Scalar? {
            offset < scalars.count ? scalars[offset] : nil
        }

        /// Scans up to the end of the text, or (inside a default, `depth` > 0) up to its closing `}`.
        mutating func scan(depth: Int) -> Part {
            let insideDefault = depth > 0
            var part = Part()
            while index < scalars.count, !tooLong {
                let current = scalars[index]
                if insideDefault, current == "}" {
                    index += 1
                    part.closed = true
                    return part
                }
                if current == "$", scalar(at: index + 1) == "$", scalar(at: index + 2) == "{" {
                    index += 3
                    append("${", to: &part)
                    substituted = true
                    continue
                }
                if current == "$", scalar(at: index + 1) == "{" {
                    substituted = true
                    reference(into: &part, depth: depth)
                    continue
                }
                index += 1
                append(String(current), to: &part)
            }
            return part
        }

        /// Reads `${NAME}` or `${NAME:-default}` starting at `index` (which is on the `$`).
        private mutating func reference(into part: inout Part, depth: Int) {
            let start = index
            index += 2
            var name = ""
            while let next = scalar(at: index),
                next == "_" || ("a"..."z").contains(next)
                    || ("A"..."Z").contains(next) || ("0"..."9").contains(next)
            {
                name.unicodeScalars.append(next)
                index += 1
            }
            let validName = name.unicodeScalars.first.map { !("0"..."9").contains($0) } ?? false
            let shown = DecodingContext.shorten(name)
            if validName, scalar(at: index) == "}" {
                index += 1
                if let value = lookUp(name, into: &part) {
                    append(value, to: &part)
                } else {
                    part.problems.append(
                        "environment variable '\(shown)' is not set (write '${\(shown):-default}' to give a default)")
                }
                return
            }
            if validName, scalar(at: index) == ":", scalar(at: index + 1) == "-" {
                index += 2
                guard depth < EnvironmentSubstitution.maxNesting else {
                    part.problems.append("defaults nested more than \(EnvironmentSubstitution.maxNesting) deep")
                    tooDeep = true
                    index = scalars.count
                    return
                }
                let fallback = scan(depth: depth + 1)
                guard !tooLong else { return }
                if tooDeep {
                    part.problems += fallback.problems
                    return
                }
                guard fallback.closed else {
                    part.problems.append("unterminated '${\(shown):-' (missing '}')")
                    return
                }
                if let value = lookUp(name, into: &part), !value.isEmpty {
                    append(value, to: &part)
                } else {
                    append(fallback.text, to: &part)
                    part.problems += fallback.problems
                }
                return
            }
            // Malformed: skip to the closing brace (if any) to quote the whole reference.
            while let next = scalar(at: index), next != "}" {
                index += 1
            }
            let closed = index < scalars.count
            if closed { index += 1 }
            var whole = ""
            whole.unicodeScalars.append(contentsOf: scalars[start..<index])
            let quoted = DecodingContext.shorten(whole)
            if closed {
                part.problems.append(
                    "invalid variable reference '\(quoted)' (expected '${NAME}' or '${NAME:-default}'; write '$${' for a literal '${')")
            } else {
                part.problems.append(
                    "unterminated variable reference '\(quoted)' (missing '}'; write '$${' for a literal '${')")
            }
        }
    }
}
