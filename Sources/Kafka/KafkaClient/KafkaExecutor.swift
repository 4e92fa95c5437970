internal import Foundation
internal import Synchronization

/// The one place librdkafka's blocking calls run: a dedicated OS thread (never a cooperative-pool thread) that is also
/// a `TaskExecutor`.
///
/// Each client (``KafkaProducer``, ``KafkaTopicReader``) owns one. It runs, in order, one at a time:
/// - the client's own work items (``submit(_:)``): the producer's poll loop (one `rd_kafka_poll` per item, so other
///   work interleaves within one poll timeout), its close (flush, purge, destroy);
/// - task jobs, for code that runs on it through `withTaskExecutorPreference` (``run(_:)``): `rd_kafka_flush`, the
///   reader's `rd_kafka_consumer_poll` loop.
///
/// ``shutdown()`` lets the thread finish what is queued and exit. A task job enqueued after the thread exited runs on
/// the global concurrent executor instead (it must not be lost); a work item submitted then is dropped.
public final class KafkaExecutor: TaskExecutor, @unchecked Sendable { // all mutable state is behind `queue`
    private enum Work {
        case job(UnownedJob)
        case item(@Sendable () -> Void)
    }

    private struct Queue {
        var work: [Work] = []
        var head = 0
        var isShuttingDown = false
        var hasExited = false
    }

    private let queue = Mutex(Queue())
    /// Signalled on every enqueue and on shutdown; the thread waits on it when idle.
    private let wakeUp = NSCondition()
    private let thread: Thread?

    /// Starts the thread, named `name` (shown by debuggers and `top -H`).
    public init(name: String) {
        let box = ThreadBox()
        let thread = Thread { box.executor?.runLoop() }
        thread.name = name
        self.thread = thread
        box.executor = self
        thread.start()
    }

    /// Lets the thread exit once its queue is empty. Idempotent; never blocks.
    public func shutdown() {
        wakeUp.lock()
        queue.withLock { $0.isShuttingDown = true }
        wakeUp.broadcast()
        wakeUp.unlock()
    }

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool { thread.map { Thread.current == $0 } ?? false }

    /// Runs `work` on the thread after everything queued before it. Returns false (and drops `work`) when the thread
    /// has exited.
    @discardableResult
    func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        enqueue(.item(work))
    }

    /// Runs `operation` (blocking calls) on this executor's thread and returns its result.
    public func run<T, Failure: Error>(_ operation: () throws(Failure) -> T) async throws(Failure) -> T {
        try await withTaskExecutorPreference(self) { () async throws(Failure) -> T in
            try operation()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !enqueue(.job(unowned)) {
            // The thread is gone: a job must still run, so it runs on the shared pool.
            globalConcurrentExecutor.enqueue(unowned)
        }
    }

    private func enqueue(_ work: Work) -> Bool {
        wakeUp.lock()
        defer { wakeUp.unlock() }
        let accepted = queue.withLock { queue -> Bool in
            if queue.hasExited { return false }
            queue.work.append(work)
            return true
        }
        if accepted { wakeUp.signal() }
        return accepted
    }

    private func runLoop() {
        let executor = asUnownedTaskExecutor()
        while let work = next() {
            switch work {
            case .job(let job): job.runSynchronously(on: executor)
            case .item(let item): item()
            }
        }
    }

    /// The next piece of work, waiting while there is none; nil once shut down and drained.
    private func next() -> Work? {
        wakeUp.lock()
        defer { wakeUp.unlock() }
        while true {
            let taken = queue.withLock { queue -> (work: Work?, exit: Bool) in
                if queue.head < queue.work.count {
                    let work = queue.work[queue.head]
                    queue.head += 1
                    if queue.head == queue.work.count {
                        queue.work.removeAll(keepingCapacity: true)
                        queue.head = 0
                    }
                    return (work, false)
                }
                if queue.isShuttingDown {
                    queue.hasExited = true
                    return (nil, true)
                }
                return (nil, false)
            }
            if let work = taken.work { return work }
            if taken.exit { return nil }
            wakeUp.wait()
        }
    }
}

/// Hands the executor to its thread: the running thread keeps its executor alive, so nothing queued is lost, until
/// ``KafkaExecutor/shutdown()`` lets it drain and exit.
private final class ThreadBox: @unchecked Sendable { // written once before the thread starts
    var executor: KafkaExecutor?
}
