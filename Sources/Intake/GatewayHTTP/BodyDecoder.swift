import CompressNIO
import HTTPHeaderParsing
import HTTPTypes
import NIOCore

/// Undoes a request body's `Content-Encoding` (gzip, or deflate as zlib or raw), never producing more than a
/// limit: the output grows in fixed 64 KiB steps and decoding stops as soon as it passes `maxBytes`, so a
/// compression bomb costs at most the limit in memory.
enum BodyDecoder {
    /// Why a body cannot be decoded.
    enum Failure: Error, Equatable {
        /// The decoded body would pass the limit.
        case tooLarge
        /// The bytes are not a complete stream of the coding.
        case corrupt(String)
    }

    static let step = 64 * 1024

    /// The decoded body.
    static func decode(_ body: ByteBuffer, coding: ContentCoding, maxBytes: Int) throws(Failure) -> ByteBuffer {
        guard body.readableBytes > 0 else { throw .corrupt("the body is empty") }
        switch coding {
        case .gzip:
            return try inflate(body, algorithm: .gzip, maxBytes: maxBytes)
        case .deflate:
            // RFC 9110's "deflate" is the zlib format; some clients send raw deflate. A zlib stream starts with a
            // header whose 16-bit big-endian value is a multiple of 31 and whose method is 8.
            let first = body.getInteger(at: body.readerIndex, as: UInt8.self) ?? 0
            let second = body.getInteger(at: body.readerIndex + 1, as: UInt8.self) ?? 0
            let isZlib = first & 0x0F == 8 && (UInt16(first) << 8 | UInt16(second)) % 31 == 0
            return try inflate(body, algorithm: isZlib ? .zlib : .deflate, maxBytes: maxBytes)
        }
    }

    static func inflate(_ body: ByteBuffer, algorithm: ZlibAlgorithm, maxBytes: Int) throws(Failure) -> ByteBuffer {
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: algorithm)
        } catch {
            throw .corrupt("the decoder could not start: \(error)")
        }
        var input = body
        var output = ByteBuffer()
        var hasEnded = false
        while !hasEnded {
            var chunk = ByteBufferAllocator().buffer(capacity: step)
            let inputBefore = input.readableBytes
            do {
                if input.readableBytes > 0 {
                    try decompressor.inflate(from: &input, to: &chunk)
                    // No error: the stream ended (any input left is trailing data), or zlib took all the input and
                    // waits for more; a call with no input (below) tells which.
                    hasEnded = input.readableBytes > 0
                } else {
                    var empty = ByteBufferAllocator().buffer(capacity: 16)
                    try decompressor.inflate(from: &empty, to: &chunk)
                    // No error and no output: the stream has ended (zlib reports no progress as an error).
                    hasEnded = chunk.readableBytes == 0
                }
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // The 64 KiB step is full: keep it and go on.
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw .corrupt("the stream is truncated")
            } catch let error as CompressNIOError where error == .corruptData {
                throw .corrupt("the data is corrupt")
            } catch {
                throw .corrupt("\(error)")
            }
            if !hasEnded && chunk.readableBytes == 0 && input.readableBytes == inputBefore {
                throw .corrupt("the decoder made no progress")
            }
            if output.readableBytes + chunk.readableBytes > maxBytes { throw .tooLarge }
            output.writeBuffer(&chunk)
        }
        guard input.readableBytes == 0 else { throw .corrupt("\(input.readableBytes) bytes follow the end of the stream") }
        return output
    }
}

extension ProblemDetails {
    static func unsupportedContentEncoding(_ problem: ContentEncodingProblem) -> ProblemDetails {
        let detail: String
        switch problem {
        case .unsupported(let name):
            detail = "Content-Encoding '\(name)' is not supported; send gzip, deflate or an uncompressed body"
        case .stacked(let names):
            detail = "only one Content-Encoding may be applied (got \(names))"
        }
        return ProblemDetails(
            status: .unsupportedMediaType, type: "unsupported-content-encoding", title: "Unsupported content encoding",
            detail: detail, headers: [.acceptEncoding: "gzip, deflate"]
        )
    }
}
