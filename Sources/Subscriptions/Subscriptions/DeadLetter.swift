internal import Foundation

/// Records a subscription gave up on, with why (the metadata of Lambda's on-failure records).
public struct DeadLetter: Sendable, Equatable, Codable {
    /// Why the records are here.
    public enum Condition: String, Sendable, Codable, CaseIterable {
        /// `maximum_retry_attempts` failed calls.
        case retryAttemptsExhausted = "RetryAttemptsExhausted"
        /// Older than `maximum_record_age_seconds` when their turn came.
        case recordAgeExceeded = "RecordAgeExceeded"
        /// The handler can never take them (e.g. a refused destination).
        case permanentFailure = "PermanentFailure"
        /// The log dropped them (retention or quota) before the subscription read them: only the range is known.
        case retentionGap = "RetentionGap"
    }

    /// One failed call, as dead letters and `last_error` show it.
    public struct ErrorInfo: Sendable, Equatable, Codable {
        public var kind: String
        public var status: Int?
        public var message: String
        public var bodyExcerpt: String?
        /// Unix ms.
        public var at: Int64

        public init(_ failure: HandlerFailure, at: Int64) {
            self.kind = failure.kind.description
            self.status = failure.status
            self.message = failure.message
            self.bodyExcerpt = failure.bodyExcerpt
            self.at = at
        }

        enum CodingKeys: String, CodingKey {
            case kind, status, message, at
            case bodyExcerpt = "body_excerpt"
        }
    }

    /// Unique within the subscription.
    public var id: String
    public var subscription: String
    public var condition: Condition
    /// Handler calls made for these records.
    public var attempts: Int
    public var firstError: ErrorInfo?
    public var lastError: ErrorInfo?
    /// The source positions covered, inclusive.
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Unix ms of the first and last record's arrival (nil for a retention gap).
    public var firstReceivedAtMillis: Int64?
    public var lastReceivedAtMillis: Int64?
    /// When the records became dead letters (Unix ms).
    public var deadLetteredAtMillis: Int64
    /// The records, kept for inspection and redrive (empty for a retention gap).
    public var records: [SubscriptionRecord]
    /// Set only on what a destination with a message-size limit receives (``parts(fittingIn:)``): which part of the
    /// dead letter this is (1-based) and how many there are.
    public var part: Int?
    public var parts: Int?
    /// Set only on a part whose one record is too large for the destination: the records left out (the gateway's
    /// own store keeps them).
    public var recordsOmitted: Int?

    public init(
        id: String, subscription: String, condition: Condition, attempts: Int, firstError: ErrorInfo?, lastError: ErrorInfo?,
        firstSequence: UInt64, lastSequence: UInt64, deadLetteredAtMillis: Int64, records: [SubscriptionRecord]
    ) {
        self.id = id
        self.subscription = subscription
        self.condition = condition
        self.attempts = attempts
        self.firstError = firstError
        self.lastError = lastError
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.firstReceivedAtMillis = records.first?.receivedAtMillis
        self.lastReceivedAtMillis = records.last?.receivedAtMillis
        self.deadLetteredAtMillis = deadLetteredAtMillis
        self.records = records
    }

    enum CodingKeys: String, CodingKey {
        case id, subscription, condition, attempts, records
        case firstError = "first_error"
        case lastError = "last_error"
        case firstSequence = "first_sequence"
        case lastSequence = "last_sequence"
        case firstReceivedAtMillis = "first_received_at_ms"
        case lastReceivedAtMillis = "last_received_at_ms"
        case deadLetteredAtMillis = "dead_lettered_at_ms"
        case part, parts
        case recordsOmitted = "records_omitted"
    }
}

/// A dead letter's record: the envelope is stored as its JSON text.
extension SubscriptionRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case sequence, team, app, envelope, topic, partition
        case eventID = "event_id"
        case partitionKey = "partition_key"
        case receivedAtMillis = "received_at_ms"
        case envelopeBase64 = "envelope_base64"
        case keyBase64 = "key_base64"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let envelope: [UInt8]
        if let text = try container.decodeIfPresent(String.self, forKey: .envelope) {
            envelope = Array(text.utf8)
        } else {
            envelope = try container.decode(Data.self, forKey: .envelopeBase64).map { $0 }
        }
        var kafka: KafkaOrigin?
        if let topic = try container.decodeIfPresent(String.self, forKey: .topic) {
            kafka = KafkaOrigin(
                topic: topic, partition: try container.decode(Int32.self, forKey: .partition),
                key: try container.decodeIfPresent(Data.self, forKey: .keyBase64).map { Array($0) })
        }
        self.init(
            sequence: try container.decode(UInt64.self, forKey: .sequence), eventID: try container.decode(String.self, forKey: .eventID),
            team: try container.decode(String.self, forKey: .team), app: try container.decode(String.self, forKey: .app),
            partitionKey: try container.decode(String.self, forKey: .partitionKey),
            receivedAtMillis: try container.decode(Int64.self, forKey: .receivedAtMillis), envelope: envelope, kafka: kafka)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(team, forKey: .team)
        try container.encode(app, forKey: .app)
        try container.encode(partitionKey, forKey: .partitionKey)
        try container.encode(receivedAtMillis, forKey: .receivedAtMillis)
        // Text when it is UTF-8 (every envelope of ours), base64 otherwise (a Kafka message can hold any bytes).
        if let text = String(validating: envelope, as: UTF8.self) {
            try container.encode(text, forKey: .envelope)
        } else {
            try container.encode(Data(envelope), forKey: .envelopeBase64)
        }
        if let kafka {
            try container.encode(kafka.topic, forKey: .topic)
            try container.encode(kafka.partition, forKey: .partition)
            try container.encodeIfPresent(kafka.key.map { Data($0) }, forKey: .keyBase64)
        }
    }
}

/// A failure of the dead-letter store.
public struct DeadLetterStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Sends each dead letter on to `on_failure`'s destination (a Kafka topic), after the gateway's own store has it.
public protocol DeadLetterForwarder: Sendable {
    /// Where the dead letters go, for logs (`kafka topic orders-dlq`).
    var destination: String { get }
    /// Returns once the destination has the dead letter durably (for Kafka: its delivery report).
    func forward(_ letter: DeadLetter) async throws
}

/// One subscription's dead letters: an append-only NDJSON file (`<dir>/<subscription>.ndjson`, each line synced)
/// of dead letters and redrive marks, or memory only when the log is in memory.
public actor DeadLetterStore {
    private struct RedriveMark: Codable {
        var redriven: String
        var at: Int64
    }

    private let path: String?
    private var entries: [DeadLetter] = []
    private var counter = 0
    /// `on_failure`'s destination beyond this store, when it has one.
    public nonisolated let forwarder: (any DeadLetterForwarder)?

    /// Opens (or creates) the store; `directory` nil keeps it in memory.
    public init(directory: String?, subscription: String, forwarder: (any DeadLetterForwarder)? = nil) throws(DeadLetterStoreError) {
        self.forwarder = forwarder
        guard let directory else {
            self.path = nil
            return
        }
        let path = directory + "/" + subscription + ".ndjson"
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DeadLetterStoreError(path: directory, message: "cannot create the dead-letter directory: \(error)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let decoder = JSONDecoder()
        var redriven = Set<String>()
        var loaded: [DeadLetter] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let letter = try? decoder.decode(DeadLetter.self, from: Data(line)) {
                loaded.append(letter)
            } else if let mark = try? decoder.decode(RedriveMark.self, from: Data(line)) {
                redriven.insert(mark.redriven)
            }
            // A torn last line (a crash mid-write) decodes as neither and is skipped.
        }
        self.counter = loaded.count
        self.entries = loaded.filter { !redriven.contains($0.id) }
    }

    /// A fresh id for a new dead letter.
    public func nextID(millis: Int64) -> String {
        counter += 1
        return "\(millis)-\(counter)"
    }

    /// Stores a dead letter (synced before it returns when on disk).
    public func add(_ letter: DeadLetter) throws(DeadLetterStoreError) {
        try write(letter)
        entries.append(letter)
    }

    /// The dead letters not redriven yet, oldest first.
    public func list() -> [DeadLetter] { entries }

    /// Marks `id` as redriven: it leaves the list.
    public func markRedriven(_ id: String, at millis: Int64) throws(DeadLetterStoreError) {
        try write(RedriveMark(redriven: id, at: millis))
        entries.removeAll { $0.id == id }
    }

    private func write(_ value: some Encodable) throws(DeadLetterStoreError) {
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line: Data
        do {
            line = try encoder.encode(value)
        } catch {
            throw DeadLetterStoreError(path: path, message: "cannot encode a dead letter: \(error)")
        }
        line.append(UInt8(ascii: "\n"))
        guard let handle = FileHandle(forWritingAtPath: path) ?? Self.create(path) else {
            throw DeadLetterStoreError(path: path, message: "cannot open the dead-letter file for writing")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw DeadLetterStoreError(path: path, message: "cannot write a dead letter: \(error)")
        }
    }

    private static func create(_ path: String) -> FileHandle? {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { return nil }
        return FileHandle(forWritingAtPath: path)
    }
}
