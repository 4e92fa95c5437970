public import GatewayCore
import Synchronization

/// What a confirmed request learns about its event.
public enum Confirmation: Sendable, Equatable {
    /// The primary sink accepted the record.
    case accepted(Receipt, attempts: Int)
    /// The primary sink rejected the record for good.
    case rejected(DeliveryFailure)
}

/// Connects confirmed requests to the sink acknowledgements of their records.
///
/// A request takes a token with ``register()`` *before* appending (the token travels inside the record), then
/// awaits ``wait(for:timeout:)``; the dispatcher calls ``resolve(_:with:)`` when the primary sink reports. A result
/// that arrives before the request starts waiting is kept until it does. Tokens carry a random per-process prefix,
/// so records replayed from a previous process's log never match a live request.
public final class ConfirmationRegistry: Sendable {
    enum Entry {
        case pending
        case waiting(CheckedContinuation<Confirmation?, Never>)
        case resolved(Confirmation)
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    private let counter = Atomic<UInt64>(0)
    private let prefix: UInt64

    public init() {
        prefix = UInt64(UInt32.random(in: 1 ... .max)) << 32
    }

    /// Requests currently waiting for a confirmation.
    public var waitingCount: Int { entries.withLock { $0.count } }

    /// A fresh token, registered as pending.
    public func register() -> UInt64 {
        let token = prefix | (counter.add(1, ordering: .relaxed).newValue & 0xFFFF_FFFF)
        entries.withLock { $0[token] = .pending }
        return token
    }

    /// Forgets a token whose record was never appended.
    public func cancel(_ token: UInt64) {
        let entry = entries.withLock { $0.removeValue(forKey: token) }
        if case .waiting(let continuation) = entry { continuation.resume(returning: nil) }
    }

    /// Delivers the outcome for `token`; ignored if nobody registered it (a replayed record) or it timed out.
    public func resolve(_ token: UInt64, with confirmation: Confirmation) {
        let continuation: CheckedContinuation<Confirmation?, Never>? = entries.withLock { entries in
            switch entries[token] {
            case .pending:
                entries[token] = .resolved(confirmation)
                return nil
            case .waiting(let continuation):
                entries.removeValue(forKey: token)
                return continuation
            case .resolved, nil:
                return nil
            }
        }
        continuation?.resume(returning: confirmation)
    }

    /// Waits for the outcome of `token`; nil when `timeout` passes first (the event stays in the log and is still delivered).
    public func wait(for token: UInt64, timeout: Duration) async -> Confirmation? {
        await withTaskGroup(of: Confirmation?.self) { group in
            group.addTask { await self.waitUntilResolved(token) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if first == nil { cancel(token) }
            return first
        }
    }

    private func waitUntilResolved(_ token: UInt64) async -> Confirmation? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Confirmation?, Never>) in
                let immediate: Confirmation?? = entries.withLock { entries in
                    switch entries[token] {
                    case .resolved(let confirmation):
                        entries.removeValue(forKey: token)
                        return .some(confirmation)
                    case .pending:
                        if Task.isCancelled { return .some(nil) }
                        entries[token] = .waiting(continuation)
                        return nil
                    case .waiting, nil:
                        return .some(nil)
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Confirmation?, Never>? = entries.withLock { entries in
                guard case .waiting(let continuation) = entries[token] else { return nil }
                entries[token] = .pending
                return continuation
            }
            continuation?.resume(returning: nil)
        }
    }
}
