/// One problem found in a configuration file, with its path in the file.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is: `streams[2].app`, `server.port`, `kafka.properties["linger.ms"]`;
    /// `""` for the document root (or the file itself).
    public var path: String
    /// What is wrong: `missing`, `expected an integer, got 'abc'`,
    /// `unknown key (did you mean 'max_body_kb'?)`.
    public var message: String
    /// The 1-based line in the file, when known.
    public var line: Int?
    /// The 1-based column in the file (counted in Unicode scalars), when known.
    public var column: Int?

    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// `streams[2].app: missing (line 7, column 5)`; the path and its colon are left out for the root,
    /// and the location when it is not known.
    public var description: String {
        var text = path.isEmpty ? message : "\(path): \(message)"
        switch (line, column) {
        case let (line?, column?): text += " (line \(line), column \(column))"
        case let (line?, nil): text += " (line \(line))"
        default: break
        }
        return text
    }
}

/// Everything learned from loading a file: the configuration when there were no errors,
/// plus all errors and warnings, in file order.
public struct ConfigurationReport: Sendable {
    /// The loaded configuration; `nil` if and only if `errors` is not empty.
    public var configuration: Configuration?
    /// Problems that make the file unusable.
    public var errors: [ConfigurationProblem]
    /// Problems worth telling but that do not stop the gateway.
    public var warnings: [ConfigurationProblem]

    public init(configuration: Configuration?, errors: [ConfigurationProblem], warnings: [ConfigurationProblem]) {
        self.configuration = configuration
        self.errors = errors
        self.warnings = warnings
    }

    /// The configuration, or a `ConfigurationError` carrying every error.
    public func get() throws(ConfigurationError) -> Configuration {
        if let configuration, errors.isEmpty {
            return configuration
        }
        throw ConfigurationError(problems: errors)
    }
}

/// Thrown when a configuration has errors; carries all of them.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// Every error found, in file order.
    public var problems: [ConfigurationProblem]

    public init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    /// `invalid configuration: <problem>` for one problem; a count and one problem per line otherwise.
    public var description: String {
        switch problems.count {
        case 0: return "invalid configuration"
        case 1: return "invalid configuration: \(problems[0])"
        default:
            return "invalid configuration (\(problems.count) problems):\n"
                + problems.map { "  \($0)" }.joined(separator: "\n")
        }
    }
}
