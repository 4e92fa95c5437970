/// Where an event was seen: a container (file, shard, partition) and a position in it (line, sequence, offset).
public struct EventLocation: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// The file, shard or partition.
    public var container: String
    /// The line number (1-based), sequence number or offset.
    public var position: Int

    public init(container: String, position: Int) {
        self.container = container
        self.position = position
    }

    public var description: String { "\(container):\(position)" }
}
