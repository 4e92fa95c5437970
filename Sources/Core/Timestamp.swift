#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time helpers that avoid Foundation's date formatting on the hot path.
public enum Timestamp {
    /// The current Unix time in milliseconds.
    public static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// The civil (proleptic Gregorian, UTC) date and time of a Unix time in milliseconds.
    public struct Civil: Sendable, Equatable {
        public var year: Int
        public var month: Int
        public var day: Int
        public var hour: Int
        public var minute: Int
        public var second: Int
        public var millisecond: Int
    }

    /// Splits Unix milliseconds into UTC calendar fields (Howard Hinnant's days-from-civil inverse).
    public static func civil(millis: Int64) -> Civil {
        let totalSeconds = floorDiv(millis, 1000)
        let millisecond = Int(millis - totalSeconds * 1000)
        let days = floorDiv(totalSeconds, 86_400)
        let secondOfDay = Int(totalSeconds - days * 86_400)
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return Civil(
            year: year, month: month, day: day,
            hour: secondOfDay / 3600, minute: (secondOfDay % 3600) / 60, second: secondOfDay % 60,
            millisecond: millisecond
        )
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func appendRFC3339(millis: Int64, to out: inout [UInt8]) {
        let c = civil(millis: millis)
        appendDigits(c.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(c.month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(c.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(c.hour, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(c.minute, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(c.second, width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(c.millisecond, width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` as a string.
    public static func rfc3339(millis: Int64) -> String {
        var out: [UInt8] = []
        appendRFC3339(millis: millis, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a non-negative integer zero-padded to `width` digits.
    public static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits: [UInt8] = []
        var remaining = max(0, value)
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        if digits.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
        out.append(contentsOf: digits.reversed())
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
