import AWSJSONClient
public import KinesisAPI
import KinesisAggregation

/// A Kinesis data stream as a ``DeliveredEventSource``: every shard (open and closed) read from `TRIM_HORIZON` to its
/// tip, KPL-aggregated records taken apart, each user record's envelope parsed for its `event_id`.
///
/// Locations are `stream/shardId:n`, n being the user record's ordinal in the shard (1-based). Throttled and
/// transiently failed calls are retried with backoff until `timeout`.
public struct KinesisStreamSource: DeliveredEventSource {
    /// The stream's name.
    public var stream: String
    /// The client (endpoint, region, credentials).
    public var api: KinesisAPI
    /// How long the whole read may take.
    public var timeout: Duration

    public init(stream: String, api: KinesisAPI, timeout: Duration = .seconds(300)) {
        self.stream = stream
        self.api = api
        self.timeout = timeout
    }

    public var name: String { "kinesis stream \(stream)" }

    public func scan(into audit: inout DeliveryAudit) async throws(VerifyError) {
        let deadline = ContinuousClock.now + timeout
        let shards = try await retrying("ListShards", deadline: deadline) { () async throws(AWSRequestError) in
            try await api.listShards(stream: stream)
        }
        for shard in shards.sorted(by: { $0.id < $1.id }) {
            let container = audit.openContainer("\(stream)/\(shard.id)")
            var iterator = try await retrying("GetShardIterator \(shard.id)", deadline: deadline) { () async throws(AWSRequestError) in
                try await api.trimHorizonIterator(stream: stream, shardID: shard.id)
            }
            var ordinal = 0
            while true {
                let current = iterator
                let page = try await retrying("GetRecords \(shard.id)", deadline: deadline) { () async throws(AWSRequestError) in
                    try await api.getRecords(iterator: current)
                }
                for record in page.records {
                    Self.read(record, container: container, ordinal: &ordinal, into: &audit)
                }
                guard let next = page.nextShardIterator else { break } // a closed shard, read to its end
                if page.records.isEmpty && (page.millisBehindLatest ?? 0) == 0 { break } // caught up with the tip
                iterator = next
            }
        }
    }

    /// Reports the user records of one Kinesis record.
    static func read(_ record: KinesisAPI.ReadRecord, container: Int, ordinal: inout Int, into audit: inout DeliveryAudit) {
        guard RecordDeaggregator.isAggregated(record.data) else {
            ordinal += 1
            report(record.data, container: container, position: ordinal, into: &audit)
            return
        }
        do {
            for user in try RecordDeaggregator.deaggregate(record.data, partitionKey: record.partitionKey) {
                ordinal += 1
                report(user.data, container: container, position: ordinal, into: &audit)
            }
        } catch {
            audit.corruptRecord(
                container: container, position: ordinal + 1,
                reason: "aggregated record \(record.sequenceNumber) cannot be taken apart: \(error)")
        }
    }

    static func report(_ data: [UInt8], container: Int, position: Int, into audit: inout DeliveryAudit) {
        let line = data.withUnsafeBytes { ArchiveLine.parse($0, deadLetter: false) }
        switch line {
        case .event(let id): audit.delivered(id, container: container, position: position)
        case .corrupt(let reason): audit.corruptRecord(container: container, position: position, reason: reason)
        case .deadLetter: break
        }
    }

    /// Runs `call`, retrying throttling and transient failures with exponential backoff until `deadline`.
    private func retrying<T>(
        _ what: String, deadline: ContinuousClock.Instant, _ call: () async throws(AWSRequestError) -> T
    ) async throws(VerifyError) -> T {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await call()
            } catch {
                guard error.kind != .fatal, ContinuousClock.now + delay < deadline else {
                    throw VerifyError(.source, "kinesis stream \(stream): \(what) failed: \(error.code): \(error.message)")
                }
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw VerifyError(.source, "kinesis stream \(stream): cancelled")
            }
            delay = min(delay * 2, .seconds(5))
        }
    }
}
