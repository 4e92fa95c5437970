// Fuzz target: every public parser of `HTTPHeaderParsing` (X-Client-Sent-At, X-Request-Id, Content-Type,
// Content-Encoding, Content-Length, and the decimal integers under them).
//
// Input layout: byte 0 chooses `maxDigits` and `allowsNegative` for `DecimalInteger.parse`, bytes 1...8 the
// gateway clock for `ClientSentAt` (little-endian); the rest is header text, and its `\n`-separated parts are the
// repeated field values of a request. Every parser sees every input. Checked: each parser's contract (bounds,
// signs, the request id echoed unchanged, lower-cased media types, bounded problem texts).

import FuzzDriver
import HTTPHeaderParsing

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let control = size > 0 ? input[0] : 0
    var now: Int64 = 0
    for index in stride(from: 1, to: min(size, 9), by: 1) { now |= Int64(input[index]) << (8 * Int64(index - 1)) }
    let textBytes = UnsafeRawBufferPointer(rebasing: input[min(size, 9)...])
    let text = String(decoding: textBytes, as: UTF8.self)
    let values = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

    // DecimalInteger on raw bytes (not only valid UTF-8).
    let maxDigits = Int(control & 0x1F) - 4 // -4...27: out-of-range limits too
    let allowsNegative = control & 0x20 != 0
    if let value = DecimalInteger.parse(textBytes, maxDigits: maxDigits, allowsNegative: allowsNegative) {
        precondition(allowsNegative || value >= 0, "negative value \(value) without allowsNegative")
        let digits = textBytes.count(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        precondition(digits >= 1 && digits <= min(max(maxDigits, 1), 18), "\(digits) digits accepted with maxDigits \(maxDigits)")
    }

    // X-Client-Sent-At, with the fuzzed clock and with a realistic one.
    for clock in [now, 1_764_633_600_000] {
        if let latency = ClientSentAt.networkLatencyMillis(text, nowMillis: clock) {
            precondition(latency >= 0 && latency <= ClientSentAt.plausibleSkewMillis, "latency \(latency) out of range")
        }
        if let first = values.first { _ = ClientSentAt.networkLatencyMillis(first[...], nowMillis: clock) }
    }

    // X-Request-Id: echoed unchanged or refused.
    for value in values + [text] {
        if let echoed = RequestIDHeader.validated(value) {
            precondition(echoed == value, "request id changed")
            precondition(!echoed.isEmpty && echoed.utf8.count <= RequestIDHeader.maxLength, "request id length \(echoed.utf8.count)")
            precondition(echoed.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "request id with invisible characters")
        }
    }

    // Content-Type.
    for value in values + [text] {
        if let header = ContentTypeHeader.parse(value) {
            precondition(header.mediaType.contains("/"), "media type without a slash")
            precondition(!header.mediaType.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }), "media type not lower-cased")
            _ = header.isUTF8
        }
    }

    // Content-Encoding and Content-Length over all the field values.
    do throws(ContentEncodingProblem) {
        _ = try ContentEncodingHeader.coding(values)
    } catch {
        switch error {
        case .unsupported(let name): precondition(name.count <= 64, "unbounded coding name in the problem")
        case .stacked: break
        }
    }
    do throws(ContentLengthProblem) {
        if let length = try ContentLengthHeader.length(values) {
            precondition(length >= 0, "negative Content-Length \(length)")
        }
    } catch {
        if case .malformed(let member) = error { precondition(member.count <= 64, "unbounded member in the problem") }
    }
    return 0
}

/// Hands the process to libFuzzer.
@main
enum FuzzMain {
    static func main() {
        exit(sluice_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzz))
    }
}
