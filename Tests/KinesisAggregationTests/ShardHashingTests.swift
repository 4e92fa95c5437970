import GatewayTesting
import KinesisAggregation
import Testing

@Suite("Partition key hashing and decimal hash keys")
struct ShardHashingTests {
    // Expected values computed once with Python:
    //   int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    static let known: [(String, String)] = [
        ("", "281949768489412648962353822266799178366"),
        ("a", "16955237001963240173058271559858726497"),
        ("partition-key-1", "33365116028791453877729010807000998774"),
        ("user-42", "157107139746365290205026809710278036035"),
        ("ñandú-🦆", "72128660066182422193254415900100205539"),
        ("Kinesis", "118634365148499834692555685024673684310"),
    ]

    @Test("MD5 of known keys as decimal strings", arguments: 0..<Self.known.count)
    func knownKeys(index: Int) {
        let (key, decimal) = Self.known[index]
        #expect(ShardHashing.decimalString(ShardHashing.hashKey(key)) == decimal)
        #expect(ShardHashing.parseDecimal(decimal) == ShardHashing.hashKey(key))
    }

    @Test("MD5 is taken big-endian")
    func bigEndian() {
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        #expect(ShardHashing.hashKey("a") == 0x0cc1_75b9_c0f1_b6a8_31c3_99e2_6977_2661)
    }

    @Test("0 and 2^128-1")
    func extremes() {
        #expect(ShardHashing.decimalString(0) == "0")
        #expect(ShardHashing.parseDecimal("0") == 0)
        #expect(ShardHashing.decimalString(.max) == "340282366920938463463374607431768211455")
        #expect(ShardHashing.parseDecimal("340282366920938463463374607431768211455") == .max)
        #expect(ShardHashing.decimalString(10_000_000_000_000_000_000) == "10000000000000000000")
        #expect(ShardHashing.decimalString(9_999_999_999_999_999_999) == "9999999999999999999")
        #expect(ShardHashing.decimalString(UInt128(1) << 127) == "170141183460469231731687303715884105728")
    }

    @Test(
        "invalid decimal text is rejected",
        arguments: [
            "", "-1", "+1", " 1", "1 ", "1a", "0x10", "１",
            "340282366920938463463374607431768211456", // 2^128
            "999999999999999999999999999999999999999999",
        ])
    func rejects(text: String) {
        #expect(ShardHashing.parseDecimal(text) == nil)
    }

    @Test("leading zeros are accepted")
    func leadingZeros() {
        #expect(ShardHashing.parseDecimal("000") == 0)
        #expect(ShardHashing.parseDecimal("0042") == 42)
    }

    @Test("random round trips agree with the standard library")
    func randomRoundTrips() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let bits = Int.random(in: 0...128, using: &rng)
            let raw = UInt128(UInt64.random(in: .min ... .max, using: &rng)) << 64 | UInt128(UInt64.random(in: .min ... .max, using: &rng))
            let value = bits == 128 ? raw : raw & ((UInt128(1) << bits) - 1)
            let text = ShardHashing.decimalString(value)
            #expect(text == String(value))
            #expect(ShardHashing.parseDecimal(text) == value)
        }
    }

    @Test("effective hash key: explicit when set, else MD5 of the partition key")
    func effectiveHashKey() {
        #expect(ShardHashing.effectiveHashKey(of: UserRecord(partitionKey: "a", data: [])) == ShardHashing.hashKey("a"))
        #expect(ShardHashing.effectiveHashKey(of: UserRecord(partitionKey: "a", explicitHashKey: "12", data: [])) == 12)
        #expect(ShardHashing.effectiveHashKey(of: UserRecord(partitionKey: "a", explicitHashKey: "x", data: [])) == nil)
    }
}
