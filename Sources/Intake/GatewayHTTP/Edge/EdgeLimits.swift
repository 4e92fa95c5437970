public import GatewayConfig
import Synchronization

/// The limits the HTTP edge enforces on every connection before a request reaches the router
/// (`server:` in the configuration; see docs/configuration.md).
public struct EdgeLimits: Sendable, Equatable {
    /// Longest request target (path and query) in bytes; beyond it: 414.
    public var maxURIBytes: Int
    /// Most bytes of header fields (names, values and their separators); beyond it: 431.
    public var maxHeaderBytes: Int
    /// Most header fields; beyond it: 431.
    public var maxHeaderCount: Int
    /// Most body bytes one request may declare or send, before decoding (`server.max_body_kb`); beyond it: 413.
    public var maxBodyBytes: Int
    /// Deadline for a request's headers (from its first byte) and, separately, for its body (from the end of the
    /// headers); beyond it: 408 and the connection is closed.
    public var readTimeout: Duration
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeout: Duration
    /// Most open connections; new ones beyond it are answered 503 and closed at once.
    public var maxConnections: Int
    /// Most request body bytes buffered across all connections; beyond it: 503 with `Retry-After`.
    public var maxInflightBytes: Int

    public init(
        maxURIBytes: Int = 8192, maxHeaderBytes: Int = 32 * 1024, maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 10 * 1024 * 1024, readTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(75),
        maxConnections: Int = 10000, maxInflightBytes: Int = 256 * 1024 * 1024
    ) {
        self.maxURIBytes = maxURIBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxInflightBytes = maxInflightBytes
    }

    /// The limits of a validated `server:` section (its ranges keep every product below in `Int`).
    public init(_ server: ServerConfiguration) {
        self.init(
            maxURIBytes: server.maxURIBytes,
            maxHeaderBytes: server.maxHeaderKB.multipliedClamped(by: 1024),
            maxHeaderCount: server.maxHeaderCount,
            maxBodyBytes: server.maxBodyKB.multipliedClamped(by: 1024),
            readTimeout: .seconds(server.readTimeoutSeconds),
            idleTimeout: .seconds(server.idleTimeoutSeconds),
            maxConnections: server.maxConnections,
            maxInflightBytes: server.maxInflightMB.multipliedClamped(by: 1024 * 1024)
        )
    }
}

extension Int {
    /// `self + other`, or `Int.max` when that overflows.
    func addingClamped(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    /// `self × factor`, or `Int.max` when that overflows.
    func multipliedClamped(by factor: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? .max : product
    }
}

/// Counters the edge shares across all connections: open connections and buffered request bytes.
public final class EdgeCounters: Sendable {
    private let connections = Atomic<Int>(0)
    private let inflight = Atomic<Int>(0)

    public init() {}

    /// Open connections now.
    public var openConnections: Int { connections.load(ordering: .relaxed) }
    /// Request body bytes buffered now.
    public var inflightBytes: Int { inflight.load(ordering: .relaxed) }

    /// Counts a new connection; `false` (and nothing counted) when `limit` are already open.
    func openConnection(limit: Int) -> Bool {
        let now = connections.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            connections.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func closeConnection() {
        connections.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Reserves `bytes` of the in-flight budget; `false` (and nothing reserved) when that would pass `limit`. A
    /// reservation made while nothing else is in flight always succeeds, so one request of `max_body_kb` is never
    /// refused by a smaller budget.
    func reserve(_ bytes: Int, limit: Int) -> Bool {
        guard bytes > 0 else { return true }
        let now = inflight.wrappingAdd(bytes, ordering: .relaxed).newValue
        if (now > limit && now != bytes) || now < 0 {
            inflight.wrappingSubtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        inflight.wrappingSubtract(bytes, ordering: .relaxed)
    }
}
