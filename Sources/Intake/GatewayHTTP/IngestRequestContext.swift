public import EdgeAccess
public import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the request id and arrival time used for the
/// latency headers.
public struct IngestRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `X-Request-Id`: echoed from the request, or generated.
    public var requestID: String = ""
    /// When the request reached the gateway (monotonic).
    public var arrivedAt: ContinuousClock.Instant = .now
    /// When the request reached the gateway, in Unix epoch milliseconds.
    public var arrivedAtMillis: Int64 = 0

    /// Who sent the request (set by the authentication middleware once `auth:` is configured).
    public var principal: Principal = .anonymous

    /// The connection's channel (the live streams write to it from the broadcaster).
    public let channel: any Channel

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
