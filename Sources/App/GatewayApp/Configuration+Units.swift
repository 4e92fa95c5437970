extension Int {
    /// `self` MiB in bytes, or `Int.max` when that overflows (the configuration's ranges keep it far below).
    var mebibytesClamped: Int {
        let (bytes, overflow) = multipliedReportingOverflow(by: 1024 * 1024)
        return overflow ? .max : bytes
    }
}

extension Double {
    /// `self` MiB in whole bytes, clamped to `0...Int.max` (a NaN is 0).
    var mebibytesClamped: Int {
        let bytes = (self * 1024 * 1024).rounded(.down)
        guard bytes.isFinite, bytes > 0 else { return 0 }
        return bytes >= Double(Int.max) ? .max : Int(bytes)
    }

    /// `self` seconds as a `Duration` (whole milliseconds), clamped to 0 …  one year.
    var secondsClamped: Duration {
        guard isFinite, self > 0 else { return .zero }
        return .milliseconds(Int64((Swift.min(self, 31_536_000) * 1000).rounded(.down)))
    }
}
