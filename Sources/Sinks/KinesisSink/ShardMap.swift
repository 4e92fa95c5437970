public import KinesisAPI
import KinesisAggregation

/// The open shards of a stream by hash-key range: which shard a 128-bit hash key lands on.
public struct ShardMap: Sendable, Equatable {
    /// Open shards sorted by starting hash key.
    public let shards: [KinesisAPI.Shard]

    /// Builds the map from a `ListShards` answer, keeping only open shards (closed parents of splits and merges
    /// take no writes).
    public init(shards: [KinesisAPI.Shard]) {
        self.shards = shards.filter(\.isOpen).sorted { $0.startingHashKey < $1.startingHashKey }
    }

    /// The shard whose range holds `hashKey`, nil when the map does not cover it (an empty or inconsistent map).
    public func shard(for hashKey: UInt128) -> KinesisAPI.Shard? {
        var low = 0
        var high = shards.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let shard = shards[middle]
            if hashKey < shard.startingHashKey {
                high = middle - 1
            } else if hashKey > shard.endingHashKey {
                low = middle + 1
            } else {
                return shard
            }
        }
        return nil
    }

    /// The shard a partition key lands on (MD5 of its UTF-8 bytes as a big-endian 128-bit number).
    public func shard(forPartitionKey key: String) -> KinesisAPI.Shard? {
        shard(for: ShardHashing.hashKey(key))
    }
}
