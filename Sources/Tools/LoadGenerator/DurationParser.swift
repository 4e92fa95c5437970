import GatewayCore

/// Parses and prints the human durations the command line takes: `500ms`, `30s`, `2m`, `1h`, `1.5s`, `0`.
public enum DurationParser {
    /// A duration text that could not be understood.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The text as given.
        public var text: String
        /// Why it was refused.
        public var reason: String

        public var description: String {
            "invalid duration '\(text)': \(reason) (write e.g. 500ms, 30s, 2m or 1h)"
        }
    }

    /// Units accepted after the number, with their length in nanoseconds.
    static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Parses `text`: a non-negative decimal number followed by `ns`, `us`, `ms`, `s`, `m` or `h`.
    /// A bare `0` is accepted; any other number needs a unit.
    /// - Throws: ``ParseError`` naming the problem.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        guard !trimmed.isEmpty else { throw ParseError(text: text, reason: "it is empty") }
        let numberEnd = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
        let numberText = trimmed[..<numberEnd]
        let unitText = trimmed[numberEnd...]
        guard !numberText.isEmpty else {
            throw ParseError(text: text, reason: trimmed.hasPrefix("-") ? "it must not be negative" : "it does not start with a number")
        }
        guard numberText.filter({ $0 == "." }).count <= 1, numberText.first != ".", numberText.last != ".",
            let value = Double(numberText), value.isFinite
        else {
            throw ParseError(text: text, reason: "'\(numberText)' is not a number")
        }
        if unitText.isEmpty {
            guard value == 0 else { throw ParseError(text: text, reason: "it has no unit") }
            return .zero
        }
        guard let unit = units.first(where: { $0.suffix == unitText }) else {
            throw ParseError(text: text, reason: "unknown unit '\(unitText)'")
        }
        let nanoseconds = (value * unit.nanoseconds).rounded()
        guard nanoseconds < 1e18 else { throw ParseError(text: text, reason: "it is too long") }
        return .nanoseconds(Int64(nanoseconds))
    }

    /// A short text for `duration`: `250ms`, `30s`, `2m`, `1.5s`, `1h30m`.
    public static func format(_ duration: Duration) -> String {
        let nanos = duration.nanoseconds
        if nanos == 0 { return "0s" }
        if nanos % 3_600_000_000_000 == 0 { return "\(nanos / 3_600_000_000_000)h" }
        if nanos % 60_000_000_000 == 0 {
            let minutes = nanos / 60_000_000_000
            return minutes >= 60 ? "\(minutes / 60)h\(minutes % 60)m" : "\(minutes)m"
        }
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos >= 1_000_000_000 { return "\(Formatting.decimal(Double(nanos) / 1e9, digits: 3))s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        if nanos >= 1_000_000 { return "\(Formatting.decimal(Double(nanos) / 1e6, digits: 3))ms" }
        if nanos % 1_000 == 0 { return "\(nanos / 1_000)us" }
        return "\(nanos)ns"
    }
}

/// Number formatting without Foundation (locale-independent, fixed digits).
public enum Formatting {
    /// `value` with at most `digits` fraction digits, trailing zeros removed (`1.5`, `2`, `0.125`).
    public static func decimal(_ value: Double, digits: Int) -> String {
        let fixed = self.fixed(value, digits: digits)
        guard fixed.contains(".") else { return fixed }
        var trimmed = Substring(fixed)
        while trimmed.last == "0" { trimmed = trimmed.dropLast() }
        if trimmed.last == "." { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// `value` with exactly `digits` fraction digits (`1.50`, `2.00`), rounded half away from zero.
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        let digits = max(0, min(digits, 9))
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = "\(integer / divisor)"
        if digits > 0 {
            let fraction = "\(integer % divisor)"
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return negative && scaled != 0 ? "-" + text : text
    }

    /// Bytes as `512 B`, `1.5 KiB`, `12.3 MiB`, `1.02 GiB`.
    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = value
        var index = 0
        while amount >= 1024, index < units.count - 1 {
            amount /= 1024
            index += 1
        }
        return index == 0 ? "\(Int(amount)) B" : "\(decimal(amount, digits: amount < 10 ? 2 : 1)) \(units[index])"
    }

    /// A latency in microseconds, printed in milliseconds: `0.123`, `1.84`, `12.3`, `1234`.
    public static func milliseconds(micros: UInt64) -> String {
        let ms = Double(micros) / 1000
        if ms < 1 { return fixed(ms, digits: 3) }
        if ms < 10 { return fixed(ms, digits: 2) }
        if ms < 100 { return fixed(ms, digits: 1) }
        return fixed(ms, digits: 0)
    }
}

/// Parses sizes: `5000`, `5000B`, `4KB` (1000), `4KiB` (1024), `1MB`, `1MiB`.
public enum ByteSizeParser {
    /// Parses `text` as a byte count.
    /// - Throws: ``BenchError`` (invalid option) naming the problem.
    public static func parse(_ text: String, option: String) throws(BenchError) -> Int {
        let units: [(String, Int)] = [
            ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("k", 1000), ("B", 1), ("", 1),
        ]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let value = Int(number), value >= 0 else { continue }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { break }
            return bytes
        }
        throw BenchError(.invalidOption, "\(option): '\(text)' is not a size; write a byte count such as 5000, 4KiB or 1MiB")
    }
}
