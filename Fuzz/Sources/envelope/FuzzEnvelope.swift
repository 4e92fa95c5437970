// Fuzz target: the single-event envelope scan (`POST /v1/events`, `/v1/events/confirmed`).
//
// The input is a request body. Besides "never crashes, never hangs", it checks what the gateway relies on:
// a scanned payload range lies inside the body and is itself one JSON value; a body that scans as an envelope is
// valid JSON; error offsets lie inside the body; the buffer, array and slice overloads agree.

import EnvelopeScanner
import FuzzDriver

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let scanned = Result { () throws(EnvelopeError) in try EnvelopeScanner.scanEnvelope(body) }
    let validated = Result { () throws(EnvelopeError) in try EnvelopeScanner.validate(body) }

    if case .failure(let error) = scanned, let offset = error.offset {
        precondition(offset >= 0 && offset <= size, "scan error offset \(offset) outside a body of \(size) bytes")
    }
    if case .failure(let error) = validated, let offset = error.offset {
        precondition(offset >= 0 && offset <= size, "validation error offset \(offset) outside a body of \(size) bytes")
    }
    if case .success(let envelope) = scanned {
        precondition((try? validated.get()) != nil, "an envelope that scans is not valid JSON")
        let payload = envelope.payload
        precondition(payload.lowerBound >= 0 && payload.upperBound <= size && !payload.isEmpty, "payload \(payload) outside the body")
        do throws(EnvelopeError) {
            try EnvelopeScanner.validate(UnsafeRawBufferPointer(rebasing: body[payload]), maxDepth: EnvelopeScanner.defaultMaxDepth - 1)
        } catch {
            preconditionFailure("the payload range \(payload) is not one JSON value: \(error)")
        }
        for field in [envelope.team, envelope.app, envelope.partitionKey, envelope.eventID] {
            if let field { precondition(field.utf8.count <= size, "a decoded field is longer than the body") }
        }
    }

    // The other overloads must give the same answer, with offsets relative to the first byte.
    let array = [UInt8](body)
    let fromArray = Result { () throws(EnvelopeError) in try EnvelopeScanner.scanEnvelope(array) }
    precondition(fromArray == scanned, "[UInt8] overload disagrees: \(fromArray) vs \(scanned)")
    let padded = [0x20] + array
    let fromSlice = Result { () throws(EnvelopeError) in try EnvelopeScanner.scanEnvelope(padded[1...]) }
    precondition(fromSlice == scanned, "ArraySlice overload disagrees: \(fromSlice) vs \(scanned)")

    // A shallower limit can only refuse more.
    if (try? EnvelopeScanner.validate(body, maxDepth: 3)) != nil {
        precondition((try? validated.get()) != nil, "valid at depth 3 but not at the default depth")
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
