public import CoreMetrics

/// A subscription's metrics (names in docs/subscriptions.md).
public struct SubscriptionMetrics: Sendable {
    let delivered: Counter
    let deadLettered: [DeadLetter.Condition: Counter]
    let handlerDuration: Timer
    let lagRecords: Gauge
    let iteratorAge: Gauge
    let retentionGapRecords: Counter
    let factory: any MetricsFactory
    let subscription: String

    public init(subscription: String, factory: any MetricsFactory) {
        let dimensions = [("subscription", subscription)]
        self.subscription = subscription
        self.factory = factory
        delivered = Counter(label: "sluice_subscription_delivered_total", dimensions: dimensions, factory: factory)
        deadLettered = Dictionary(
            uniqueKeysWithValues: DeadLetter.Condition.allCases.map { condition in
                (
                    condition,
                    Counter(
                        label: "sluice_subscription_dead_letters_total",
                        dimensions: dimensions + [("condition", condition.rawValue)], factory: factory)
                )
            })
        handlerDuration = Timer(label: "sluice_subscription_handler_duration_seconds", dimensions: dimensions, factory: factory)
        lagRecords = Gauge(label: "sluice_subscription_lag_records", dimensions: dimensions, factory: factory)
        iteratorAge = Gauge(label: "sluice_subscription_iterator_age_seconds", dimensions: dimensions, factory: factory)
        retentionGapRecords = Counter(label: "sluice_subscription_retention_gap_records_total", dimensions: dimensions, factory: factory)
    }

    /// A failed handler call, by reason (the failure's kind).
    func failed(_ failure: HandlerFailure) {
        Counter(
            label: "sluice_subscription_failures_total",
            dimensions: [("subscription", subscription), ("reason", failure.kind.description)], factory: factory
        ).increment()
    }
}
