/// A parsed `Content-Type`: the media type (lower-cased, without parameters) and the `charset` parameter.
public struct ContentTypeHeader: Sendable, Equatable {
    /// `type/subtype`, lower-cased, e.g. `application/json`.
    public var mediaType: String
    /// The `charset` parameter, lower-cased and unquoted, when present.
    public var charset: String?

    public init(mediaType: String, charset: String? = nil) {
        self.mediaType = mediaType
        self.charset = charset
    }

    /// Parses `type/subtype; param=value; …` (RFC 9110 §8.3). Unknown parameters are ignored; a value longer than
    /// 1,024 bytes, or one without a `/` in the media type, is `nil`.
    public static func parse(_ value: String) -> ContentTypeHeader? {
        guard value.utf8.count <= 1024 else { return nil }
        var parts = value.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let first = parts.next() else { return nil }
        let mediaType = trimmed(first).lowercased()
        guard let slash = mediaType.firstIndex(of: "/"), slash != mediaType.startIndex,
            mediaType.index(after: slash) != mediaType.endIndex
        else { return nil }
        var header = ContentTypeHeader(mediaType: mediaType)
        while let parameter = parts.next() {
            let pair = trimmed(parameter)
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = trimmed(pair[..<equals]).lowercased()
            guard name == "charset" else { continue }
            let raw = trimmed(pair[pair.index(after: equals)...])
            header.charset = String(raw.filter { $0 != "\"" }).lowercased()
        }
        return header
    }

    /// Whether the charset is absent or UTF-8.
    public var isUTF8: Bool {
        guard let charset else { return true }
        return charset == "utf-8" || charset == "utf8"
    }

    static func trimmed(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let start = text.firstIndex { !isBlank($0) } ?? text.endIndex
        let end = text.lastIndex { !isBlank($0) }.map { text.index(after: $0) } ?? start
        return text[start..<max(start, end)]
    }
}
