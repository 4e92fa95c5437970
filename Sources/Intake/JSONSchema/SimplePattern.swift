/// A linear-time matcher for the common subset of patterns on ASCII strings: literals, `.`, classes (`[a-z0-9_-]`,
/// `[^...]`, `\d \w \s \D \W \S`), the quantifiers `? * + {n} {n,} {n,m}` (lazy forms too), `^` at the start and `$`
/// at the end; no groups, alternation or assertions. It runs as a bit-parallel NFA (at most 128 states), so no
/// pattern/instance pair can backtrack for long. Anything outside the subset, and non-ASCII strings, go to ICU.
struct SimplePattern: Sendable {
    /// A set of ASCII characters, one bit each.
    struct CharacterSet: Sendable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        mutating func insert(_ byte: UInt8) {
            if byte < 64 { low |= 1 << UInt64(byte) } else if byte < 128 { high |= 1 << UInt64(byte &- 64) }
        }

        mutating func insert(_ range: ClosedRange<UInt8>) { for byte in range { insert(byte) } }

        mutating func formUnion(_ other: CharacterSet) {
            low |= other.low
            high |= other.high
        }

        var inverted: CharacterSet { CharacterSet(low: ~low, high: ~high) }

        @inline(__always)
        func contains(_ byte: UInt8) -> Bool {
            byte < 64 ? low & (1 << UInt64(byte)) != 0 : high & (1 << UInt64(byte & 63)) != 0
        }

        static let digits: CharacterSet = {
            var set = CharacterSet()
            set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
            return set
        }()
        static let word: CharacterSet = {
            var set = digits
            set.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
            set.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
            set.insert(UInt8(ascii: "_"))
            return set
        }()
        static let space: CharacterSet = {
            var set = CharacterSet()
            for byte: UInt8 in [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20] { set.insert(byte) }
            return set
        }()
        static let dot: CharacterSet = {
            var set = CharacterSet(low: ~0, high: ~0)
            set.low &= ~(1 << 0x0A | 1 << 0x0D)
            return set
        }()
    }

    /// A 128-bit set of NFA states.
    struct StateSet {
        var low: UInt64 = 0
        var high: UInt64 = 0

        @inline(__always)
        func contains(_ state: Int) -> Bool {
            state < 64 ? low & (1 << UInt64(state)) != 0 : high & (1 << UInt64(state & 63)) != 0
        }

        @inline(__always)
        mutating func formUnion(_ other: StateSet) {
            low |= other.low
            high |= other.high
        }

        var isEmpty: Bool { low == 0 && high == 0 }
    }

    private struct State: Sendable {
        var characters: CharacterSet
        /// `*`: consumes any number of times (including none).
        var repeats: Bool
        /// `?` (and the optional copies of `{n,m}`): may be skipped.
        var optional: Bool
    }

    private static let maxStates = 127

    private var states: [State] = []
    /// `closures[p]`: the states reachable from position `p` without consuming (index `states.count` = accepted).
    private var closures: [(low: UInt64, high: UInt64)] = []
    private var anchoredStart = false
    private var anchoredEnd = false

    /// The matcher for `source`, or `nil` when the pattern is outside the subset.
    init?(_ source: String) {
        var bytes = Array(source.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        if bytes.first == UInt8(ascii: "^") {
            anchoredStart = true
            bytes.removeFirst()
        }
        if bytes.last == UInt8(ascii: "$") {
            // `\$` is a literal dollar: count the backslashes before it.
            var backslashes = 0
            var position = bytes.count &- 2
            while position >= 0, bytes[position] == UInt8(ascii: "\\") {
                backslashes &+= 1
                position &-= 1
            }
            if backslashes % 2 == 0 {
                anchoredEnd = true
                bytes.removeLast()
            }
        }
        var position = 0
        while position < bytes.count {
            guard let atom = Self.atom(bytes, &position) else { return nil }
            var minimum = 1
            var maximum: Int? = 1
            if position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "?"):
                    (minimum, maximum) = (0, 1)
                    position &+= 1
                case UInt8(ascii: "*"):
                    (minimum, maximum) = (0, nil)
                    position &+= 1
                case UInt8(ascii: "+"):
                    (minimum, maximum) = (1, nil)
                    position &+= 1
                case UInt8(ascii: "{"):
                    guard let (low, high) = Self.braces(bytes, &position) else { return nil }
                    (minimum, maximum) = (low, high)
                default:
                    break
                }
                if position < bytes.count, bytes[position] == UInt8(ascii: "?"), minimum != 1 || maximum != 1 {
                    position &+= 1 // lazy: the same set of matches
                }
            }
            for _ in 0..<minimum { states.append(State(characters: atom, repeats: false, optional: false)) }
            if let maximum {
                guard maximum >= minimum else { return nil }
                for _ in minimum..<maximum { states.append(State(characters: atom, repeats: false, optional: true)) }
            } else {
                states.append(State(characters: atom, repeats: true, optional: true))
            }
            if states.count > Self.maxStates { return nil }
        }
        closures = Array(repeating: (0, 0), count: states.count &+ 1)
        var next = StateSet()
        next.insert(states.count)
        closures[states.count] = (next.low, next.high)
        var position2 = states.count &- 1
        while position2 >= 0 {
            var closure = StateSet()
            closure.insert(position2)
            if states[position2].optional { closure.formUnion(next) }
            closures[position2] = (closure.low, closure.high)
            next = closure
            position2 &-= 1
        }
    }

    private static func escapeSet(_ byte: UInt8) -> CharacterSet? {
        switch byte {
        case UInt8(ascii: "d"): return .digits
        case UInt8(ascii: "D"): return CharacterSet.digits.inverted
        case UInt8(ascii: "w"): return .word
        case UInt8(ascii: "W"): return CharacterSet.word.inverted
        case UInt8(ascii: "s"): return .space
        case UInt8(ascii: "S"): return CharacterSet.space.inverted
        default: return nil
        }
    }

    /// An escaped literal: punctuation, `\t \n \r \f \v`; `nil` for anything with another meaning.
    private static func escapedLiteral(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "v"): return 0x0B
        default:
            let isPunctuation =
                (0x21...0x2F).contains(byte) || (0x3A...0x40).contains(byte) || (0x5B...0x60).contains(byte)
                || (0x7B...0x7E).contains(byte)
            return isPunctuation ? byte : nil
        }
    }

    private static func atom(_ bytes: [UInt8], _ position: inout Int) -> CharacterSet? {
        let byte = bytes[position]
        position &+= 1
        var set = CharacterSet()
        switch byte {
        case UInt8(ascii: "."):
            return .dot
        case UInt8(ascii: "\\"):
            guard position < bytes.count else { return nil }
            let escaped = bytes[position]
            position &+= 1
            if let class_ = escapeSet(escaped) { return class_ }
            guard let literal = escapedLiteral(escaped) else { return nil }
            set.insert(literal)
            return set
        case UInt8(ascii: "["):
            return characterClass(bytes, &position)
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"), UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "]"):
            return nil
        default:
            set.insert(byte)
            return set
        }
    }

    private static func characterClass(_ bytes: [UInt8], _ position: inout Int) -> CharacterSet? {
        var set = CharacterSet()
        var negated = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "^") {
            negated = true
            position &+= 1
        }
        var first = true
        while position < bytes.count {
            var byte = bytes[position]
            position &+= 1
            if byte == UInt8(ascii: "]") && !first { return negated ? set.inverted : set }
            first = false
            if byte == UInt8(ascii: "\\") {
                guard position < bytes.count else { return nil }
                let escaped = bytes[position]
                position &+= 1
                if let class_ = escapeSet(escaped) {
                    set.formUnion(class_)
                    continue
                }
                guard let literal = escapedLiteral(escaped) else { return nil }
                byte = literal
            } else if byte == UInt8(ascii: "[") {
                return nil // `[[:alpha:]]` and friends mean different things to different engines
            }
            // A range `a-z` (a `-` first or last is literal).
            if position &+ 1 < bytes.count, bytes[position] == UInt8(ascii: "-"), bytes[position &+ 1] != UInt8(ascii: "]") {
                var upper = bytes[position &+ 1]
                position &+= 2
                if upper == UInt8(ascii: "\\") {
                    guard position < bytes.count, let literal = escapedLiteral(bytes[position]) else { return nil }
                    upper = literal
                    position &+= 1
                }
                guard upper >= byte else { return nil }
                set.insert(byte...upper)
            } else {
                set.insert(byte)
            }
        }
        return nil
    }

    private static func braces(_ bytes: [UInt8], _ position: inout Int) -> (Int, Int?)? {
        position &+= 1
        func number(_ position: inout Int) -> Int? {
            var value = 0
            var digits = 0
            while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
                value = value &* 10 &+ Int(bytes[position] &- UInt8(ascii: "0"))
                digits &+= 1
                position &+= 1
                if digits > 4 { return nil }
            }
            return digits == 0 ? nil : value
        }
        guard let low = number(&position), position < bytes.count else { return nil }
        if bytes[position] == UInt8(ascii: "}") {
            position &+= 1
            return (low, low)
        }
        guard bytes[position] == UInt8(ascii: ","), position &+ 1 < bytes.count else { return nil }
        position &+= 1
        if bytes[position] == UInt8(ascii: "}") {
            position &+= 1
            return (low, nil)
        }
        guard let high = number(&position), position < bytes.count, bytes[position] == UInt8(ascii: "}") else { return nil }
        position &+= 1
        return (low, high)
    }

    @inline(__always)
    private func closure(_ position: Int) -> StateSet {
        let entry = closures[position]
        return StateSet(low: entry.low, high: entry.high)
    }

    /// Whether the pattern matches somewhere in `string`; `nil` when `string` is not ASCII (ask ICU).
    func matches(_ string: String) -> Bool? {
        var copy = string
        return copy.withUTF8 { bytes -> Bool? in
            let accept = states.count
            let start = closure(0)
            var current = start
            if !anchoredEnd && current.contains(accept) { return true }
            for byte in bytes {
                guard byte < 0x80 else { return nil }
                var next = StateSet()
                var remaining = current
                while !remaining.isEmpty {
                    let state: Int
                    if remaining.low != 0 {
                        state = remaining.low.trailingZeroBitCount
                        remaining.low &= remaining.low &- 1
                    } else {
                        state = 64 &+ remaining.high.trailingZeroBitCount
                        remaining.high &= remaining.high &- 1
                    }
                    guard state < accept, states[state].characters.contains(byte) else { continue }
                    next.formUnion(closure(states[state].repeats ? state : state &+ 1))
                }
                if !anchoredStart { next.formUnion(start) }
                if !anchoredEnd && next.contains(accept) { return true }
                if next.isEmpty && anchoredStart { return false }
                current = next
            }
            return current.contains(accept)
        }
    }
}

extension SimplePattern.StateSet {
    @inline(__always)
    fileprivate mutating func insert(_ state: Int) {
        if state < 64 { low |= 1 << UInt64(state) } else { high |= 1 << UInt64(state & 63) }
    }
}
