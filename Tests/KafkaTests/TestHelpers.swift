import Dispatch
import Foundation
import GatewayTesting
import KafkaClient
import Logging
import Synchronization

/// Collects delivery reports and lets a test wait (without sleeping) until `target` arrived.
final class ReportCollector: Sendable {
    private struct State {
        var reports: [KafkaDeliveryReport] = []
        var batches = 0
        var signaled = false
    }

    private let state = Mutex(State())
    private let reached = DispatchSemaphore(value: 0)
    let target: Int

    init(target: Int) { self.target = target }

    func add(_ batch: [KafkaDeliveryReport]) {
        let signal = state.withLock { state -> Bool in
            state.reports += batch
            state.batches += 1
            if !state.signaled && state.reports.count >= target {
                state.signaled = true
                return true
            }
            return false
        }
        if signal { reached.signal() }
    }

    /// Waits until `target` reports arrived; false on timeout.
    func wait(timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let nanos = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        return reached.wait(timeout: .now() + .nanoseconds(nanos)) == .success
    }

    var reports: [KafkaDeliveryReport] { state.withLock { $0.reports } }
    var batches: Int { state.withLock { $0.batches } }
}

/// A one-shot signal with a payload, set from a callback and awaited by the test.
final class Signal<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let semaphore = DispatchSemaphore(value: 0)

    func set(_ newValue: Value) {
        let first = value.withLock { value -> Bool in
            if value != nil { return false }
            value = newValue
            return true
        }
        if first { semaphore.signal() }
    }

    func wait(seconds: Int) -> Value? {
        guard semaphore.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
        return value.withLock { $0 }
    }
}

enum KafkaTestEnvironment {
    static let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .notice
        return logger
    }()

    /// Reads `expected` messages of `topic` with the Python confluent-kafka consumer.
    static func readBack(broker: TansuBroker, topic: String, expected: Int, timeoutSeconds: Int = 90) throws -> [ReadMessage] {
        try SinkTestEnvironment.readBack(broker: broker, topic: topic, expected: expected, timeoutSeconds: timeoutSeconds)
    }

    static func base64(_ bytes: [UInt8]?) -> String? {
        bytes.map { Data($0).base64EncodedString() }
    }
}
