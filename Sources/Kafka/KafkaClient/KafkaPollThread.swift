internal import CRDKafka
internal import Dispatch
internal import Foundation
internal import Synchronization

/// A dedicated OS thread (not the cooperative pool) that serves a client's main queue:
/// `rd_kafka_poll(handle, 100 ms)` in a loop, handing each poll's delivery reports to the
/// handler as one batch. librdkafka runs the delivery-report, statistics and OAUTHBEARER
/// callbacks from inside `rd_kafka_poll`, so they all run here.
final class KafkaPollThread: @unchecked Sendable {  // `thread` is immutable; Thread identity checks are thread safe
    private final class Control: Sendable {
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    private let control = Control()
    private let thread: Thread
    private let joined = Mutex(false)

    init(handle: KafkaPointer, context: KafkaClientContext, name: String, pollTimeoutMs: Int32 = 100) {
        let control = self.control
        thread = Thread {
            while !control.stop.load(ordering: .acquiring) {
                _ = rd_kafka_poll(handle.pointer, pollTimeoutMs)
                context.deliverPending()
            }
            control.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the caller is running on this poll thread (i.e. inside one of its callbacks).
    var isCurrent: Bool { Thread.current == thread }

    /// Asks the loop to stop and waits until it has (at most one poll timeout). Idempotent.
    /// Must not be called from the poll thread itself.
    func stopAndJoin() {
        let first = joined.withLock { joined in
            defer { joined = true }
            return !joined
        }
        guard first else { return }
        control.stop.store(true, ordering: .releasing)
        control.finished.wait()
    }
}
