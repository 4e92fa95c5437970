import Synchronization

/// Where a replay moves a subscription.
public enum ReplayTarget: Sendable, Equatable {
    /// The first record received at or after this Unix ms.
    case timestamp(Int64)
    /// This source position (clamped to what the source still holds); for Kafka, this offset in every partition.
    case sequence(UInt64)
    /// For Kafka: these partitions to these offsets (the others stay where they are).
    case offsets([PartitionOffset])
}

/// A subscription's shared state: its status, pause and resume, replay requests, and the signal that wakes its
/// loop from an idle wait when one of them changes.
final class SubscriptionControl: Sendable {
    private struct State {
        var status = SubscriptionStatus()
        var isPaused = false
        var pendingReplay: ReplayTarget?
        var signalWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var resumeWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        /// Bumped by every signal, so a waiter that registers after one does not miss it.
        var generation = 0

        mutating func takeSignalWaiters() -> [CheckedContinuation<Void, Never>] {
            generation += 1
            let waiters = Array(signalWaiters.values)
            signalWaiters = [:]
            return waiters
        }
    }

    private let state = Mutex(State())

    var status: SubscriptionStatus { state.withLock { $0.status } }
    var isPaused: Bool { state.withLock { $0.isPaused } }

    func update(_ body: (inout SubscriptionStatus) -> Void) {
        state.withLock { body(&$0.status) }
    }

    func pause() {
        let waiters = state.withLock { s in
            s.isPaused = true
            s.status.state = .paused
            return s.takeSignalWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    func resume() {
        let waiters = state.withLock { s in
            s.isPaused = false
            if s.status.state == .paused { s.status.state = .running }
            let resumed = Array(s.resumeWaiters.values)
            s.resumeWaiters = [:]
            return resumed + s.takeSignalWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    func requestReplay(_ target: ReplayTarget) {
        let waiters = state.withLock { s in
            s.pendingReplay = target
            return s.takeSignalWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    func takeReplay() -> ReplayTarget? {
        state.withLock { s in
            defer { s.pendingReplay = nil }
            return s.pendingReplay
        }
    }

    /// The current signal generation: pass it to ``waitForSignal(after:)``.
    var generation: Int { state.withLock { $0.generation } }

    /// Returns once pause, resume or a replay request happened after `generation`, or when the task is cancelled.
    func waitForSignal(after generation: Int) async {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.generation != generation || Task.isCancelled { return true }
                    s.signalWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.signalWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Returns at once unless paused; otherwise when resumed.
    /// - Throws: `CancellationError` when the task is cancelled while it waits.
    func waitWhilePaused() async throws(CancellationError) {
        while true {
            if Task.isCancelled { throw CancellationError() }
            let id: Int? = state.withLock { s in
                guard s.isPaused else { return nil }
                s.nextWaiter += 1
                return s.nextWaiter
            }
            guard let id else { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s in
                        if !s.isPaused || Task.isCancelled { return true }
                        s.resumeWaiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { $0.resumeWaiters.removeValue(forKey: id) }
                waiter?.resume()
            }
        }
    }
}
