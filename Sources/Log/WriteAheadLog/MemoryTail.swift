// The in-memory tail: the most recent acknowledged records, bounded by `memoryTailBytes` (counted in
// encoded record bytes). Readers that keep up are served from here and never touch files.

/// A record kept in the memory tail with its encoded size.
struct TailEntry: Sendable {
    var record: LogRecord
    var size: Int
}

/// A FIFO of consecutive records (sequences `firstSequence ..< firstSequence + count`).
struct MemoryTail: Sendable {
    /// Byte budget; the oldest entries are dropped (they remain on disk) when it is exceeded.
    let limit: Int
    private var entries: [TailEntry?] = []
    private var head = 0
    /// Encoded bytes currently held.
    private(set) var bytes = 0

    init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Sequence of the oldest record held, nil if empty.
    var firstSequence: UInt64? {
        head < entries.count ? entries[head]?.record.sequence : nil
    }

    /// Number of records held.
    var count: Int { entries.count - head }

    /// Appends a record (whose sequence must follow the last one held), then drops the oldest over budget.
    mutating func append(_ entry: TailEntry) {
        if limit == 0 { return }
        entries.append(entry)
        bytes += entry.size
        while bytes > limit, head < entries.count {
            bytes -= entries[head]?.size ?? 0
            entries[head] = nil // release the body now
            head += 1
        }
        if head >= 1024, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Drops everything (used when the log fails).
    mutating func removeAll() {
        entries = []
        head = 0
        bytes = 0
    }

    /// The entry holding `sequence`, if it is in memory.
    func entry(at sequence: UInt64) -> TailEntry? {
        guard let first = firstSequence, sequence >= first else { return nil }
        let distance = sequence - first
        guard distance < UInt64(count) else { return nil }
        return entries[head + Int(distance)]
    }

    /// Up to `maxRecords` records starting at `sequence`, stopping before `maxBytes` would be exceeded
    /// (but at least one). Also returns the position just past the last one (segment, offset, sequence).
    func collect(from sequence: UInt64, maxRecords: Int, maxBytes: Int) -> (records: [LogRecord], after: FileHint?) {
        guard let first = firstSequence, sequence >= first else { return ([], nil) }
        var index = head + Int(sequence - first)
        var records: [LogRecord] = []
        var total = 0
        var after: FileHint?
        while index < entries.count, records.count < maxRecords, let entry = entries[index] {
            if !records.isEmpty && total + entry.size > maxBytes { break }
            records.append(entry.record)
            total += entry.size
            after = FileHint(
                segment: entry.record.segment, offset: entry.record.offset + entry.size,
                sequence: entry.record.sequence + 1)
            index += 1
        }
        return (records, after)
    }
}

/// A known file position: the record with `sequence` starts at `offset` in `segment` (if it is in that segment).
struct FileHint: Sendable, Equatable {
    var segment: UInt64
    var offset: Int
    var sequence: UInt64
}
