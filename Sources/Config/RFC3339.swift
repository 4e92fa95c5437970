internal import Foundation

/// RFC 3339 timestamps as the config file and the HTTP API accept them.
public enum RFC3339 {
    /// `2026-12-01T10:00:00Z` or `2026-12-01T10:00:00.250+01:00`, to Unix milliseconds; nil for anything else.
    public static func parseMillis(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }
}
