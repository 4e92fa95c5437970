import Synchronization

/// Generates event ids for events that arrive without one: UUIDv7 (RFC 9562), time ordered.
///
/// The 74 random bits come from a SplitMix64 stream seeded once per process from the system generator: no system
/// call per id, never a repeat within a process, and collisions across processes as unlikely as with fresh randomness.
public enum EventID {
    private static let state = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// The next 64 pseudo-random bits (SplitMix64: a Weyl sequence through a bijective mixer, so values never repeat
    /// within 2⁶⁴ calls).
    static func nextRandom() -> UInt64 {
        var z = state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A new UUIDv7 string (lowercase, hyphenated) for the given Unix time in milliseconds.
    public static func makeUUIDv7(millis: Int64 = Timestamp.nowMillis()) -> String {
        let timestamp = UInt64(max(0, millis)) & 0xFFFF_FFFF_FFFF
        let random1 = nextRandom()
        let random2 = nextRandom()
        // 48-bit timestamp | version 7 + 12 random bits | variant 10 + 62 random bits.
        let high = (timestamp << 16) | 0x7000 | (random1 & 0x0FFF)
        let low = (random2 & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[index] = hex[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                }
            }
            func dash() {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            put(high >> 32, nibbles: 8)
            dash()
            put((high >> 16) & 0xFFFF, nibbles: 4)
            dash()
            put(high & 0xFFFF, nibbles: 4)
            dash()
            put(low >> 48, nibbles: 4)
            dash()
            put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
            return index
        }
    }
}
