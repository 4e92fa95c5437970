/// `${NAME}` and `${NAME:-default}` substitution in configuration values.
///
/// - `${NAME}` is replaced by `environment[NAME]`; an unset variable is a problem.
/// - `${NAME:-default}` is replaced by the variable, or by `default` when it is unset or empty (as in the shell);
///   the default may itself hold references (`${A:-${B:-x}}`), evaluated only when it is used.
/// - `$${` is a literal `${`; a `$` not followed by `{` is kept as is.
/// - A value taken from the environment is never substituted again.
enum EnvironmentSubstitution {
    struct Result: Equatable {
        /// The text after substitution.
        var text: String
        /// Whether the text held any `${…}` or `$${` (so `text` may differ from the original).
        var substituted: Bool
        /// One message per problem: unset variable, malformed reference.
        var problems: [String]
    }

    static func substitute(_ text: String, environment: [String: String]) -> Result {
        // Fast path: most values hold no `$` at all.
        guard text.utf8.contains(UInt8(ascii: "$")) else {
            return Result(text: text, substituted: false, problems: [])
        }
        var scanner = Scanner(scalars: Array(text.unicodeScalars), environment: environment)
        let part = scanner.scan(insideDefault: false)
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
        var index = 0
        var substituted = false

        init(scalars: [Unicode.Scalar], environment: [String: String]) {
            self.scalars = scalars
            self.environment = environment
        }

        private func scalar(at offset: Int) -> Unicode.Scalar? {
            offset < scalars.count ? scalars[offset] : nil
        }

        /// Scans up to the end of the text, or (inside a default) up to its closing `}`.
        mutating func scan(insideDefault: Bool) -> Part {
            var part = Part()
            while index < scalars.count {
                let current = scalars[index]
                if insideDefault, current == "}" {
                    index += 1
                    part.closed = true
                    return part
                }
                if current == "$", scalar(at: index + 1) == "$", scalar(at: index + 2) == "{" {
                    part.text += "${"
                    index += 3
                    substituted = true
                    continue
                }
                if current == "$", scalar(at: index + 1) == "{" {
                    substituted = true
                    reference(into: &part)
                    continue
                }
                part.text.unicodeScalars.append(current)
                index += 1
            }
            return part
        }

        /// Reads `${NAME}` or `${NAME:-default}` starting at `index` (which is on the `$`).
        private mutating func reference(into part: inout Part) {
            let start = index
            index += 2
            var name = ""
            while let next = scalar(at: index), next == "_" || ("a"..."z").contains(next)
                || ("A"..."Z").contains(next) || ("0"..."9").contains(next)
            {
                name.unicodeScalars.append(next)
                index += 1
            }
            let validName = name.unicodeScalars.first.map { !("0"..."9").contains($0) } ?? false
            if validName, scalar(at: index) == "}" {
                index += 1
                if let value = environment[name] {
                    part.text += value
                } else {
                    part.problems.append(
                        "environment variable '\(name)' is not set (write '${\(name):-default}' to give a default)")
                }
                return
            }
            if validName, scalar(at: index) == ":", scalar(at: index + 1) == "-" {
                index += 2
                let fallback = scan(insideDefault: true)
                guard fallback.closed else {
                    part.problems.append("unterminated '${\(name):-' (missing '}')")
                    return
                }
                if let value = environment[name], !value.isEmpty {
                    part.text += value
                } else {
                    part.text += fallback.text
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
            var quoted = ""
            quoted.unicodeScalars.append(contentsOf: scalars[start..<index])
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
