import Crypto
import Foundation
import GatewayCore
import GatewayTesting
import KafkaSink
import Logging
import Synchronization

/// A `SinkReporter` that records every callback and lets a test await a condition on them: each
/// callback wakes the waiter through an `AsyncStream` (no sleeping, no polling).
final class RecordingReporter: Sendable {
    struct Snapshot: Sendable {
        /// Accepted receipts (with attempts) per sequence, in callback order.
        var accepted: [UInt64: [(receipt: Receipt, attempts: Int)]] = [:]
        /// How often each sequence was released.
        var released: [UInt64: Int] = [:]
        /// How many `released` calls there were.
        var releaseCalls = 0
        var rejected: [UInt64: [DeliveryFailure]] = [:]
        var lost: [DeliveryFailure] = []
        /// Sequences released before they were accepted (must stay empty).
        var releasedBeforeAccepted: [UInt64] = []
    }

    private let state = Mutex(Snapshot())
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var reporter: SinkReporter {
        SinkReporter(
            SinkReporter.Handlers(
                accepted: { record, receipt, attempts in
                    self.state.withLock { $0.accepted[record.sequence, default: []].append((receipt, attempts)) }
                    self.continuation.yield()
                },
                released: { sequences in
                    self.state.withLock { state in
                        state.releaseCalls += 1
                        for sequence in sequences {
                            state.released[sequence, default: 0] += 1
                            if state.accepted[sequence] == nil { state.releasedBeforeAccepted.append(sequence) }
                        }
                    }
                    self.continuation.yield()
                },
                rejected: { record, failure in
                    self.state.withLock { $0.rejected[record.sequence, default: []].append(failure) }
                    self.continuation.yield()
                },
                lostUnreleased: { failure in
                    self.state.withLock { $0.lost.append(failure) }
                    self.continuation.yield()
                }
            ))
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    /// Waits until `condition` holds for the recorded callbacks; false when `timeout` passed first.
    func wait(timeout: Duration, until condition: @escaping @Sendable (Snapshot) -> Bool) async -> Bool {
        if condition(snapshot) { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in self.stream where condition(self.snapshot) { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout) // a deadline, not synchronisation
                return condition(self.snapshot)
            }
            let result = await group.next() ?? false
            group.cancelAll()
            return result
        }
    }
}

enum SinkTestEnvironment {
    static let logger: Logger = {
        var logger = Logger(label: "kafka-sink-tests")
        logger.logLevel = .notice
        return logger
    }()

    /// A record routed to `topic` with sequence `sequence` and an envelope of `size` bytes
    /// (deterministic content).
    static func record(sequence: UInt64, topic: String, size: Int) -> SinkRecord {
        var envelope = Array("{\"v\":1,\"seq\":\(sequence),\"pad\":\"".utf8)
        let filler = max(0, size - envelope.count - 2)
        envelope.reserveCapacity(size + 64)
        for index in 0..<filler { envelope.append(UInt8(ascii: "a") + UInt8(truncatingIfNeeded: (index &+ Int(sequence)) % 26)) }
        envelope += Array("\"}".utf8)
        let event = EventRecord(
            eventID: "event-\(sequence)", team: "team-\(sequence % 3)", app: "app-\(sequence % 5)",
            partitionKey: "key-\(sequence)", receivedAtMillis: 1_700_000_000_000 + Int64(sequence),
            route: .kafka(topic: topic), envelope: envelope)
        return SinkRecord(position: LogPosition(sequence: sequence, segment: 0, offset: Int(sequence) * 100), event: event)
    }

    static func sha256Hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    static func base64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String { Data(bytes).base64EncodedString() }

    /// Reads `expected` messages of `topic` with the Python confluent-kafka consumer.
    static func readBack(broker: TansuBroker, topic: String, expected: Int, timeoutSeconds: Int = 120) throws -> [ReadMessage] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("read_topic.py")
        let output = try PythonScript.run(
            script, arguments: [broker.bootstrapServers, topic, String(expected), String(timeoutSeconds)],
            hint: "read_topic.py needs python3 with confluent-kafka: run scripts/kafka-peers.")
        let decoder = JSONDecoder()
        return try output.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(ReadMessage.self, from: Data($0)) }
    }

    /// Creates `topic`, tolerating a broker that already created it on its own.
    static func createTopic(_ topic: String, partitions: Int, on broker: TansuBroker) throws {
        do {
            try broker.createTopic(topic, partitions: partitions)
        } catch {
            if String(describing: error).localizedCaseInsensitiveContains("exist") { return }
            throw error
        }
    }
}

/// One message as read back by `read_topic.py`.
struct ReadMessage: Decodable {
    var partition: Int32
    var offset: Int64
    var key: String?
    var value_len: Int?
    var value_sha256: String?
    var value: String?
    var headers: [[String?]]

    /// The key as text.
    var keyText: String? { key.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } }

    /// Header values as text, by name.
    var headerTexts: [String: String] {
        var result: [String: String] = [:]
        for header in headers where header.count == 2 {
            guard let name = header[0] else { continue }
            result[name] = header[1].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        return result
    }
}

extension KafkaSink {
    /// Runs `body` while the sink's service runs (its retries and producer replacements), then closes the sink and
    /// waits for `run()` to return.
    func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            await close()
            try await group.waitForAll()
            return try result.get()
        }
    }
}
