internal import Foundation
internal import Yams

extension Configuration {
    /// The largest configuration file read (4 MiB): a configuration is a few KiB; anything near this is a mistake
    /// (a log or a binary named by `--config`) and is refused before it is read into memory.
    public static let maxFileBytes = 4 << 20

    /// Parses YAML text; never throws: every problem is collected.
    ///
    /// `${NAME}` and `${NAME:-default}` in values are replaced from `environment` before the values are typed
    /// (see `docs/configuration.md`). The report's `configuration` is nil if and only if there are errors.
    public static func load(yaml: String, environment: [String: String]) -> ConfigurationReport {
        let root: Node?
        do {
            let parser = try Parser(yaml: yaml, resolver: .basic, constructor: .default, encoding: .utf8)
            root = try parser.singleRoot()
        } catch {
            return ConfigurationReport(configuration: nil, errors: [syntaxProblem(error, yaml: yaml)], warnings: [])
        }
        let context = DecodingContext(environment: environment)
        let configuration = ConfigurationDecoder(context: context).decode(root)
        let errors = inFileOrder(context.errors)
        return ConfigurationReport(
            configuration: errors.isEmpty ? configuration : nil,
            errors: errors,
            warnings: inFileOrder(context.warnings)
        )
    }

    /// Reads a file (a problem with path "" and a clear message if it cannot be read).
    public static func load(contentsOfFile path: String, environment: [String: String]) -> ConfigurationReport {
        func failure(_ message: String) -> ConfigurationReport {
            ConfigurationReport(
                configuration: nil,
                errors: [ConfigurationProblem(path: "", message: "cannot read configuration file '\(path)': \(message)")],
                warnings: []
            )
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return failure("no such file")
        }
        if isDirectory.boolValue {
            return failure("it is a directory")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            return failure("permission denied")
        }
        let tooLarge = "it is larger than \(maxFileBytes >> 20) MiB"
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
            size.int64Value > Int64(maxFileBytes)
        {
            return failure(tooLarge)
        }
        let data: Data
        do {
            // Read at most one byte past the limit, in case the file grew (or is not a regular file).
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            return failure(error.localizedDescription)
        }
        if data.count > maxFileBytes {
            return failure(tooLarge)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return failure("it is not valid UTF-8 text")
        }
        return load(yaml: text, environment: environment)
    }

    /// Problems sorted by position; those without one keep their place at the end.
    private static func inFileOrder(_ problems: [ConfigurationProblem]) -> [ConfigurationProblem] {
        problems.enumerated().sorted { lhs, rhs in
            let left = (lhs.element.line ?? .max, lhs.element.column ?? .max, lhs.offset)
            let right = (rhs.element.line ?? .max, rhs.element.column ?? .max, rhs.offset)
            return left < right
        }.map(\.element)
    }

    /// One problem for a YAML that cannot be parsed, with the position libyaml gives.
    private static func syntaxProblem(_ error: any Error, yaml: String) -> ConfigurationProblem {
        guard let yamlError = error as? YamlError else {
            return ConfigurationProblem(path: "", message: "invalid YAML: \(error)")
        }
        func located(_ message: String, _ mark: Mark) -> ConfigurationProblem {
            ConfigurationProblem(path: "", message: message, line: mark.line, column: mark.column)
        }
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            if problem == "but found another document" {
                return "invalid YAML: a configuration file holds a single document, found a second one"
            }
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        func isTab(at mark: Mark) -> Bool {
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            guard mark.line >= 1, mark.line <= lines.count else { return false }
            let scalars = Array(lines[mark.line - 1].unicodeScalars)
            return mark.column >= 1 && mark.column <= scalars.count && scalars[mark.column - 1] == "\t"
        }
        switch yamlError {
        case let .scanner(_, problem, mark, _) where isTab(at: mark):
            return located("invalid YAML: \(problem): a tab (indent with spaces, not tabs)", mark)
        case let .scanner(context, problem, mark, _),
            let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            return located(withContext(problem, context), mark)
        case let .reader(problem, offset, _, yaml):
            var line = 1
            var column = 1
            if let offset {
                for character in yaml.prefix(offset) {
                    if character == "\n" || character == "\r\n" {
                        line += 1
                        column = 1
                    } else {
                        column += 1
                    }
                }
            }
            return ConfigurationProblem(
                path: "", message: "invalid YAML: \(problem)",
                line: offset == nil ? nil : line, column: offset == nil ? nil : column)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            return located("invalid YAML: duplicate \(noun) \(keys) in one mapping", context.mark)
        default:
            return ConfigurationProblem(path: "", message: "invalid YAML: \(yamlError)")
        }
    }
}
