import GatewayTesting
import KinesisAggregation
import Testing

@Suite("Aggregate / deaggregate round trips")
struct RoundTripTests {
    /// One finished aggregate plus what went into it.
    struct Sent {
        var bytes: [UInt8]
        var records: [UserRecord]
        var partitionKey: String?
        var explicitHashKey: String?
    }

    /// Feeds `records` through an aggregator the way a producer would, checking the
    /// size bookkeeping at every step. Records too large to aggregate are returned as `alone`.
    static func produce(_ records: [UserRecord], maxBytes: Int) -> (aggregates: [Sent], alone: [UserRecord], order: [[UserRecord]]) {
        var aggregator = RecordAggregator(maxBytes: maxBytes)
        var aggregates: [Sent] = []
        var alone: [UserRecord] = []
        var order: [[UserRecord]] = []
        var pending: [UserRecord] = []

        func flush() {
            guard !aggregator.isEmpty else { return }
            let bytes = aggregator.encode()
            #expect(bytes.count == aggregator.size)
            #expect(aggregator.records == pending)
            aggregates.append(
                Sent(
                    bytes: bytes, records: pending, partitionKey: aggregator.partitionKey,
                    explicitHashKey: aggregator.explicitHashKey))
            order.append(pending)
            pending = []
            aggregator.reset()
            #expect(aggregator.isEmpty && aggregator.count == 0 && aggregator.size == AggregationFormat.overhead)
        }

        func tryAppend(_ record: UserRecord) -> Bool {
            let predicted = aggregator.size(adding: record)
            let before = aggregator.size
            guard aggregator.append(record) else {
                #expect(predicted > maxBytes, "append refused a record that fits: \(predicted) <= \(maxBytes)")
                #expect(aggregator.size == before, "a refused append changed the aggregate")
                return false
            }
            #expect(predicted <= maxBytes)
            #expect(aggregator.size == predicted)
            #expect(aggregator.encode().count == predicted, "size(adding:) is not the encoded size")
            pending.append(record)
            #expect(aggregator.count == pending.count)
            return true
        }

        for record in records {
            if tryAppend(record) { continue }
            if aggregator.isEmpty {
                alone.append(record)
                order.append([record])
                continue
            }
            flush()
            if !tryAppend(record) {
                alone.append(record)
                order.append([record])
            }
        }
        flush()
        return (aggregates, alone, order)
    }

    @Test("random record sets round-trip and respect the limit", arguments: 0..<24)
    func randomSets(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let maxBytes = [51_200, 4_096, 1_000, 400, 120][seed % 5]
        let hashKeys: Fixtures.HashKeys = [.none, .all, .mixed][seed % 3]
        let records = Fixtures.randomRecords(count: 150, hashKeys: hashKeys, using: &rng)
        let (aggregates, alone, order) = Self.produce(records, maxBytes: maxBytes)

        #expect(Array(order.joined()) == records, "records lost, duplicated or reordered")
        for record in alone {
            var probe = RecordAggregator(maxBytes: maxBytes)
            #expect(probe.size(adding: record) > maxBytes)
            let appended = probe.append(record)
            #expect(!appended && probe.isEmpty)
        }
        for sent in aggregates {
            #expect(sent.bytes.count <= maxBytes)
            #expect(sent.bytes.starts(with: AggregationFormat.magic))
            #expect(RecordDeaggregator.isAggregated(sent.bytes))
            let decoded = try RecordDeaggregator.deaggregate(sent.bytes, partitionKey: sent.partitionKey ?? "")
            #expect(decoded == sent.records)
            let first = try #require(sent.records.first)
            #expect(sent.partitionKey == first.partitionKey)
            #expect(
                sent.explicitHashKey
                    == (first.explicitHashKey
                        ?? ShardHashing.decimalString(ShardHashing.hashKey(first.partitionKey))))
        }
        if maxBytes == 51_200 {
            #expect(alone.isEmpty)
            #expect(aggregates.count < records.count / 4, "aggregation did not batch")
        }
    }

    @Test("partition keys and explicit hash keys are deduplicated in the key tables")
    func keyTableDeduplication() throws {
        let key = "duplicate-partition-key"
        let hashKey = "123456789012345678901234567890"
        var aggregator = RecordAggregator()
        let appended104 = aggregator.append(UserRecord(partitionKey: key, explicitHashKey: hashKey, data: [1]))
        #expect(appended104)
        let sizeAfterFirst = aggregator.size
        // Second record with the same keys adds only the Record message:
        // tag, len, (08 00) (10 00) (1A 01 02) = 2 + 7 bytes.
        #expect(aggregator.size(adding: UserRecord(partitionKey: key, explicitHashKey: hashKey, data: [2])) == sizeAfterFirst + 9)
        let appended109 = aggregator.append(UserRecord(partitionKey: key, explicitHashKey: hashKey, data: [2]))
        #expect(appended109)
        let appended110 = aggregator.append(UserRecord(partitionKey: "other", data: [3]))
        #expect(appended110)
        let appended111 = aggregator.append(UserRecord(partitionKey: key, data: [4]))
        #expect(appended111)
        let bytes = aggregator.encode()
        #expect(occurrences(of: Array(key.utf8), in: bytes) == 1)
        #expect(occurrences(of: Array(hashKey.utf8), in: bytes) == 1)
        let decoded = try RecordDeaggregator.deaggregate(bytes, partitionKey: key)
        #expect(
            decoded == [
                UserRecord(partitionKey: key, explicitHashKey: hashKey, data: [1]),
                UserRecord(partitionKey: key, explicitHashKey: hashKey, data: [2]),
                UserRecord(partitionKey: "other", data: [3]),
                UserRecord(partitionKey: key, data: [4]),
            ])
    }

    @Test("empty data, unicode keys and a 1 MB payload round-trip")
    func edgeRecords() throws {
        var rng = SplitMix64(seed: 99)
        let big = Fixtures.randomBytes(1_000_000, using: &rng)
        let records = [
            UserRecord(partitionKey: "🦆", data: []),
            UserRecord(partitionKey: "ключ", explicitHashKey: "0", data: []),
            UserRecord(partitionKey: String(repeating: "é", count: 256), data: [0]),
            UserRecord(partitionKey: "big", data: big),
        ]
        var aggregator = RecordAggregator(maxBytes: 1_048_576)
        for record in records {
            let appended = aggregator.append(record)
            #expect(appended)
        }
        let bytes = aggregator.encode()
        #expect(bytes.count == aggregator.size)
        #expect(try RecordDeaggregator.deaggregate(bytes, partitionKey: "🦆") == records)
    }

    @Test("the limit is exact: a record that makes the aggregate exactly maxBytes fits, one byte more does not")
    func exactLimit() {
        // Aggregate of one record {pk "k", n data bytes}, n < 120:
        // magic 4 + pk table (0A 01 6B) 3 + record field (1A len 08 00 1A n data) 6 + n + MD5 16 = 29 + n.
        let fits = UserRecord(partitionKey: "k", data: [UInt8](repeating: 7, count: 71))
        var aggregator = RecordAggregator(maxBytes: 100)
        #expect(aggregator.size(adding: fits) == 100)
        let appended148 = aggregator.append(fits)
        #expect(appended148)
        #expect(aggregator.encode().count == 100)
        let overfull = aggregator.append(UserRecord(partitionKey: "k", data: []))
        #expect(!overfull, "a full aggregate took another record")
        #expect(aggregator.count == 1)

        var other = RecordAggregator(maxBytes: 100)
        let tooBig = UserRecord(partitionKey: "k", data: [UInt8](repeating: 7, count: 72))
        #expect(other.size(adding: tooBig) == 101)
        let appendedTooBig = other.append(tooBig)
        #expect(!appendedTooBig, "an oversized record must be refused even when the aggregate is empty")
        #expect(other.isEmpty && other.partitionKey == nil && other.explicitHashKey == nil)
    }

    @Test("default limit is the KPL's 51,200 bytes")
    func defaultLimit() {
        #expect(RecordAggregator().maxBytes == 51_200)
        var aggregator = RecordAggregator()
        var added = 0
        while aggregator.append(UserRecord(partitionKey: "p\(added % 7)", data: [UInt8](repeating: 1, count: 1000))) {
            added += 1
        }
        #expect(aggregator.size <= 51_200)
        #expect(aggregator.size + 1_000 > 51_200 - 20)
        #expect(added == aggregator.count && added > 40)
    }

    @Test("the aggregate's routing keys come from the first record")
    func aggregateKeys() {
        var aggregator = RecordAggregator()
        #expect(aggregator.partitionKey == nil && aggregator.explicitHashKey == nil)
        _ = aggregator.append(UserRecord(partitionKey: "a", data: [1]))
        _ = aggregator.append(UserRecord(partitionKey: "b", explicitHashKey: "42", data: [2]))
        #expect(aggregator.partitionKey == "a")
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        #expect(aggregator.explicitHashKey == "16955237001963240173058271559858726497")
        aggregator.reset()
        _ = aggregator.append(UserRecord(partitionKey: "b", explicitHashKey: "42", data: [2]))
        _ = aggregator.append(UserRecord(partitionKey: "a", data: [1]))
        #expect(aggregator.partitionKey == "b")
        #expect(aggregator.explicitHashKey == "42")
    }

    func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard !needle.isEmpty, haystack.count >= needle.count else { return 0 }
        return (0...(haystack.count - needle.count)).filter { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }.count
    }
}

@Suite("Key bytes are exact")
struct KeyBytesTests {
    @Test("canonically equivalent but byte-different keys stay distinct")
    func canonicalEquivalence() throws {
        let composed = "\u{E9}" // é
        let decomposed = "e\u{301}" // e + combining acute
        #expect(composed == decomposed) // Swift String equality...
        #expect(UserRecord(partitionKey: composed, data: []) != UserRecord(partitionKey: decomposed, data: []))
        #expect(ShardHashing.hashKey(composed) != ShardHashing.hashKey(decomposed)) // ...but Kinesis differs
        var aggregator = RecordAggregator()
        let appended205 = aggregator.append(UserRecord(partitionKey: composed, data: [1]))
        #expect(appended205)
        let appended206 = aggregator.append(UserRecord(partitionKey: decomposed, explicitHashKey: "1", data: [2]))
        #expect(appended206)
        let decoded = try RecordDeaggregator.deaggregate(aggregator.encode(), partitionKey: composed)
        #expect(decoded.count == 2)
        #expect(Array(decoded[0].partitionKey.utf8) == Array(composed.utf8))
        #expect(Array(decoded[1].partitionKey.utf8) == Array(decomposed.utf8))
    }
}
