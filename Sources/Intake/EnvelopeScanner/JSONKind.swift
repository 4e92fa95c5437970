/// The kind of a JSON value, as told by its first byte.
enum JSONKind: Sendable, Equatable {
    case object, array, string, number, boolean, null

    /// The kind of value that starts with `byte`, or `nil` when no value can start with it.
    init?(firstByte byte: UInt8) {
        switch byte {
        case ASCII.openBrace: self = .object
        case ASCII.openBracket: self = .array
        case ASCII.quote: self = .string
        case ASCII.minus, ASCII.zero...ASCII.nine: self = .number
        case ASCII.lowerT, ASCII.lowerF: self = .boolean
        case ASCII.lowerN: self = .null
        default: return nil
        }
    }

    /// The kind with an article, for messages: "an object", "a number".
    var phrase: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .boolean: "a boolean"
        case .null: "null"
        }
    }
}
