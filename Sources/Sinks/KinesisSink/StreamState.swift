import CoreMetrics
import GatewayCore
import KinesisAPI

/// What the sink holds for one Kinesis stream: its shard map and the state of reading it, the records that wait for
/// a map, the shards' buffers, and the calls in flight.
///
/// A class, touched only under the sink's lock (see ``ShardBuffer``).
final class StreamState {
    /// The open shards, once read.
    var map: ShardMap?
    var isFetchingMap = false
    /// A record landed on an unexpected shard (or the stream was missing): read the map again soon.
    var refreshWanted = false
    var nextMapFetch: ElapsedClock.Instant
    var lastMapFetch: ElapsedClock.Instant?
    /// Failed map reads in a row (the backoff's attempt number).
    var mapFailures = 0
    /// Why the shard map could not be read, while it cannot.
    var mapError: String?
    /// `PutRecords` calls of this stream in flight.
    var inFlight = 0
    /// Records waiting for a map that covers them.
    var unmapped: [PendingRecord] = []
    /// The shards' buffers by shard id.
    var shards: [String: ShardBuffer] = [:]
    let metrics: KinesisMetrics.Stream

    init(nextMapFetch: ElapsedClock.Instant, metrics: KinesisMetrics.Stream) {
        self.nextMapFetch = nextMapFetch
        self.metrics = metrics
    }

    /// Whether a `ListShards` call should start now (first read, periodic refresh, or a refresh asked for), marking
    /// it started.
    func startMapFetchIfDue(now: ElapsedClock.Instant) -> Bool {
        if refreshWanted {
            refreshWanted = false
            nextMapFetch = min(nextMapFetch, (lastMapFetch ?? now) + .seconds(1))
        }
        guard !isFetchingMap, nextMapFetch <= now else { return false }
        isFetchingMap = true
        lastMapFetch = now
        return true
    }

    /// Installs a map just read; records buffered for shards that closed go back to ``unmapped``, to be mapped again.
    func install(_ map: ShardMap, nextFetch: ElapsedClock.Instant) {
        isFetchingMap = false
        mapFailures = 0
        mapError = nil
        metrics.shardMapRefreshes.increment()
        self.map = map
        nextMapFetch = nextFetch
        let open = Set(map.shards.map(\.id))
        for (id, shard) in shards where !open.contains(id) {
            unmapped.append(contentsOf: shard.drainAll())
            shards[id] = nil
        }
    }
}
