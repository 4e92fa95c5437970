import Foundation

/// A parsed AWS shared `config` or `credentials` file (the INI dialect the AWS CLI and SDKs read).
///
/// - Section names are kept as written, trimmed (`"default"`, `"profile prod"`); a section that
///   appears twice is merged, later keys winning.
/// - Keys are trimmed and lowercased; values are trimmed.
/// - Full-line comments start with `#` or `;`; a `#` or `;` preceded by whitespace starts an
///   inline comment.
/// - A line indented deeper than the preceding `key =` line continues that key (sub-properties
///   such as `s3 =` blocks); it is appended to the value, newline separated, as in botocore.
/// - Lines before the first section and lines without `=` are ignored.
public struct AWSINIFile: Sendable, Equatable {
    /// Section name → key (lowercased) → value.
    public var sections: [String: [String: String]]

    public init(sections: [String: [String: String]] = [:]) {
        self.sections = sections
    }

    public init(parsing text: String) {
        var sections: [String: [String: String]] = [:]
        var section: String?
        var lastKey: String?
        var lastKeyIndent = 0
        // "\r\n" is one Character in Swift, so split on all three line-break forms.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for line in lines {
            let trimmed = Self.trim(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                lastKey = nil
                guard let close = trimmed.firstIndex(of: "]") else {
                    section = nil
                    continue
                }
                let name = Self.trim(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                section = name.isEmpty ? nil : name
                if let name = section, sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current = section else { continue }
            let indent = line.prefix(while: { $0 == " " || $0 == "\t" }).count
            if let key = lastKey, indent > lastKeyIndent {
                // Indented deeper than the key line: a sub-property (continuation) of that key.
                let value = Self.stripInlineComment(trimmed)
                let previous = sections[current]?[key] ?? ""
                sections[current]?[key] = previous.isEmpty ? value : previous + "\n" + value
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = Self.trim(trimmed[..<equals]).lowercased()
            guard !key.isEmpty else { continue }
            let value = Self.stripInlineComment(Self.trim(trimmed[trimmed.index(after: equals)...]))
            sections[current]?[key] = value
            lastKey = key
            lastKeyIndent = indent
        }
        self.sections = sections
    }

    /// Profiles of a `config` file: `[default]` and `[profile NAME]` (also `[profile default]`),
    /// keyed by profile name. Other sections (`[sso-session …]`, `[services …]`) are left out.
    public var configProfiles: [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        // `[profile default]` is applied after `[default]` so it wins, as in botocore.
        for (name, values) in sections.sorted(by: { $0.key.count < $1.key.count }) {
            let words = name.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let profile: String
            if words.count == 1, words[0] == "default" {
                profile = "default"
            } else if words.count == 2, words[0] == "profile" {
                profile = String(words[1])
            } else {
                continue
            }
            profiles[profile, default: [:]].merge(values) { _, new in new }
        }
        return profiles
    }

    static func trim(_ s: Substring) -> String {
        String(s.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }

    static func trim(_ s: String) -> String { trim(Substring(s)) }

    private static func stripInlineComment(_ value: String) -> String {
        var previous: Character?
        for index in value.indices {
            let c = value[index]
            if c == "#" || c == ";", previous == " " || previous == "\t" {
                return trim(value[..<index])
            }
            previous = c
        }
        return value
    }
}

/// Where the shared files live and which profile is selected, from the environment:
/// `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`), `AWS_CONFIG_FILE` (default
/// `~/.aws/config`) and `AWS_PROFILE` (default `default`). `~` is `HOME` from the same environment.
public struct AWSSharedFiles: Sendable, Equatable {
    public var credentialsPath: String
    public var configPath: String
    public var profile: String
    /// Whether the profile was chosen with `AWS_PROFILE` (a missing one is then an error).
    public var profileIsExplicit: Bool

    public init(environment: [String: String]) {
        let home = nonEmpty(environment["HOME"]) ?? NSHomeDirectory()
        func expand(_ path: String) -> String {
            if path == "~" { return home }
            if path.hasPrefix("~/") { return home + path.dropFirst(1) }
            return path
        }
        credentialsPath = expand(nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials")
        configPath = expand(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config")
        if let name = nonEmpty(environment["AWS_PROFILE"]) {
            profile = name
            profileIsExplicit = true
        } else {
            profile = "default"
            profileIsExplicit = false
        }
    }

    /// The selected profile's settings: the config file's values overlaid by the credentials
    /// file's (the credentials file wins per key). `nil` when neither file has the profile.
    /// Missing files are skipped; a file that exists but cannot be read is an error.
    public func loadProfile() throws(AWSCredentialError) -> [String: String]? {
        let config = try Self.read(configPath, source: "profile:\(profile)")?.configProfiles[profile]
        let credentials = try Self.read(credentialsPath, source: "profile:\(profile)")?.sections[profile]
        if config == nil && credentials == nil { return nil }
        return (config ?? [:]).merging(credentials ?? [:]) { _, fromCredentials in fromCredentials }
    }

    /// The selected profile's `region` from the config file, if any (read errors are ignored).
    public func profileRegion() -> String? {
        guard let file = try? Self.read(configPath, source: "region") else { return nil }
        return nonEmpty(file.configProfiles[profile]?["region"])
    }

    static func read(_ path: String, source: String) throws(AWSCredentialError) -> AWSINIFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return AWSINIFile(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            throw AWSCredentialError(source: source, message: "cannot read \(path): \(error.localizedDescription)")
        }
    }
}

/// Resolves the AWS region the way the SDKs do.
public enum AWSRegionResolver {
    /// The first non-empty of: `configured`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the selected
    /// profile's `region` in the config file (`AWS_CONFIG_FILE` / `AWS_PROFILE`), `"us-east-1"`.
    public static func resolve(configured: String?, environment: [String: String]) -> String {
        nonEmpty(configured)
            ?? nonEmpty(environment["AWS_REGION"])
            ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? AWSSharedFiles(environment: environment).profileRegion()
            ?? "us-east-1"
    }
}

/// `value` trimmed of whitespace, or `nil` when that leaves nothing.
func nonEmpty(_ value: String?) -> String? {
    guard let value else { return nil }
    let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
    return trimmed.isEmpty ? nil : trimmed
}
