import CompressNIO
import NIOCore

/// Compressed request bodies for `Content-Encoding` tests: gzip, zlib-wrapped and raw deflate, and a gzip bomb.
public enum TestCompression {
    /// The three encodings a client may send.
    public enum Encoding: String, Sendable, CaseIterable {
        /// RFC 1952 gzip.
        case gzip
        /// RFC 1950 zlib (what `Content-Encoding: deflate` means).
        case zlib
        /// RFC 1951 raw deflate (what many clients send as `deflate`).
        case rawDeflate
    }

    /// `bytes` compressed in `encoding`.
    public static func compress(_ bytes: [UInt8], _ encoding: Encoding) throws -> [UInt8] {
        var input = ByteBuffer(bytes: bytes)
        let algorithm: CompressionAlgorithm =
            switch encoding {
            case .gzip: .gzip()
            case .zlib: .zlib()
            case .rawDeflate: .deflate()
            }
        let output = try input.compress(with: algorithm)
        return Array(output.readableBytesView)
    }

    /// A gzip stream that inflates to `expandedMiB` MiB of zeros, built without ever holding the expanded bytes:
    /// 1 MiB of zeros is compressed once after the first (with a sync flush, so each such block decodes the same
    /// from the same window of zeros) and repeated. About 1 KiB of output per MiB. The trailer's CRC and length
    /// describe three MiB only, so a server that inflated the whole thing would also find it corrupt at the end.
    public static func gzipBomb(expandedMiB: Int) throws -> [UInt8] {
        let compressor = try ZlibCompressor(algorithm: .gzip, configuration: .init(compressionLevel: .bestCompression))
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        func next(_ flush: CompressNIOFlush, input: [UInt8]) throws -> [UInt8] {
            var source = ByteBuffer(bytes: input)
            var window = ByteBufferAllocator().buffer(capacity: 1 << 16)
            var out: [UInt8] = []
            try source.compressStream(with: compressor, window: &window, flush: flush) { out += $0.readableBytesView }
            return out
        }
        let first = try next(.sync, input: chunk)
        let second = try next(.sync, input: chunk)
        let third = try next(.sync, input: chunk)
        guard second == third else { throw CompressNIOError.internalError }
        let end = try next(.finish, input: [])
        var bomb = first
        bomb.reserveCapacity(first.count + third.count * max(0, expandedMiB - 1) + end.count)
        for _ in 1..<max(2, expandedMiB) { bomb += third }
        return bomb + end
    }
}
