import Foundation
import GatewayCore
import HTTPTypes
import Hummingbird
import KinesisAPI
import KinesisAggregation
import KinesisSink
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// An in-process HTTP server that answers `ListShards` and `PutRecords` as Kinesis does, with the failures moto
/// cannot produce: throttled records, internal failures, held answers, shards that split under the producer.
final class FakeKinesis: Sendable {
    struct StoredRecord: Sendable {
        var shardID: String
        var sequenceNumber: String
        var partitionKey: String
        var data: [UInt8]
    }

    struct State {
        var shards: [KinesisAPI.Shard]
        /// The shards records are actually stored on (differs from `shards` to simulate a split the producer has not seen).
        var storageShards: [KinesisAPI.Shard]?
        var stored: [StoredRecord] = []
        var listShardsCalls = 0
        var putRecordsCalls = 0
        /// Per `PutRecords` call: how many records and how many bytes (data and partition keys) it carried.
        var calls: [(records: Int, bytes: Int)] = []
        var sequence = 0
        var isHolding = false
        var held: [CheckedContinuation<Void, Never>] = []
    }

    /// Decides a record's fate: nil stores it, a code fails it. Arguments: the partition key and how many times a
    /// record with that key was seen before.
    typealias Policy = @Sendable (_ partitionKey: String, _ seenBefore: Int) -> String?

    let state: Mutex<State>
    let policy: Policy
    /// Yields the running count each time `ListShards` is called.
    let listShardsCalls: AsyncStream<Int>
    private let listShardsCall: AsyncStream<Int>.Continuation
    private let seen = Mutex<[String: Int]>([:])

    init(shards: [KinesisAPI.Shard], policy: @escaping Policy = { _, _ in nil }) {
        state = Mutex(State(shards: shards))
        self.policy = policy
        (listShardsCalls, listShardsCall) = AsyncStream.makeStream(of: Int.self)
    }

    /// Stops answering `PutRecords` until ``release()``.
    func hold() { state.withLock { $0.isHolding = true } }

    func release() {
        let held = state.withLock { state in
            state.isHolding = false
            defer { state.held.removeAll() }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    var stored: [StoredRecord] { state.withLock { $0.stored } }

    /// A running fake server: ``stop()`` shuts it down gracefully and waits.
    struct Running: Sendable {
        let group: ServiceGroup
        let task: Task<Void, any Error>

        /// Graceful shutdown, not cancellation: cancelling the serving task while a connection is being accepted
        /// traps in NIO ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#2637), and the sink's
        /// client may still be opening one.
        func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }
    }

    /// Runs the server on a free port until ``Running/stop()``; returns the endpoint URL.
    func start() async throws -> (url: String, server: Running) {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let target = request.headers[HTTPField.Name("X-Amz-Target")!] ?? ""
            let body = try await request.body.collect(upTo: 16 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            switch target {
            case "Kinesis_20131202.ListShards":
                return self.json(self.listShards())
            case "Kinesis_20131202.PutRecords":
                await self.waitIfHolding()
                return self.json(self.putRecords(object))
            default:
                return Response(status: .badRequest, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"__type":"UnknownOperationException"}"#)))
            }
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "fake-kinesis")))
        let task = Task { try await group.run() }
        var port = 0
        for await value in portStream {
            port = value
            break
        }
        return ("http://127.0.0.1:\(port)", Running(group: group, task: task))
    }

    private func waitIfHolding() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                guard state.isHolding else { return true }
                state.held.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/x-amz-json-1.1"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func listShards() -> [String: Any] {
        let (shards, calls) = state.withLock { state in
            state.listShardsCalls += 1
            return (state.shards, state.listShardsCalls)
        }
        listShardsCall.yield(calls)
        return [
            "Shards": shards.map { shard -> [String: Any] in
                var range: [String: Any] = ["StartingSequenceNumber": "1"]
                if !shard.isOpen { range["EndingSequenceNumber"] = "2" }
                return [
                    "ShardId": shard.id,
                    "HashKeyRange": [
                        "StartingHashKey": ShardHashing.decimalString(shard.startingHashKey),
                        "EndingHashKey": ShardHashing.decimalString(shard.endingHashKey),
                    ],
                    "SequenceNumberRange": range,
                ]
            }
        ]
    }

    private func putRecords(_ object: [String: Any]) -> [String: Any] {
        let records = object["Records"] as? [[String: Any]] ?? []
        let bytes = records.reduce(0) { total, record in
            total + (Data(base64Encoded: record["Data"] as? String ?? "")?.count ?? 0) + (record["PartitionKey"] as? String ?? "").utf8.count
        }
        state.withLock { $0.calls.append((records.count, bytes)) }
        var results: [[String: Any]] = []
        var failed = 0
        for record in records {
            let partitionKey = record["PartitionKey"] as? String ?? ""
            let data = Data(base64Encoded: record["Data"] as? String ?? "").map { [UInt8]($0) } ?? []
            let hashKey = (record["ExplicitHashKey"] as? String).flatMap(ShardHashing.parseDecimal) ?? ShardHashing.hashKey(partitionKey)
            let seenBefore = seen.withLock { seen in
                defer { seen[partitionKey, default: 0] += 1 }
                return seen[partitionKey, default: 0]
            }
            if let code = policy(partitionKey, seenBefore) {
                failed += 1
                results.append(["ErrorCode": code, "ErrorMessage": "fake \(code) for \(partitionKey)"])
                continue
            }
            let stored = state.withLock { state -> StoredRecord? in
                state.putRecordsCalls += 1
                let shards = ShardMap(shards: state.storageShards ?? state.shards)
                guard let shard = shards.shard(for: hashKey) else { return nil }
                state.sequence += 1
                let record = StoredRecord(
                    shardID: shard.id, sequenceNumber: String(format: "%056d", state.sequence), partitionKey: partitionKey, data: data)
                state.stored.append(record)
                return record
            }
            if let stored {
                results.append(["ShardId": stored.shardID, "SequenceNumber": stored.sequenceNumber])
            } else {
                failed += 1
                results.append(["ErrorCode": "InternalFailure", "ErrorMessage": "no shard"])
            }
        }
        return ["FailedRecordCount": failed, "Records": results]
    }
}
