/// The limits of one batch: it closes when it holds ``maxEvents`` items, when the next item would take it past
/// ``maxBytes``, or once it is ``maxAge`` old.
public struct BatchLimits: Sendable, Equatable {
    /// The most items in one batch.
    public var maxEvents: Int
    /// The most bytes in one batch (as the sink counts them; see ``RequestBuilder/size(of:)``). A single item larger
    /// than this forms a batch of its own.
    public var maxBytes: Int
    /// How long a batch stays open after its first item arrived.
    public var maxAge: Duration

    /// - Parameters:
    ///   - maxEvents: the most items in one batch (at least 1).
    ///   - maxBytes: the most bytes in one batch.
    ///   - maxAge: how long a batch stays open.
    public init(maxEvents: Int = .max, maxBytes: Int = .max, maxAge: Duration) {
        self.maxEvents = max(maxEvents, 1)
        self.maxBytes = max(maxBytes, 0)
        self.maxAge = maxAge
    }
}

/// Collects items into batches bounded by count, bytes and age (a value type: the owner keeps it in its own state).
///
/// ``append(_:bytes:)`` hands out the batches an item closed: an item that does not fit closes the open batch first,
/// and an item larger than ``BatchLimits/maxBytes`` on its own forms its own batch. Age is read from the injected
/// clock: the owner waits for ``deadline`` (its timer, its tick) and calls ``takeIfExpired()``; the batcher never
/// sleeps. ``takeAll()`` closes the open batch whatever its state (a flush, a graceful shutdown).
///
/// ```swift
/// var batcher = Batcher<SinkRecord, ContinuousClock>(limits: BatchLimits(maxEvents: 500, maxAge: .seconds(1)), clock: ContinuousClock())
/// for batch in batcher.append(record, bytes: record.event.envelope.count) { send(batch.items) }
/// ```
public struct Batcher<Item, C: Clock> where C.Duration == Duration {
    /// A closed batch, in arrival order.
    public struct Batch {
        /// The items, in the order they were appended.
        public var items: [Item]
        /// Their byte sizes together.
        public var bytes: Int
    }

    /// The limits every batch honours.
    public let limits: BatchLimits
    private let clock: C
    private var items: [Item] = []
    private var bytes = 0
    private var openedAt: C.Instant?

    /// - Parameters:
    ///   - limits: when a batch closes.
    ///   - clock: where age is read (a `ManualClock` in tests).
    public init(limits: BatchLimits, clock: C) {
        self.limits = limits
        self.clock = clock
    }

    /// Whether no batch is open.
    public var isEmpty: Bool { items.isEmpty }
    /// Items in the open batch.
    public var count: Int { items.count }
    /// Bytes in the open batch.
    public var byteCount: Int { bytes }
    /// When the open batch reaches its maximum age; nil when none is open.
    public var deadline: C.Instant? { openedAt.map { $0.advanced(by: limits.maxAge) } }

    /// Whether the open batch is at least ``BatchLimits/maxAge`` old.
    public var isExpired: Bool {
        guard let deadline else { return false }
        return clock.now >= deadline
    }

    /// Adds `item`, `bytes` long, and returns the batches this closed, oldest first (none, one or two).
    public mutating func append(_ item: Item, bytes size: Int) -> [Batch] {
        var closed: [Batch] = []
        let size = max(size, 0)
        // An item that does not fit (or arrives after the open batch's deadline) closes the open batch first.
        if !items.isEmpty, size > limits.maxBytes - bytes || isExpired {
            closed.append(close())
        }
        if items.isEmpty { openedAt = clock.now }
        items.append(item)
        bytes += size
        // No overflow: an open batch holds fewer than `maxBytes`, and an item joins it only if it fits.
        if items.count >= limits.maxEvents || bytes >= limits.maxBytes {
            closed.append(close())
        }
        return closed
    }

    /// The open batch if it reached its maximum age, else nil.
    public mutating func takeIfExpired() -> Batch? {
        isExpired ? close() : nil
    }

    /// The open batch, whatever its size and age; nil when none is open.
    public mutating func takeAll() -> Batch? {
        items.isEmpty ? nil : close()
    }

    private mutating func close() -> Batch {
        defer {
            items = []
            bytes = 0
            openedAt = nil
        }
        return Batch(items: items, bytes: bytes)
    }
}

extension Batcher: Sendable where Item: Sendable {}
extension Batcher.Batch: Sendable where Item: Sendable {}
extension Batcher.Batch: Equatable where Item: Equatable {}
