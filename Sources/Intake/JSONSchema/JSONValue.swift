import Foundation

/// A JSON document as a tree: what a schema is written in and what it validates.
///
/// Equality is JSON equality: numbers compare by value (`1 == 1.0`), objects ignore member order.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, integer or not, of any size.
    case number(JSONNumber)
    /// A string (decoded: escapes resolved).
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in document order.
    case object(JSONObject)

    /// The member `key` when this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The JSON type name of the value (`"integer"` for numbers that are whole).
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let number): number.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let value): hasher.combine(value)
        case .number(let number): hasher.combine(number)
        case .string(let string): hasher.combine(string)
        case .array(let array):
            hasher.combine(array.count)
            for element in array { hasher.combine(element) }
        case .object(let object): hasher.combine(object)
        }
    }
}

/// A JSON number that keeps what a validator needs: whether it is whole, its exact value when it fits
/// (64-bit integer, or a decimal of up to 38 significant digits), and the nearest `Double`.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The nearest double (may be infinite for literals beyond its range).
    public let doubleValue: Double
    /// The exact value when the number is whole and fits in 64 bits.
    public let int64Value: Int64?
    /// Whether the number is mathematically an integer (`1.0` and `1e3` are; big integers are too).
    public let isInteger: Bool
    /// The exact value as a decimal, when it has at most 38 significant digits and a modest exponent.
    let exactDecimal: ExactDecimal?

    /// A whole number.
    public init(_ value: Int64) {
        doubleValue = Double(value)
        int64Value = value
        isInteger = true
        exactDecimal = nil
    }

    /// A whole number.
    public init(_ value: Int) { self.init(Int64(value)) }

    /// A binary floating-point number (whole values in the 64-bit range are stored exactly; others compare as doubles,
    /// so prefer parsing the literal when decimal exactness matters, as for `multipleOf`).
    public init(_ value: Double) {
        doubleValue = value
        let whole = value.isFinite && value.rounded(.towardZero) == value
        isInteger = whole
        if whole, let exact = Int64(exactly: value) {
            int64Value = exact
            exactDecimal = nil
        } else {
            // No decimal: `Decimal(Double)` is not exact, so such numbers compare as doubles.
            int64Value = nil
            exactDecimal = nil
        }
    }

    init(double: Double, int64: Int64?, isInteger: Bool, decimal: Decimal?) {
        doubleValue = double
        int64Value = int64
        self.isInteger = isInteger
        exactDecimal = int64 == nil ? decimal.map(ExactDecimal.init) : nil
    }

    /// The exact decimal value, when known.
    var decimal: Decimal? {
        if let int64Value { return Decimal(int64Value) }
        return exactDecimal?.value
    }

    public var description: String {
        if let int64Value { return String(int64Value) }
        if let exactDecimal { return exactDecimal.value.description }
        return doubleValue.description
    }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) == .orderedSame
    }

    public func hash(into hasher: inout Hasher) {
        if let int64Value {
            hasher.combine(int64Value)
        } else {
            hasher.combine(doubleValue)
        }
    }

    /// Orders two numbers exactly when both are exactly known, by their doubles otherwise.
    static func compare(_ lhs: JSONNumber, _ rhs: JSONNumber) -> ComparisonResult {
        if let a = lhs.int64Value, let b = rhs.int64Value {
            return a < b ? .orderedAscending : (a == b ? .orderedSame : .orderedDescending)
        }
        if let a = lhs.decimal, let b = rhs.decimal {
            return a < b ? .orderedAscending : (a == b ? .orderedSame : .orderedDescending)
        }
        let a = lhs.doubleValue
        let b = rhs.doubleValue
        return a < b ? .orderedAscending : (a == b ? .orderedSame : .orderedDescending)
    }

    /// Whether `self` is an integer multiple of `divisor` (exact for decimals; `divisor` is positive).
    func isMultiple(of divisor: JSONNumber) -> Bool {
        if let a = int64Value, let b = divisor.int64Value, b != 0 {
            return a.remainderReportingOverflow(dividingBy: b).partialValue == 0
        }
        if let a = decimal, let b = divisor.decimal, !b.isZero {
            var quotient = a / b
            if quotient.isNaN { return false }
            var rounded = Decimal()
            NSDecimalRound(&rounded, &quotient, 0, .plain)
            return rounded == quotient
        }
        let quotient = doubleValue / divisor.doubleValue
        guard quotient.isFinite else { return false }
        return quotient.rounded(.towardZero) == quotient
    }
}

/// A boxed decimal: keeps ``JSONNumber`` small for the common (integer) case.
final class ExactDecimal: Sendable, Hashable {
    let value: Decimal

    init(_ value: Decimal) { self.value = value }

    static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool { lhs.value == rhs.value }

    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// A JSON object: members in document order (for messages), with fast lookup by key.
///
/// A key that appears more than once keeps its first position and its last value.
public struct JSONObject: Sendable, Hashable, Sequence {
    /// The keys, in document order.
    public private(set) var keys: [String]
    /// The values, in the order of ``keys``.
    public private(set) var values: [JSONValue]
    /// Key → position, built only for objects large enough that a linear search would be slow.
    private var index: [String: Int]?

    /// Objects up to this many members are searched linearly.
    private static let linearSearchLimit = 12

    /// An object with the members in order (a repeated key keeps its first position and its last value).
    public init(_ members: [(key: String, value: JSONValue)]) {
        keys = []
        values = []
        keys.reserveCapacity(members.count)
        values.reserveCapacity(members.count)
        for (key, value) in members {
            if let existing = position(of: key) {
                values[existing] = value
            } else {
                keys.append(key)
                values.append(value)
                if index != nil {
                    index?[key] = keys.count &- 1
                } else if keys.count > Self.linearSearchLimit {
                    var built: [String: Int] = [:]
                    built.reserveCapacity(members.count)
                    for (offset, key) in keys.enumerated() { built[key] = offset }
                    index = built
                }
            }
        }
    }

    /// An object from parallel key and value arrays (as the parser collects them); repeated keys are merged as in
    /// ``init(_:)``.
    init(keys: [String], values: [JSONValue]) {
        var hasDuplicates = false
        if keys.count <= Self.linearSearchLimit {
            outer: for first in keys.indices {
                for second in keys.indices where second > first && keys[first] == keys[second] {
                    hasDuplicates = true
                    break outer
                }
            }
            if !hasDuplicates {
                self = JSONObject(uniqueKeys: keys, values: values, index: nil)
                return
            }
        } else {
            var built: [String: Int] = [:]
            built.reserveCapacity(keys.count)
            for (offset, key) in keys.enumerated() where built.updateValue(offset, forKey: key) != nil {
                hasDuplicates = true
                break
            }
            if !hasDuplicates {
                self = JSONObject(uniqueKeys: keys, values: values, index: built)
                return
            }
        }
        self = JSONObject(Array(zip(keys, values)).map { (key: $0.0, value: $0.1) })
    }

    private init(uniqueKeys: [String], values: [JSONValue], index: [String: Int]?) {
        self.keys = uniqueKeys
        self.values = values
        self.index = index
    }

    /// The number of members.
    public var count: Int { keys.count }

    /// The value of member `key`, if present.
    public subscript(key: String) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        return values[position]
    }

    /// The position of member `key` in ``keys``, if present.
    public func position(of key: String) -> Int? {
        if let index { return index[key] }
        for offset in keys.indices where keys[offset] == key { return offset }
        return nil
    }

    public func makeIterator() -> Zip2Sequence<[String], [JSONValue]>.Iterator {
        zip(keys, values).makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' own hashes.
        var sum = 0
        for (key, value) in self {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            sum = sum &+ member.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
