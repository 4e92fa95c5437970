import SinkTesting
import Testing

/// Asserts a compliance result (its failures in the message); a check the fixture declared not applicable cancels
/// the test with the fixture's reason, so it shows as skipped with why, never as a silent pass.
func expectCompliant(_ result: SinkComplianceResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
    if let reason = result.notApplicableReason {
        try Test.cancel("\(result.check) does not apply to the \(result.sink) sink: \(reason)", sourceLocation: sourceLocation)
    }
    #expect(result.failures.isEmpty, "\(result)", sourceLocation: sourceLocation)
}
