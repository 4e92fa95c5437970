import EnvelopeScanner
import GatewayCore
import Subscriptions

/// One column a PostgreSQL handler fills: its name, where its value comes from and its SQL type.
public struct PostgresColumn: Sendable, Equatable {
    /// Where a column's value comes from.
    public enum Source: Sendable, Equatable {
        case eventID
        /// When the gateway received the event: RFC 3339 text, or Unix ms for a numeric column type.
        case receivedAt
        case partitionKey
        case team
        case app
        /// The whole payload as JSON text.
        case payload
        /// The record's position in its source (the log's sequence, a Kafka offset).
        case sequence
        /// The payload's value at a JSON pointer (RFC 6901): a string's text, any other value's JSON; NULL when absent
        /// or `null`.
        case pointer([String])

        /// `event_id`, `received_at`, `partition_key`, `team`, `app`, `payload`, `sequence` or a JSON pointer
        /// (`/order/id`); nil for anything else.
        public init?(_ text: String) {
            switch text {
            case "event_id": self = .eventID
            case "received_at": self = .receivedAt
            case "partition_key": self = .partitionKey
            case "team": self = .team
            case "app": self = .app
            case "payload": self = .payload
            case "sequence": self = .sequence
            default:
                guard text.hasPrefix("/") else { return nil }
                self = .pointer(Self.tokens(of: text))
            }
        }

        /// The SQL type a column of this source gets when the configuration names none.
        public var defaultType: String {
            switch self {
            case .receivedAt: "timestamptz"
            case .payload: "jsonb"
            case .sequence: "bigint"
            default: "text"
            }
        }

        /// The reference tokens of a pointer that starts with `/` (`~1` is `/`, `~0` is `~`).
        static func tokens(of pointer: String) -> [String] {
            pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { token in
                var text = ""
                var index = token.startIndex
                while index < token.endIndex {
                    let character = token[index]
                    let next = token.index(after: index)
                    if character == "~", next < token.endIndex, token[next] == "1" || token[next] == "0" {
                        text.append(token[next] == "1" ? "/" : "~")
                        index = token.index(after: next)
                    } else {
                        text.append(character)
                        index = next
                    }
                }
                return text
            }
        }
    }

    /// The column's name (a PostgreSQL identifier; quoted in every statement).
    public var name: String
    public var source: Source
    /// The SQL type the text value is cast to (`text`, `bigint`, `numeric(12,2)`, `jsonb`, `timestamptz`, …).
    public var type: String

    /// Whether the type is one of PostgreSQL's numeric types (then `received_at` is written as Unix ms).
    let isNumeric: Bool

    public init(name: String, source: Source, type: String? = nil) {
        self.name = name
        self.source = source
        self.type = type ?? source.defaultType
        var base = Substring(self.type.prefix { $0.isLetter || $0 == " " })
        while base.last == " " { base = base.dropLast() }
        self.isNumeric = [
            "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "numeric", "decimal", "real", "double precision", "float4", "float8",
        ].contains(base)
    }

    /// The column's value for `record` as the text PostgreSQL casts to the column's type; nil is NULL.
    func value(of record: SubscriptionRecord, payload: PayloadLocation?) -> PostgresText? {
        switch source {
        case .eventID: return .string(record.eventID)
        case .partitionKey: return .string(record.partitionKey)
        case .team: return .string(record.team)
        case .app: return .string(record.app)
        case .sequence: return .string(String(record.sequence))
        case .receivedAt:
            if isNumeric { return .string(String(record.receivedAtMillis)) }
            var text: [UInt8] = []
            text.reserveCapacity(24)
            Timestamp.appendRFC3339(millis: record.receivedAtMillis, to: &text)
            return .bytes(text[...])
        case .payload:
            guard let payload else { return nil }
            return .bytes(record.envelope[payload.range])
        case .pointer(let tokens):
            guard let payload, let range = Self.resolve(tokens, in: record.envelope, at: payload.range) else { return nil }
            let value = record.envelope[range]
            if value.first == UInt8(ascii: "\"") { return EnvelopeScanner.decodeString(record.envelope, range: range).map { .string($0) } }
            if value.elementsEqual("null".utf8) { return nil }
            return .bytes(value)
        }
    }

    /// The range of the value at `tokens` inside the JSON value at `range` of `bytes`; nil when a step is missing.
    static func resolve(_ tokens: [String], in bytes: [UInt8], at range: Range<Int>) -> Range<Int>? {
        var current = range
        for token in tokens {
            let value = Array(bytes[current])
            switch value.first {
            case UInt8(ascii: "{"):
                guard let members = try? EnvelopeScanner.objectMembers(value, keys: [token]), let member = members[token] else { return nil }
                current = (current.lowerBound + member.lowerBound)..<(current.lowerBound + member.upperBound)
            case UInt8(ascii: "["):
                guard let index = Int(token), String(index) == token, index >= 0,
                    let elements = try? EnvelopeScanner.arrayElements(value), index < elements.count
                else { return nil }
                let element = elements[index]
                current = (current.lowerBound + element.lowerBound)..<(current.lowerBound + element.upperBound)
            default:
                return nil
            }
        }
        return current
    }
}

/// A column's value as the text PostgreSQL casts to the column's type: a string, or bytes of the record's envelope
/// (taken without a copy).
enum PostgresText: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case bytes(ArraySlice<UInt8>)

    var description: String {
        switch self {
        case .string(let text): text
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// Where a record's payload sits in its envelope: the envelope's `payload` member, or (for a Kafka message that is
/// not one of our envelopes) the whole value when it is JSON.
struct PayloadLocation {
    var range: Range<Int>

    init?(_ envelope: [UInt8]) {
        if let members = try? EnvelopeScanner.objectMembers(envelope, keys: ["v", "event_id", "payload"]), members["v"] != nil,
            members["event_id"] != nil, let payload = members["payload"]
        {
            range = payload
        } else if (try? EnvelopeScanner.validate(envelope)) != nil {
            let start = envelope.firstIndex { !Self.isSpace($0) } ?? envelope.endIndex
            let end = (envelope.lastIndex { !Self.isSpace($0) }).map { $0 + 1 } ?? start
            range = start..<max(start, end)
        } else {
            return nil
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
