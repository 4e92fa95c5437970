public import Delivery

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The archive's retry classification of its ``ArchiveError``s, read from the code and `errno`, never the message.
///
/// A file error is never the record's fault, so for the archive *permanent* means "retrying this file now cannot
/// help; an operator must repair the destination": the sink does not retry in place, it drops what it holds and the
/// dispatcher marks it failing (`/ready` answers 503) and probes with its backoff until the destination heals.
/// *Retriable* errors (a full disk, an I/O error, an interrupted or busy call, exhausted descriptors or memory) are
/// retried in place a few times first (``ArchiveSinkConfiguration/publishAttempts``).
public struct ArchiveRetryLogic: RetryLogic {
    public init() {}

    public func decide(_ failure: ArchiveError) -> RetryDecision {
        switch failure.code {
        case .io:
            guard let code = failure.errno else { return .retriable }
            return Self.retriableErrnos.contains(code) ? .retriable : .permanent
        case .compression:
            // zlib fails only for lack of memory here; the next attempt may have it.
            return .retriable
        default:
            // An invalid configuration or a shut-down thread pool: nothing a retry can change.
            return .permanent
        }
    }

    /// Transient conditions: space or quota freed, a device recovering, a call interrupted, descriptors or memory
    /// released. Everything else (`EACCES`, `EPERM`, `EROFS`, `ENOTDIR`, `EISDIR`, `ENAMETOOLONG`, …) needs a fix.
    static let retriableErrnos: Set<Int32> = [ENOSPC, EDQUOT, EIO, EINTR, EAGAIN, EBUSY, EMFILE, ENFILE, ENOMEM, ETIMEDOUT]
}
