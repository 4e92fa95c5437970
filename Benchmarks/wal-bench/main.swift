// wal-bench: measures append throughput with concurrent appenders and a reader's catch-up from files.
//
//   swift build -c release --product wal-bench
//   .build/release/wal-bench --policy interval:10 --appenders 64 --size 5120 --seconds 5
//   .build/release/wal-bench --policy always --appenders 64 --size 5120 --seconds 5
//
// Options: --policy always|never|interval:<ms>  --appenders N  --size BYTES  --seconds S
//          --segment-mb MB  --dir PATH (default: a fresh directory under /tmp, removed afterwards)
//          --keep (keep the directory)  --cold (drop the segment files' page cache before catch-up)

import Foundation
import WriteAheadLog

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var policy: FsyncPolicy = .interval(.milliseconds(10))
    var policyName = "interval:10"
    var appenders = 64
    var size = 5120
    var seconds = 5.0
    var segmentMB = 64
    var dir: String?
    var keep = false
    var cold = false
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value() -> String {
        guard let v = args.popFirst() else {
            FileHandle.standardError.write(Data("missing value\n".utf8))
            exit(2)
        }
        return v
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--policy":
            let v = value()
            o.policyName = v
            if v == "always" {
                o.policy = .always
            } else if v == "never" {
                o.policy = .never
            } else if v.hasPrefix("interval:"), let ms = Int(v.dropFirst(9)) {
                o.policy = .interval(.milliseconds(ms))
            } else {
                FileHandle.standardError.write(Data("bad policy \(v)\n".utf8))
                exit(2)
            }
        case "--appenders": o.appenders = Int(value()) ?? o.appenders
        case "--size": o.size = Int(value()) ?? o.size
        case "--seconds": o.seconds = Double(value()) ?? o.seconds
        case "--segment-mb": o.segmentMB = Int(value()) ?? o.segmentMB
        case "--dir": o.dir = value()
        case "--keep": o.keep = true
        case "--cold": o.cold = true
        default:
            FileHandle.standardError.write(Data("unknown option \(arg)\n".utf8))
            exit(2)
        }
    }
    return o
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    if sorted.isEmpty { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func format(_ x: Double, _ digits: Int = 1) -> String {
    String(format: "%.\(digits)f", x)
}

let options = parse()
let directory = options.dir ?? "/tmp/wal-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: directory)

var configuration = WALConfiguration(directory: directory, cursorNames: ["bench"])
configuration.fsync = options.policy
configuration.segmentSizeBytes = options.segmentMB << 20
configuration.maxDiskBytes = 64 << 30

let log = try WriteAheadLog.open(configuration)
let body = [UInt8]((0..<options.size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
let clock = ContinuousClock()
let start = clock.now
let deadline = start.advanced(by: .milliseconds(Int(options.seconds * 1000)))

// Phase 1: N concurrent appenders, each appending one entry at a time until the deadline.
let latencies: [[Double]] = try await withThrowingTaskGroup(of: [Double].self) { group in
    for a in 0..<options.appenders {
        group.addTask {
            var mine: [Double] = []
            mine.reserveCapacity(100_000)
            var i = 0
            while clock.now < deadline {
                let t0 = clock.now
                _ = try await log.append(
                    LogEntry(eventID: "a\(a)-\(i)", routes: 1, receivedAtMillis: Int64(i), body: body))
                let d = clock.now - t0
                mine.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15)
                i += 1
            }
            return mine
        }
    }
    var all: [[Double]] = []
    for try await l in group { all.append(l) }
    return all
}
let elapsed = clock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let count = latencies.reduce(0) { $0 + $1.count }
let sorted = latencies.flatMap { $0 }.sorted()
let stats = log.stats
let payloadMB = Double(count * options.size) / 1e6
print("policy \(options.policyName), \(options.appenders) appenders, \(options.size)-byte bodies, \(format(seconds, 2)) s")
print(
    "  appends: \(count)  →  \(format(Double(count) / seconds, 0)) appends/s, \(format(payloadMB / seconds)) MB/s of bodies, \(format(Double(stats.diskBytes) / 1e6 / seconds)) MB/s on disk"
)
print(
    "  latency ms: p50 \(format(percentile(sorted, 0.5), 3))  p90 \(format(percentile(sorted, 0.9), 3))  p99 \(format(percentile(sorted, 0.99), 3))  max \(format(sorted.last ?? 0, 3))"
)
print("  disk \(stats.diskBytes / (1 << 20)) MiB in \(stats.segmentCount) segments")
await log.close()

// Phase 2: reopen (empty memory tail) and read everything back from the files with one reader.
if options.cold {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".seg") {
        let fd = open(directory + "/" + name, O_RDONLY)
        if fd >= 0 {
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            close(fd)
        }
    }
}
let reopened = try WriteAheadLog.open(configuration)
print("  reopen: recovery scanned \(reopened.recovery.segmentsScanned) segment, \(reopened.recovery.recordsRecovered) records retained")
let reader = try reopened.makeReader(cursor: "bench")
let readStart = clock.now
var read = 0
var bytes = 0
while read < count {
    let batch = try await reader.next(maxRecords: 1000, maxBytes: 4 << 20)
    if batch.isEmpty { break }
    read += batch.count
    for r in batch { bytes += r.body.count }
}
let readElapsed = clock.now - readStart
let readSeconds = Double(readElapsed.components.seconds) + Double(readElapsed.components.attoseconds) / 1e18
print(
    "  catch-up from files\(options.cold ? " (cold page cache)" : " (warm page cache)"): \(read) records in \(format(readSeconds, 2)) s  →  \(format(Double(read) / readSeconds, 0)) records/s, \(format(Double(bytes) / 1e6 / readSeconds)) MB/s of bodies"
)
await reopened.close()
if !options.keep { try? FileManager.default.removeItem(atPath: directory) }
