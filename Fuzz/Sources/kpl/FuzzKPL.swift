// Fuzz target: the KPL deaggregator (`RecordDeaggregator`: magic, MD5, protobuf `AggregatedRecord`), as
// `sluice verify --kinesis` runs it on every record it reads back from a stream.
//
// Input layout: byte 0 chooses the mode. Even: the rest is an aggregate's protobuf body, wrapped here in the magic
// and its correct MD5 so the fuzzer reaches the protobuf decoder. Odd: the rest is a Kinesis record's data as read.
// Checked: what deaggregates re-aggregates (`RecordAggregator`) and deaggregates again to the same records; data
// that is not aggregated comes back unchanged; explicit hash keys parse as `ShardHashing` says and print back.

import FuzzDriver
import KinesisAggregation

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let rest = [UInt8](UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    let record: [UInt8]
    if data[0] & 1 == 0 {
        record = AggregationFormat.magic + rest + AggregationFormat.checksum(of: rest)
        precondition(RecordDeaggregator.isAggregated(record), "a wrapped body is not seen as aggregated")
    } else {
        record = rest
    }

    do throws(AggregationError) {
        let users = try RecordDeaggregator.deaggregate(record, partitionKey: "kinesis-key")
        if !RecordDeaggregator.isAggregated(record) {
            precondition(users == [UserRecord(partitionKey: "kinesis-key", data: record)], "plain data changed")
        } else {
            var aggregator = RecordAggregator(maxBytes: .max)
            for user in users {
                precondition(aggregator.append(user), "an unbounded aggregator refused a record")
                if let key = user.explicitHashKey, let value = ShardHashing.parseDecimal(key) {
                    precondition(ShardHashing.parseDecimal(ShardHashing.decimalString(value)) == value, "decimal round trip")
                }
                _ = ShardHashing.effectiveHashKey(of: user)
            }
            let again = try RecordDeaggregator.deaggregate(aggregator.encode(), partitionKey: "other")
            precondition(again == users, "re-aggregated records differ")
        }
    } catch {
        precondition(RecordDeaggregator.isAggregated(record), "plain data refused: \(error)")
        precondition(!error.message.isEmpty, "an error without a message")
    }

    // The decimal parser on the raw text (explicit hash keys and shard ranges come from outside too).
    let text = String(decoding: rest, as: UTF8.self)
    if let value = ShardHashing.parseDecimal(text) {
        precondition(text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }, "non-digits accepted")
        let printed = ShardHashing.decimalString(value)
        precondition(printed == String(text.drop { $0 == "0" }.isEmpty ? "0" : text.drop { $0 == "0" }), "\(text) prints as \(printed)")
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
