/// `X-Request-Id` from a client: echoed only when it is 1–128 visible ASCII characters.
public enum RequestIDHeader {
    /// The longest client request id that is echoed.
    public static let maxLength = 128

    /// The value when it is acceptable as a request id, else `nil` (the gateway then generates one).
    public static func validated(_ value: String) -> String? {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }
}
