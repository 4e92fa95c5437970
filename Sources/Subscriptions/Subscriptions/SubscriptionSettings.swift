public import Delivery

/// One subscription's own configuration (the config file's `subscriptions:` entry is mapped onto it in the wiring).
public struct SubscriptionSettings: Sendable {
    /// Where a subscription without a stored position starts (each source reads it).
    public enum StartingPosition: Sendable, Equatable {
        case trimHorizon
        case latest
        /// The first record received at or after this Unix ms.
        case atTimestamp(Int64)
    }

    public var name: String
    /// Records per handler call.
    public var batchSize: Int
    /// How long to gather records before a call; zero delivers what is there.
    public var batchingWindow: Duration
    /// Retries before the records are dead letters; nil retries forever.
    public var maximumRetryAttempts: Int?
    /// Records older than this (ms) are dead letters; nil has no limit.
    public var maximumRecordAgeMillis: Int64?
    public var bisectBatchOnFunctionError: Bool
    public var reportBatchItemFailures: Bool
    /// Concurrent lanes; a partition key always takes the same lane, so its order holds.
    public var parallelizationFactor: Int
    /// Between retries of a failing batch.
    public var backoff: Backoff

    public init(
        name: String, batchSize: Int = 100,
        batchingWindow: Duration = .zero, maximumRetryAttempts: Int? = 10, maximumRecordAgeMillis: Int64? = 86_400_000,
        bisectBatchOnFunctionError: Bool = true, reportBatchItemFailures: Bool = true, parallelizationFactor: Int = 1,
        backoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30), maximumRetryAfter: .seconds(300))
    ) {
        self.name = name
        self.batchSize = max(1, batchSize)
        self.batchingWindow = batchingWindow
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumRecordAgeMillis = maximumRecordAgeMillis
        self.bisectBatchOnFunctionError = bisectBatchOnFunctionError
        self.reportBatchItemFailures = reportBatchItemFailures
        self.parallelizationFactor = max(1, parallelizationFactor)
        self.backoff = backoff
    }
}

/// `team/app` or `team/*`.
public struct StreamPattern: Sendable, Equatable, CustomStringConvertible {
    public var team: String
    /// nil matches every app of the team.
    public var app: String?

    /// Parses `team/app` or `team/*`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.team = String(parts[0])
        self.app = parts[1] == "*" ? nil : String(parts[1])
    }

    public func matches(team: String, app: String) -> Bool {
        self.team == team && (self.app == nil || self.app == app)
    }

    public var description: String { team + "/" + (app ?? "*") }
}
