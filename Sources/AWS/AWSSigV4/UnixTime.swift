/// A point in time as whole seconds since 1970-01-01T00:00:00Z (UTC).
///
/// Used instead of Foundation's `Date` so the signer has no Foundation dependency.
public struct UnixTime: Sendable, Hashable, Comparable {
    /// Seconds since the Unix epoch (may be negative for dates before 1970).
    public var seconds: Int64

    public init(seconds: Int64) {
        self.seconds = seconds
    }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool { lhs.seconds < rhs.seconds }

    /// Builds a time from a UTC civil date; returns nil when a field is out of range.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        let days = Self.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
        // Reject days past the end of the month (e.g. Feb 30) by round-tripping.
        let back = Self.civilFromDays(days)
        guard back.year == Int64(year), back.month == Int64(month), back.day == Int64(day) else { return nil }
        self.seconds = days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }

    /// Parses the SigV4 basic ISO 8601 form `YYYYMMDD'T'HHMMSS'Z'` (e.g. `20150830T123600Z`).
    public init?(amzDate: String) {
        let b = Array(amzDate.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8),
            let h = num(9..<11), let mi = num(11..<13), let s = num(13..<15)
        else { return nil }
        self.init(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC, the value of `X-Amz-Date`.
    public var amzDate: String {
        let (date, secondOfDay) = split()
        return date + "T" + Self.pad(secondOfDay / 3600, 2) + Self.pad(secondOfDay / 60 % 60, 2)
            + Self.pad(secondOfDay % 60, 2) + "Z"
    }

    /// `YYYYMMDD` in UTC, the date part of the credential scope.
    public var dateStamp: String { split().date }

    private func split() -> (date: String, secondOfDay: Int64) {
        // Floor division so negative times land on the right day.
        var days = seconds / 86_400
        var rem = seconds % 86_400
        if rem < 0 {
            rem += 86_400
            days -= 1
        }
        let c = Self.civilFromDays(days)
        return (Self.pad(c.year, 4) + Self.pad(c.month, 2) + Self.pad(c.day, 2), rem)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
    static func civilFromDays(_ z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
