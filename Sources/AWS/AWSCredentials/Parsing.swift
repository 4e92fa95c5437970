import AWSSigV4
import Foundation

/// Minimal extraction of leaf elements from AWS query-API XML responses.
enum XMLText {
    /// The text of the first `<tag>…</tag>` (or `<tag attr="…">…</tag>`) in `xml`, entity-decoded.
    static func value(of tag: String, in xml: String) -> String? {
        var searchStart = xml.startIndex
        while let open = xml.range(of: "<" + tag, range: searchStart..<xml.endIndex) {
            guard let next = xml[open.upperBound...].first else { return nil }
            guard next == ">" || next == "/" || next == " " || next == "\t" || next == "\n" || next == "\r" else {
                searchStart = open.upperBound // e.g. <CodeX> while looking for <Code>
                continue
            }
            guard let tagEnd = xml[open.upperBound...].firstIndex(of: ">") else { return nil }
            if xml[xml.index(before: tagEnd)] == "/" { return "" } // <tag/>
            let contentStart = xml.index(after: tagEnd)
            guard let close = xml.range(of: "</" + tag + ">", range: contentStart..<xml.endIndex) else { return nil }
            return decodeEntities(String(xml[contentStart..<close.lowerBound]))
        }
        return nil
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let afterAmp = rest[rest.index(after: amp)...]
            guard let semi = afterAmp.prefix(10).firstIndex(of: ";") else {
                out += "&"
                rest = afterAmp
                continue
            }
            let entity = afterAmp[..<semi]
            let decoded: Character? =
                switch entity {
                case "amp": "&"
                case "lt": "<"
                case "gt": ">"
                case "quot": "\""
                case "apos": "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        UInt32(entity.dropFirst(2), radix: 16).flatMap { Unicode.Scalar($0) }.map { Character($0) }
                    } else if entity.hasPrefix("#") {
                        UInt32(entity.dropFirst(1)).flatMap { Unicode.Scalar($0) }.map { Character($0) }
                    } else {
                        nil
                    }
                }
            if let decoded {
                out.append(decoded)
                rest = afterAmp[afterAmp.index(after: semi)...]
            } else {
                out += "&"
                rest = afterAmp
            }
        }
        out += rest
        return out
    }
}

/// Parses the timestamps AWS credential endpoints return: ISO 8601 / RFC 3339 in UTC or with an
/// offset, with or without fractional seconds (`2026-11-30T12:02:21Z`, `…21.667163Z`, `…21+00:00`).
enum AWSTimestamp {
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }
        guard let year = number(0, 4), byte(4) == UInt8(ascii: "-"),
            let month = number(5, 2), byte(7) == UInt8(ascii: "-"),
            let day = number(8, 2), byte(10) == UInt8(ascii: "T") || byte(10) == UInt8(ascii: "t") || byte(10) == UInt8(ascii: " "),
            let hour = number(11, 2), byte(13) == UInt8(ascii: ":"),
            let minute = number(14, 2), byte(16) == UInt8(ascii: ":"),
            let second = number(17, 2),
            let base = UnixTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while let b = byte(index), b >= 0x30, b <= 0x39 {
                fraction += Double(b - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        switch byte(index) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let hours = number(index + 1, 2), byte(index + 3) == UInt8(ascii: ":"), let minutes = number(index + 4, 2)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (byte(index) == UInt8(ascii: "+") ? 1 : -1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        return Date(timeIntervalSince1970: Double(base.seconds - Int64(offset)) + fraction)
    }
}

/// The STS query API's `AssumeRoleWithWebIdentity` response and error documents.
enum STSResponse {
    /// Credentials from a successful response.
    static func credentials(fromXML xml: String, source: String) throws(AWSCredentialError) -> (AWSCredential, expiration: Date) {
        guard let accessKeyID = XMLText.value(of: "AccessKeyId", in: xml), !accessKeyID.isEmpty,
            let secret = XMLText.value(of: "SecretAccessKey", in: xml), !secret.isEmpty,
            let token = XMLText.value(of: "SessionToken", in: xml), !token.isEmpty
        else {
            throw AWSCredentialError(
                source: source, message: "STS response lacks AccessKeyId, SecretAccessKey or SessionToken: \(snippet(xml))")
        }
        guard let expirationText = XMLText.value(of: "Expiration", in: xml), let expiration = AWSTimestamp.parse(expirationText) else {
            throw AWSCredentialError(source: source, message: "STS response has no parseable Expiration: \(snippet(xml))")
        }
        return (AWSCredential(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token), expiration)
    }

    /// `Code` and `Message` of an `<ErrorResponse><Error>…` document, if it is one.
    static func error(fromXML xml: String) -> (code: String, message: String)? {
        guard let error = XMLText.value(of: "Error", in: xml), let code = XMLText.value(of: "Code", in: error), !code.isEmpty else {
            return nil
        }
        return (code, XMLText.value(of: "Message", in: error) ?? "")
    }
}

/// The JSON document container endpoints and IMDS return.
struct MetadataCredentials: Decodable {
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var Expiration: String?
    // IMDS: "Code": "Success"; ECS/EKS errors: "code" / "message".
    var Code: String?
    var Message: String?
    var code: String?
    var message: String?

    static func parse(_ body: String, source: String, url: String) throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) {
        let document: MetadataCredentials
        do {
            document = try JSONDecoder().decode(MetadataCredentials.self, from: Data(body.utf8))
        } catch {
            throw AWSCredentialError(source: source, message: "\(url) did not return credentials JSON: \(snippet(body))")
        }
        if let code = document.Code, code != "Success" {
            throw AWSCredentialError(source: source, message: "\(url): \(document.Message ?? "no message")", code: code)
        }
        guard let accessKeyID = document.AccessKeyId, !accessKeyID.isEmpty,
            let secret = document.SecretAccessKey, !secret.isEmpty
        else {
            if let code = document.code {
                throw AWSCredentialError(source: source, message: "\(url): \(document.message ?? "no message")", code: code)
            }
            throw AWSCredentialError(source: source, message: "\(url) returned JSON without AccessKeyId/SecretAccessKey")
        }
        var expiration: Date?
        if let text = document.Expiration {
            guard let date = AWSTimestamp.parse(text) else {
                throw AWSCredentialError(source: source, message: "\(url) returned an unparseable Expiration \"\(text)\"")
            }
            expiration = date
        }
        let token = document.Token.flatMap { $0.isEmpty ? nil : $0 }
        return (AWSCredential(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token), expiration)
    }
}

/// The start of a response body for error messages (never more than 300 characters).
func snippet(_ body: String) -> String {
    let flat = body.replacingOccurrences(of: "\n", with: " ")
    return flat.count > 300 ? String(flat.prefix(300)) + "…" : flat
}
