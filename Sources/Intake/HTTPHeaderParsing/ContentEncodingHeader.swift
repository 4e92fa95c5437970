/// The content codings Sluice decodes in request bodies (`Content-Encoding`, RFC 9110 §8.4).
public enum ContentCoding: String, Sendable, Equatable {
    /// `gzip` (also `x-gzip`): RFC 1952.
    case gzip
    /// `deflate`: the zlib format of RFC 1950 (raw RFC 1951 deflate, which some clients send, is accepted too).
    case deflate
}

/// Why a `Content-Encoding` cannot be decoded.
public enum ContentEncodingProblem: Error, Sendable, Equatable {
    /// A coding Sluice does not decode (e.g. `br`, `compress`, `zstd`).
    case unsupported(String)
    /// More than one coding applied (e.g. `gzip, gzip`): refused so that a body cannot be a nested bomb.
    case stacked(String)
}

/// Parses `Content-Encoding`.
public enum ContentEncodingHeader {
    /// The one coding to undo, `nil` for none (`identity` or an empty value).
    ///
    /// - Parameter values: every `Content-Encoding` field value of the request, in order.
    /// - Throws: ``ContentEncodingProblem``.
    public static func coding(_ values: [String]) throws(ContentEncodingProblem) -> ContentCoding? {
        var codings: [ContentCoding] = []
        for value in values {
            for token in value.split(separator: ",") {
                let name = ContentTypeHeader.trimmed(token).lowercased()
                switch name {
                case "", "identity": continue
                case "gzip", "x-gzip": codings.append(.gzip)
                case "deflate": codings.append(.deflate)
                default: throw .unsupported(String(name.prefix(64)))
                }
            }
        }
        guard codings.count <= 1 else { throw .stacked(codings.map(\.rawValue).joined(separator: ", ")) }
        return codings.first
    }
}
