/// One property every sink must have; the compliance suite checks each on its own (vector's
/// `run_and_assert_sink_compliance`).
public struct SinkComplianceCheck: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String {
        case acknowledgesOnSuccess = "acknowledged on success"
        case neverReleasesOnFailure = "never released on failure"
        case classifiesRetries = "retry classification"
        case emitsMetrics = "metrics emitted"
        case flushesOnGracefulShutdown = "everything flushed on graceful shutdown"
        case respectsBackpressure = "backpressure respected"
    }

    private let value: Value

    /// Every record routed to the sink is accepted with a receipt, released, and found at the destination by id.
    public static let acknowledgesOnSuccess = SinkComplianceCheck(value: .acknowledgesOnSuccess)
    /// With a failing destination nothing is released (the cursor stays put); once it works again, everything is
    /// delivered.
    public static let neverReleasesOnFailure = SinkComplianceCheck(value: .neverReleasesOnFailure)
    /// Every sample error gets its expected kind from the sink's `RetryLogic`.
    public static let classifiesRetries = SinkComplianceCheck(value: .classifiesRetries)
    /// The sink's own metrics and the dispatcher's `sluice_sink_*` metrics are emitted.
    public static let emitsMetrics = SinkComplianceCheck(value: .emitsMetrics)
    /// Records the sink buffers are all released after a graceful shutdown.
    public static let flushesOnGracefulShutdown = SinkComplianceCheck(value: .flushesOnGracefulShutdown)
    /// A sink at capacity holds the dispatcher back (it stops reading ahead, `isSaturated` is true) and loses nothing.
    public static let respectsBackpressure = SinkComplianceCheck(value: .respectsBackpressure)

    /// Every check, in the order the suite runs them.
    public static let all: [SinkComplianceCheck] = [
        .acknowledgesOnSuccess, .neverReleasesOnFailure, .classifiesRetries, .emitsMetrics, .flushesOnGracefulShutdown,
        .respectsBackpressure,
    ]

    /// A short name usable in file and stream names (`acknowledgesOnSuccess`).
    public var slug: String { "\(value)" }

    public var description: String { value.rawValue }
}
