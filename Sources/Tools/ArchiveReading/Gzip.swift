import CompressNIO
import NIOCore

/// GZIP decoding with integrity checks: every member's CRC-32 and length trailer is verified, so a truncated or
/// damaged file is reported instead of silently yielding part of its content. The one GZIP reader of the project:
/// `sluice verify` and the tests' ``ArchiveDirectory`` readers both go through it.
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
            if member > 0, input.readableBytesView.allSatisfy({ $0 == 0 }) { break } // zero padding after the last member
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
