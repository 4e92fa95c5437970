/// Where the router sends an event: a sink and the destination inside it (a Kinesis stream, a Kafka topic; empty for
/// the embedded default, the archive).
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The sink that takes the event; its acknowledgement is the event's receipt.
    public var sink: SinkID
    /// The stream, topic or other name inside the sink; empty when the sink has one destination.
    public var destination: String

    public init(sink: SinkID, destination: String = "") {
        self.sink = sink
        self.destination = destination
    }

    /// The route as it appears in responses and metrics: the sink's route name (`local`, `kinesis`, `kafka`).
    public var name: String { sink.routeName }

    /// `name:destination`, or the name alone.
    public var description: String { destination.isEmpty ? name : "\(name):\(destination)" }
}
