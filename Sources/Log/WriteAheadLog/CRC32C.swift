// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78: the CPU's instruction where it has one (CRC32CHardware),
// else slicing-by-8.
//
// No package available here provides CRC-32C, so it is implemented locally. The eight
// 256-entry tables are computed once (lazily, thread-safely, as a global `let`).
// Test vectors: CRC-32C("123456789") = 0xE3069283; 32 zero bytes = 0x8A9136AA.

import CRC32CHardware

/// CRC-32C (Castagnoli) checksum, used by every record and cursor file (internal).
enum CRC32C {
    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// 8 × 256 lookup tables, table k at indices [k*256, k*256+256).
    static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 {
                c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1
            }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        ~update(~0, bytes)
    }

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Whether this CPU's CRC-32C instruction is used (SSE4.2 on x86-64, the CRC extension on arm64).
    static let usesHardware = sluice_crc32c_hardware_available() != 0

    /// Advances a raw (non-inverted) CRC state over `bytes`. Start with `~0`, finish with `~state`.
    static func update(_ state: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        if usesHardware, let base = bytes.baseAddress { return sluice_crc32c_hardware_update(state, base, bytes.count) }
        return updateWithTables(state, bytes)
    }

    /// ``update(_:_:)`` by slicing-by-8 over the tables: the fallback, and the reference the tests compare the
    /// instruction against.
    static func updateWithTables(_ state: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return state }
        return table.withUnsafeBufferPointer { tbl in
            var crc = state
            let n = bytes.count
            var p = 0
            while n - p >= 8 {
                let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt64.self)) ^ UInt64(crc)
                crc =
                    tbl[7 * 256 + Int(truncatingIfNeeded: v & 0xFF)]
                    ^ tbl[6 * 256 + Int(truncatingIfNeeded: (v >> 8) & 0xFF)]
                    ^ tbl[5 * 256 + Int(truncatingIfNeeded: (v >> 16) & 0xFF)]
                    ^ tbl[4 * 256 + Int(truncatingIfNeeded: (v >> 24) & 0xFF)]
                    ^ tbl[3 * 256 + Int(truncatingIfNeeded: (v >> 32) & 0xFF)]
                    ^ tbl[2 * 256 + Int(truncatingIfNeeded: (v >> 40) & 0xFF)]
                    ^ tbl[1 * 256 + Int(truncatingIfNeeded: (v >> 48) & 0xFF)]
                    ^ tbl[Int(truncatingIfNeeded: v >> 56)]
                p += 8
            }
            while p < n {
                let b = base.load(fromByteOffset: p, as: UInt8.self)
                crc = tbl[Int(truncatingIfNeeded: (crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8)
                p += 1
            }
            return crc
        }
    }
}
