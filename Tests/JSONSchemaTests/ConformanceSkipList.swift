import JSONSchema

/// Required cases of the JSON-Schema-Test-Suite that this module does not pass, and why. Every entry must still exist in
/// the suite (`ConformanceTests.skipListEntriesExist`), so the list cannot rot.
struct ConformanceSkip: Sendable {
    var draft: JSONSchemaDraft
    var file: String
    var caseDescription: String
    var reason: String
}

let conformanceSkipList: [ConformanceSkip] = []
