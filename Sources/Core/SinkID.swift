/// A sink's identity, registered in the wiring: its name and its slot.
///
/// Sinks are open: each declares its identity in its own module (`extension SinkID { static let kinesis = … }`) and
/// the wiring registers it once. The *name* names the sink's cursor in the log, its metrics dimension and its log
/// metadata; the *route name* is how a route to it appears in responses and metrics (`local` for the archive, which is
/// the embedded default); the *slot* is the sink's bit in a record's ``SinkSet`` as the log stores it, so a slot is
/// never reused for another sink.
public struct SinkID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The highest slot plus one: a ``SinkSet`` is 32 bits.
    public static let slotCount: UInt8 = 32

    /// The sink's name: its cursor in the log, its `sink` metrics dimension.
    public let name: String
    /// How a route to this sink appears in responses and metrics (`route` field, `route` dimension).
    public let routeName: String
    /// The sink's bit in a ``SinkSet``, stable on disk (`0 ..< 32`).
    public let slot: UInt8

    /// Declares a sink identity. `slot` is taken modulo ``slotCount``; the wiring refuses two sinks on one slot.
    public init(name: String, slot: UInt8, routeName: String? = nil) {
        self.name = name
        self.slot = slot % Self.slotCount
        self.routeName = routeName ?? name
    }

    /// The identity of a slot no registered sink claims (a record written by a configuration with more sinks).
    public init(unregisteredSlot slot: UInt8) {
        self.init(name: "sink\(slot % Self.slotCount)", slot: slot)
    }

    /// This sink's bit in a ``SinkSet``.
    public var bit: UInt32 { 1 << UInt32(slot) }

    public var description: String { name }

    public static func == (lhs: SinkID, rhs: SinkID) -> Bool { lhs.slot == rhs.slot }
    public func hash(into hasher: inout Hasher) { hasher.combine(slot) }
    public static func < (lhs: SinkID, rhs: SinkID) -> Bool { lhs.slot < rhs.slot }
}

/// The sinks a record goes to: a set of ``SinkID`` slots, stored in the log as 32 bits.
public struct SinkSet: Sendable, Hashable, CustomStringConvertible {
    /// The slots as bits.
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public init(_ sinks: some Sequence<SinkID>) {
        rawValue = sinks.reduce(0) { $0 | $1.bit }
    }

    /// No sink.
    public static let empty = SinkSet(rawValue: 0)

    public func contains(_ sink: SinkID) -> Bool { rawValue & sink.bit != 0 }
    public var isEmpty: Bool { rawValue == 0 }

    public mutating func insert(_ sink: SinkID) { rawValue |= sink.bit }

    public func union(_ other: SinkSet) -> SinkSet { SinkSet(rawValue: rawValue | other.rawValue) }

    /// The slots in the set, lowest first.
    public var slots: [UInt8] { (0..<SinkID.slotCount).filter { rawValue & (1 << UInt32($0)) != 0 } }

    public var description: String { "[" + slots.map(String.init).joined(separator: ",") + "]" }
}

/// Resolves the slots stored in the log to the sinks this process registered.
public struct SinkTable: Sendable {
    private var bySlot: [UInt8: SinkID] = [:]

    /// The registered sinks (the wiring checks that no two share a slot; a later one with the same slot wins here).
    public init(_ sinks: some Sequence<SinkID>) {
        for sink in sinks { bySlot[sink.slot] = sink }
    }

    /// The registered sink on `slot`, or an unregistered placeholder.
    public func sink(slot: UInt8) -> SinkID {
        bySlot[slot % SinkID.slotCount] ?? SinkID(unregisteredSlot: slot)
    }

    /// Every registered sink, by slot.
    public var sinks: [SinkID] { bySlot.values.sorted() }
}
