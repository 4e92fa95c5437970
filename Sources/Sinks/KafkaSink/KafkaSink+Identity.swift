public import GatewayCore

extension SinkID {
    /// The Kafka (Amazon MSK) sink. Slot 2.
    public static let kafka = SinkID(name: "kafka", slot: 2)
}

extension Receipt {
    /// A Kafka topic stored the record: `"kafka":{"topic","partition","offset"}`.
    public static func kafka(topic: String, partition: Int32, offset: Int64) -> Receipt {
        Receipt(
            key: "kafka",
            fields: [
                Field("topic", .string(topic)), Field("partition", .integer(Int64(partition))), Field("offset", .integer(offset)),
            ])
    }
}

extension Route {
    /// A Kafka topic.
    public static func kafka(topic: String) -> Route { Route(sink: .kafka, destination: topic) }
}
