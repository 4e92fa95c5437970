// Fuzz target: how `POST /v1/events/batch` splits a body, then scans each event.
//
// The same input goes through both splitters, as the gateway would for `application/json` and
// `application/x-ndjson`: `EnvelopeScanner.arrayElements` (with the controller's depth, one more than an event's)
// and `EnvelopeScanner.ndjsonLines`; every element and line is then scanned as an envelope. Checked: ranges lie
// inside the body, in order, without overlap; JSON elements are valid JSON; NDJSON lines hold no `\n`, are not
// blank, and carry their true 1-based line numbers.

import EnvelopeScanner
import FuzzDriver

#if canImport(Glibc)
import Glibc
#endif

/// The controller's limits (`server.max_json_depth` default; the array adds one level).
let eventDepth = EnvelopeScanner.defaultMaxDepth

/// Scans one event the way `EventIngestor.prepare` does and checks the payload range.
func scanEvent(_ body: UnsafeRawBufferPointer, _ range: Range<Int>) {
    let event = UnsafeRawBufferPointer(rebasing: body[range])
    if let envelope = try? EnvelopeScanner.scanEnvelope(event, maxDepth: eventDepth) {
        precondition(envelope.payload.lowerBound >= 0 && envelope.payload.upperBound <= event.count, "payload outside the event")
    }
}

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)

    // application/json: one array of envelopes.
    do throws(EnvelopeError) {
        let elements = try EnvelopeScanner.arrayElements(body, maxDepth: eventDepth + 1)
        var previousEnd = 0
        for range in elements {
            precondition(range.lowerBound >= previousEnd && range.upperBound <= size && !range.isEmpty, "element \(range) out of order or bounds")
            previousEnd = range.upperBound
            do throws(EnvelopeError) {
                try EnvelopeScanner.validate(UnsafeRawBufferPointer(rebasing: body[range]), maxDepth: eventDepth)
            } catch {
                preconditionFailure("array element \(range) is not one JSON value: \(error)")
            }
            scanEvent(body, range)
        }
        precondition(elements == (try? EnvelopeScanner.arrayElements([UInt8](body), maxDepth: eventDepth + 1)), "overloads disagree")
    } catch {
        if let offset = error.offset { precondition(offset >= 0 && offset <= size, "error offset \(offset) outside the body") }
    }

    // application/x-ndjson: one envelope per non-blank line.
    let lines = EnvelopeScanner.ndjsonLines(body)
    var lineNumber = 1
    var position = 0
    for line in lines {
        let range = line.range
        precondition(range.lowerBound >= position && range.upperBound <= size && !range.isEmpty, "line \(range) out of order or bounds")
        while position < range.lowerBound {
            if body[position] == UInt8(ascii: "\n") { lineNumber += 1 }
            position += 1
        }
        precondition(line.number == lineNumber, "line at \(range) numbered \(line.number), is line \(lineNumber)")
        precondition(!body[range].contains(UInt8(ascii: "\n")), "line \(range) holds a newline")
        precondition(body[range].contains { $0 != 0x20 && $0 != 0x09 }, "blank line \(range) returned")
        precondition(
            body[range.upperBound - 1] != UInt8(ascii: "\r") || range.upperBound == size
                || body[range.upperBound] != UInt8(ascii: "\n"), "line \(range) keeps the \\r of its \\r\\n")
        position = range.upperBound
        scanEvent(body, range)
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
