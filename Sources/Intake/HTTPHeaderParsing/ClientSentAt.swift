/// `X-Client-Sent-At`: when the client sent the request, in Unix epoch milliseconds.
///
/// The value comes from the client and is never trusted: it must be a plain decimal integer (optionally surrounded
/// by spaces or tabs) and lie within ``plausibleSkewMillis`` of the gateway's clock. Anything else is ignored, and the
/// response then has no `X-Network-Latency`.
public enum ClientSentAt {
    /// How far the client's clock may be from the gateway's before the header is ignored: 24 hours.
    public static let plausibleSkewMillis: Int64 = 86_400_000

    /// The network latency in milliseconds (at least 0: a client clock ahead of ours reads as 0), or `nil` when
    /// the header is malformed or implausible.
    ///
    /// - Parameters:
    ///   - value: the header value as received.
    ///   - nowMillis: the gateway's clock when the request arrived, Unix epoch milliseconds.
    public static func networkLatencyMillis(_ value: some StringProtocol, nowMillis: Int64) -> Int64? {
        guard let sent = DecimalInteger.parse(value.utf8, maxDigits: 15) else { return nil }
        let (difference, overflow) = nowMillis.subtractingReportingOverflow(sent)
        guard !overflow, difference <= plausibleSkewMillis, difference >= -plausibleSkewMillis else { return nil }
        return max(0, difference)
    }
}

/// Strict decimal integers from header bytes: ASCII digits only, optional surrounding spaces and tabs, no sign
/// (or a leading `-` where allowed), a bounded number of digits, so no input can overflow.
public enum DecimalInteger {
    /// The value of `bytes` as a decimal integer, or `nil`.
    ///
    /// - Parameters:
    ///   - bytes: the text.
    ///   - maxDigits: the most digits accepted (at most 18, so the value always fits an `Int64`).
    ///   - allowsNegative: whether a leading `-` is accepted.
    public static func parse(_ bytes: some Collection<UInt8>, maxDigits: Int = 18, allowsNegative: Bool = false) -> Int64? {
        let limit = min(max(maxDigits, 1), 18)
        var value: Int64 = 0
        var digits = 0
        var isNegative = false
        var sawSign = false
        var phase = 0 // 0: leading blanks, 1: digits, 2: trailing blanks
        for byte in bytes {
            switch (phase, byte) {
            case (0, 0x20), (0, 0x09), (2, 0x20), (2, 0x09):
                continue
            case (1, 0x20), (1, 0x09):
                phase = 2
            case (0, UInt8(ascii: "-")) where allowsNegative && !sawSign:
                sawSign = true
                isNegative = true
                phase = 1
            case (0, UInt8(ascii: "0")...UInt8(ascii: "9")), (1, UInt8(ascii: "0")...UInt8(ascii: "9")):
                phase = 1
                digits += 1
                guard digits <= limit else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            default:
                return nil
            }
        }
        guard digits > 0 else { return nil }
        return isNegative ? -value : value
    }
}
