import Foundation
import GatewayTesting
import KinesisAggregation
import Testing

/// Interop with the reference implementation, the `aws-kinesis-agg` PyPI package
/// (awslabs/kinesis-aggregation). Needs python3 with `pip install aws-kinesis-agg`;
/// fails (never skips) without it.
@Suite("Interop with aws-kinesis-agg (Python)")
struct PythonInteropTests {
    /// Aggregates built by us, with their records.
    static func ourAggregates() -> [(bytes: [UInt8], partitionKey: String, records: [UserRecord])] {
        var result: [(bytes: [UInt8], partitionKey: String, records: [UserRecord])] = []
        let setups: [(seed: UInt64, count: Int, hashKeys: Fixtures.HashKeys, maxBytes: Int)] = [
            (1, 40, .none, 51_200), (2, 40, .all, 51_200), (3, 60, .mixed, 51_200),
            (4, 10, .none, 1_000), (5, 300, .none, 1_048_576),
        ]
        for setup in setups {
            var rng = SplitMix64(seed: setup.seed)
            var records = Fixtures.randomRecords(count: setup.count, hashKeys: setup.hashKeys, using: &rng)
            records.append(UserRecord(partitionKey: "🦆-duck", data: []))
            records.append(
                UserRecord(
                    partitionKey: records[0].partitionKey, explicitHashKey: records[0].explicitHashKey,
                    data: Fixtures.randomBytes(300_000, using: &rng)))
            var aggregator = RecordAggregator(maxBytes: setup.maxBytes)
            var pending: [UserRecord] = []
            for record in records {
                if !aggregator.append(record) {
                    if !aggregator.isEmpty {
                        result.append((aggregator.encode(), aggregator.partitionKey!, pending))
                        aggregator.reset()
                        pending = []
                    }
                    if !aggregator.append(record) { continue } // too large to aggregate: not part of this test
                }
                pending.append(record)
            }
            if !aggregator.isEmpty {
                result.append((aggregator.encode(), aggregator.partitionKey!, pending))
            }
        }
        return result
    }

    @Test("our aggregates deaggregate exactly with aws_kinesis_agg.deaggregator.deaggregate_records")
    func oursToPython() throws {
        let aggregates = Self.ourAggregates()
        #expect(aggregates.count >= 6)
        #expect(aggregates.contains { $0.records.count > 20 })
        let plain: [UInt8] = Array("not aggregated".utf8)
        var input: [[String: Any]] = aggregates.map {
            ["partitionKey": $0.partitionKey, "data": PythonInterop.base64($0.bytes)]
        }
        input.append(["partitionKey": "plain-key", "data": PythonInterop.base64(plain)])

        let output = try #require(try PythonInterop.run("deagg", input: input) as? [[[String: Any]]])
        try #require(output.count == input.count)

        var checked = 0
        for (aggregate, decoded) in zip(aggregates, output) {
            try #require(decoded.count == aggregate.records.count, "record count differs")
            let noneHaveHashKeys = aggregate.records.allSatisfy { $0.explicitHashKey == nil }
            for (record, python) in zip(aggregate.records, decoded) {
                #expect(python["aggregated"] as? Bool == true)
                let key = try #require(python["partitionKey"] as? String)
                #expect(Array(key.utf8) == Array(record.partitionKey.utf8))
                #expect(try PythonInterop.bytes(fromBase64: python["data"]) == record.data)
                let pythonHashKey = python["explicitHashKey"] as? String
                if let hashKey = record.explicitHashKey {
                    #expect(pythonHashKey == hashKey)
                } else if noneHaveHashKeys {
                    #expect(pythonHashKey == nil)
                }
                // Mixed aggregates: aws-kinesis-agg reports explicit_hash_key_table[0] for a record
                // without explicit_hash_key_index (proto2 default 0), so only keyed records are compared.
                checked += 1
            }
        }
        #expect(checked == aggregates.reduce(0) { $0 + $1.records.count })

        let passthrough = try #require(output.last)
        try #require(passthrough.count == 1)
        #expect(passthrough[0]["aggregated"] as? Bool == false)
        #expect(passthrough[0]["partitionKey"] as? String == "plain-key")
        #expect(try PythonInterop.bytes(fromBase64: passthrough[0]["data"]) == plain)
        #expect(try RecordDeaggregator.deaggregate(plain, partitionKey: "plain-key") == [UserRecord(partitionKey: "plain-key", data: plain)])
    }

    @Test("aggregates from aws_kinesis_agg.aggregator.RecordAggregator deaggregate exactly with ours, byte-identical to our encoding")
    func pythonToOurs() throws {
        var groups: [[UserRecord]] = []
        for (seed, hashKeys) in [(11, Fixtures.HashKeys.none), (12, .all), (13, .mixed), (14, .none)] as [(UInt64, Fixtures.HashKeys)] {
            var rng = SplitMix64(seed: seed)
            groups.append(Fixtures.randomRecords(count: Int.random(in: 1...80, using: &rng), hashKeys: hashKeys, using: &rng))
        }
        groups.append([UserRecord(partitionKey: "only", data: [])])
        groups.append([
            UserRecord(partitionKey: "k", data: Array(repeating: 0xAB, count: 200_000)),
            UserRecord(partitionKey: "k", data: [1]), UserRecord(partitionKey: "ключ", data: [2]),
        ])

        let input: [[[String: Any]]] = groups.map { group in
            group.map { record in
                var item: [String: Any] = ["partitionKey": record.partitionKey, "data": PythonInterop.base64(record.data)]
                if let hashKey = record.explicitHashKey { item["explicitHashKey"] = hashKey }
                return item
            }
        }
        let output = try #require(try PythonInterop.run("agg", input: input) as? [[String: Any]])
        try #require(output.count == groups.count)

        for (group, python) in zip(groups, output) {
            let bytes = try PythonInterop.bytes(fromBase64: python["data"])
            let partitionKey = try #require(python["partitionKey"] as? String)
            #expect(RecordDeaggregator.isAggregated(bytes))
            let decoded = try RecordDeaggregator.deaggregate(bytes, partitionKey: partitionKey)
            #expect(decoded == group)

            var ours = RecordAggregator(maxBytes: 1_048_576)
            for record in group {
                let appended = ours.append(record)
                #expect(appended)
            }
            let encoded = ours.encode()
            let firstDifference = zip(encoded, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(encoded.count, bytes.count)
            #expect(
                encoded == bytes,
                "our encoding differs from aws-kinesis-agg's: \(encoded.count) vs \(bytes.count) bytes, first difference at offset \(firstDifference)"
            )
            #expect(ours.size == bytes.count)
            #expect(ours.partitionKey == partitionKey)
            if let pythonHashKey = python["explicitHashKey"] as? String {
                #expect(ours.explicitHashKey == pythonHashKey)
            }
        }
    }
}
