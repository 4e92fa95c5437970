/// Where the router sends an event: the embedded default (the local log and archive), a Kinesis stream, or a Kafka topic.
public enum Route: Sendable, Hashable, CustomStringConvertible {
    /// The embedded default: the write-ahead log, delivered to the local archive.
    case local
    /// A Kinesis Data Streams stream (small events).
    case kinesis(stream: String)
    /// A Kafka topic (large events).
    case kafka(topic: String)

    /// The route's kind as it appears in responses and metrics: `local`, `kinesis` or `kafka`.
    public var kind: RouteKind {
        switch self {
        case .local: .local
        case .kinesis: .kinesis
        case .kafka: .kafka
        }
    }

    /// The stream or topic name; empty for `local`.
    public var destination: String {
        switch self {
        case .local: ""
        case .kinesis(let stream): stream
        case .kafka(let topic): topic
        }
    }

    public var description: String {
        switch self {
        case .local: "local"
        case .kinesis(let stream): "kinesis:\(stream)"
        case .kafka(let topic): "kafka:\(topic)"
        }
    }
}

/// The kind of a route, without its destination.
public enum RouteKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case local = 0
    case kinesis = 1
    case kafka = 2

    public var description: String {
        switch self {
        case .local: "local"
        case .kinesis: "kinesis"
        case .kafka: "kafka"
        }
    }
}
