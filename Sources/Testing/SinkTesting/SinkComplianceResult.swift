public import GatewayCore

/// What one compliance check found for one sink: passed, failed (with every failure), or not applicable (with the
/// fixture's reason). The test asserts it; the harness never hides a check.
public struct SinkComplianceResult: Sendable, CustomStringConvertible {
    /// The check.
    public var check: SinkComplianceCheck
    /// The sink checked.
    public var sink: SinkID
    /// Every way the sink failed the check (empty when it passed).
    public var failures: [String]
    /// What was verified, for the test log.
    public var notes: [String]
    /// Why the check does not apply to this sink, as the fixture declared it; nil when the check ran.
    public var notApplicableReason: String?

    public init(
        check: SinkComplianceCheck, sink: SinkID, failures: [String] = [], notes: [String] = [],
        notApplicableReason: String? = nil
    ) {
        self.check = check
        self.sink = sink
        self.failures = failures
        self.notes = notes
        self.notApplicableReason = notApplicableReason
    }

    /// Whether the check ran and found nothing wrong.
    public var isPassed: Bool { notApplicableReason == nil && failures.isEmpty }

    /// Whether the fixture declared the check not applicable.
    public var isNotApplicable: Bool { notApplicableReason != nil }

    public var description: String {
        if let notApplicableReason { return "\(sink) — \(check): not applicable: \(notApplicableReason)" }
        if failures.isEmpty { return "\(sink) — \(check): passed (\(notes.joined(separator: "; ")))" }
        return "\(sink) — \(check): FAILED:\n  " + failures.joined(separator: "\n  ")
    }
}
