internal import Foundation

/// Which events of a stream a live connection or an events page wants: all of them, those with one partition key,
/// and/or those whose payload holds `value` at a JSON pointer (`?partition_key=k`, `?pointer=/status&value=paid`).
public struct LiveFilter: Sendable, Equatable {
    /// Only events with this partition key.
    public var partitionKey: String?
    /// Only events whose payload has ``value`` at this JSON pointer (RFC 6901), as reference tokens.
    public var pointer: [String]?
    /// The value the pointer must hold: the query's text parsed as JSON (`42`, `true`, `"x"`), else the text as a
    /// string (`paid`).
    public var value: LiveJSONValue?

    /// A filter from the query's `partition_key`, `pointer` and `value`.
    /// - Throws: ``LiveRequestError`` naming the parameter when the pointer is malformed or one of pointer/value
    ///   comes without the other.
    public init(partitionKey: String?, pointer: String?, value: String?) throws(LiveRequestError) {
        self.partitionKey = partitionKey
        switch (pointer, value) {
        case (nil, nil):
            break
        case (let pointer?, let value?):
            self.pointer = try Self.tokens(of: pointer)
            self.value = LiveJSONValue(queryText: value)
        case (nil, _?):
            throw LiveRequestError(parameter: "value", message: "needs 'pointer' (a JSON pointer into the payload, e.g. /status)")
        case (_?, nil):
            throw LiveRequestError(parameter: "pointer", message: "needs 'value' (the value the payload holds there)")
        }
    }

    /// Whether every event passes (no partition key, no pointer).
    public var isEmpty: Bool { partitionKey == nil && pointer == nil }

    /// Whether `record` passes.
    public func matches(partitionKey key: String, envelope: ArraySlice<UInt8>) -> Bool {
        if let partitionKey, key != partitionKey { return false }
        guard let pointer, let value else { return true }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(envelope), options: [.fragmentsAllowed])) as? [String: Any],
            var node = object["payload"]
        else { return false }
        for token in pointer {
            if let dictionary = node as? [String: Any], let next = dictionary[token] {
                node = next
            } else if let array = node as? [Any], let index = Int(token), token == String(index), index >= 0, index < array.count {
                node = array[index]
            } else {
                return false
            }
        }
        return LiveJSONValue(node) == value
    }

    /// The reference tokens of a JSON pointer (`""` is the whole payload; `~1` is `/`, `~0` is `~`).
    static func tokens(of pointer: String) throws(LiveRequestError) -> [String] {
        guard !pointer.isEmpty else { return [] }
        guard pointer.hasPrefix("/") else {
            throw LiveRequestError(parameter: "pointer", message: "'\(pointer)' is not a JSON pointer (it starts with '/', e.g. /order/status)")
        }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }
}

/// A JSON value a filter compares a payload's value with, kept as its serialization by `JSONSerialization` (so
/// `42`, `true`, `"paid"` and `null` compare as JSON, whatever their spelling in the query).
public struct LiveJSONValue: Sendable, Equatable {
    let canonical: [UInt8]

    /// The query's text as JSON when it parses as JSON, else as a JSON string.
    init(queryText text: String) {
        let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
        self.canonical = Self.serialize(parsed) ?? []
    }

    /// A value JSONSerialization produced; nil when it cannot be written back.
    init?(_ value: Any) {
        guard let canonical = Self.serialize(value) else { return nil }
        self.canonical = canonical
    }

    private static func serialize(_ value: Any) -> [UInt8]? {
        (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])).map(Array.init)
    }
}

/// A live-stream or events request the gateway cannot serve as asked: answered 400 with the parameter named.
public struct LiveRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The query parameter or header at fault (`from`, `Last-Event-ID`, `pointer`).
    public var parameter: String
    public var message: String

    public init(parameter: String, message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { "\(parameter): \(message)" }
}
