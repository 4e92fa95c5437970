import CompressNIO
import NIOCore

/// GZIP decoding with integrity checks: every member's CRC-32 and length trailer is verified, so a truncated or
/// damaged file is reported instead of silently yielding part of its content.
public enum Gzip {
    /// Why a file is not a sound GZIP file.
    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong.
        public var reason: String
        /// The content decoded before the problem (possibly empty).
        public var partial: [UInt8]

        public var description: String { reason }
    }

    /// The largest decompressed size accepted for one file.
    public static let maximumDecodedSize = 4 << 30

    /// Decompresses every member of `data`.
    /// - Throws: ``DecodingError`` (with whatever was decoded before the damage) when the data is not GZIP,
    ///   is truncated, or a member's checksum or length does not match.
    public static func decompress(_ data: [UInt8]) throws(DecodingError) -> [UInt8] {
        guard data.count >= 18, data[0] == 0x1F, data[1] == 0x8B else {
            throw DecodingError(reason: data.isEmpty ? "the file is empty (not GZIP)" : "not a GZIP file (bad magic bytes)", partial: [])
        }
        var input = ByteBuffer(bytes: data)
        var output: [UInt8] = []
        var member = 0
        while input.readableBytes > 0 {
            if member > 0, input.readableBytesView.allSatisfy({ $0 == 0 }) { break }  // zero padding after the last member
            member += 1
            let before = input.readerIndex
            var decoded: ByteBuffer
            do {
                let decompressor = CompressionAlgorithm.gzip().decompressor
                try decompressor.startStream()
                decoded = try input.decompressStream(with: decompressor, maxSize: maximumDecodedSize - output.count)
                try? decompressor.finishStream()
            } catch {
                throw DecodingError(reason: "member \(member) is damaged (\(error))", partial: output)
            }
            let consumed = input.readerIndex - before
            let bytes = Array(decoded.readableBytesView)
            guard consumed >= 18 else {
                throw DecodingError(reason: "member \(member) is truncated", partial: output + bytes)
            }
            let trailer = input.readerIndex - 8
            let storedCRC = data[trailer..<trailer + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let storedSize = data[trailer + 4..<trailer + 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard storedSize == UInt32(truncatingIfNeeded: bytes.count), storedCRC == CRC32.checksum(bytes) else {
                throw DecodingError(
                    reason: input.readableBytes == 0
                        ? "the file is truncated or damaged (member \(member)'s CRC-32/length trailer does not match)"
                        : "member \(member)'s CRC-32/length trailer does not match",
                    partial: output + bytes
                )
            }
            output += bytes
        }
        return output
    }

    /// Compresses `data` as one GZIP member (for tests and tools).
    public static func compress(_ data: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: data)
        let compressed = try input.compress(with: .gzip())
        return Array(compressed.readableBytesView)
    }
}

/// CRC-32 (IEEE 802.3, the one GZIP uses), table-driven, slicing by 4.
public enum CRC32 {
    static let tables: [[UInt32]] = {
        var first = [UInt32](repeating: 0, count: 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            first[index] = crc
        }
        var tables = [first]
        for level in 1..<4 {
            let previous = tables[level - 1]
            tables.append((0..<256).map { index in (previous[index] >> 8) ^ first[Int(previous[index] & 0xFF)] })
        }
        return tables
    }()

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        let t0 = tables[0]
        let t1 = tables[1]
        let t2 = tables[2]
        let t3 = tables[3]
        var crc: UInt32 = 0xFFFF_FFFF
        bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            let count = buffer.count
            while index + 4 <= count {
                crc ^= UInt32(buffer[index]) | UInt32(buffer[index + 1]) << 8 | UInt32(buffer[index + 2]) << 16 | UInt32(buffer[index + 3]) << 24
                crc = t3[Int(crc & 0xFF)] ^ t2[Int((crc >> 8) & 0xFF)] ^ t1[Int((crc >> 16) & 0xFF)] ^ t0[Int(crc >> 24)]
                index += 4
            }
            while index < count {
                crc = t0[Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
