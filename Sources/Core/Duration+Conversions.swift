/// Duration conversions, declared once for every module (`Duration` has no saturating integer views of its own).
extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64.max` (and at 0 below zero).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, sumOverflow) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return sumOverflow ? .max : sum
    }

    /// The duration in milliseconds as a `Double` (for metrics and logs).
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
