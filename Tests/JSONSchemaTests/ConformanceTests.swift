import Foundation
import JSONSchema
import Testing

/// Runs every required test of the official JSON-Schema-Test-Suite (draft-04, draft-07, 2020-12), with the suite's
/// `remotes/` (and the metaschemas) registered as resources.
@Suite("JSON-Schema-Test-Suite")
struct ConformanceTests {
    @Test("every required test passes", arguments: JSONSchemaDraft.allCases)
    func requiredTests(draft: JSONSchemaDraft) throws {
        try #require(ConformanceSuite.isPresent, Comment(rawValue: ConformanceSuite.missingMessage))
        var passed = 0
        var skipped = 0
        var failed = 0
        for file in try ConformanceSuite.testFiles(draft) {
            for testCase in try ConformanceSuite.cases(draft, file: file) {
                if conformanceSkipList.contains(where: {
                    $0.draft == draft && $0.file == file && $0.caseDescription == testCase.description
                }) {
                    skipped += testCase.tests.count
                    continue
                }
                let schema: CompiledSchema
                do {
                    schema = try CompiledSchema(schema: testCase.schema, draft: draft, resources: ConformanceSuite.resources)
                } catch {
                    failed += testCase.tests.count
                    Issue.record("\(draft.rawValue) \(file) \"\(testCase.description)\": the schema does not compile: \(error)")
                    continue
                }
                for test in testCase.tests {
                    let fast = schema.isValid(test.data)
                    let violations = schema.validate(test.data)
                    if fast == test.valid && violations.isEmpty == test.valid {
                        passed += 1
                    } else {
                        failed += 1
                        let expected = test.valid ? "valid" : "invalid"
                        Issue.record(
                            "\(draft.rawValue) \(file) \"\(testCase.description)\" / \"\(test.description)\": expected \(expected), isValid says \(fast), validate found \(violations)"
                        )
                    }
                }
            }
        }
        let total = passed &+ skipped &+ failed
        print("JSON-Schema-Test-Suite \(draft.rawValue): \(passed) passed, \(skipped) skipped, \(failed) failed, \(total) total")
    }

    @Test("every skip-list entry still exists in the suite")
    func skipListEntriesExist() throws {
        try #require(ConformanceSuite.isPresent, Comment(rawValue: ConformanceSuite.missingMessage))
        for entry in conformanceSkipList {
            let cases = try ConformanceSuite.cases(entry.draft, file: entry.file)
            #expect(
                cases.contains { $0.description == entry.caseDescription },
                "skip-list entry \(entry.draft.rawValue) \(entry.file) \"\(entry.caseDescription)\" is not in the suite"
            )
        }
    }
}
