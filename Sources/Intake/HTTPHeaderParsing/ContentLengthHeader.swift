/// Why `Content-Length` fields cannot be trusted.
public enum ContentLengthProblem: Error, Sendable, Equatable {
    /// Not a non-negative decimal integer of at most 18 digits.
    case malformed(String)
    /// Two fields (or list members) with different values.
    case conflicting
}

/// Parses `Content-Length` (RFC 9110 §8.6): every field and list member must be the same non-negative decimal.
public enum ContentLengthHeader {
    /// The declared length, or `nil` when the request has no `Content-Length`.
    ///
    /// - Parameter values: every `Content-Length` field value of the request.
    /// - Throws: ``ContentLengthProblem``.
    public static func length(_ values: [String]) throws(ContentLengthProblem) -> Int64? {
        var length: Int64?
        for value in values {
            for member in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let parsed = DecimalInteger.parse(member.utf8, maxDigits: 18) else {
                    throw .malformed(String(member.prefix(64)))
                }
                if let length, length != parsed { throw .conflicting }
                length = parsed
            }
        }
        return length
    }
}
