// scanner-bench: the envelope scanner on its own, the way the HTTP edge calls it (`EnvelopeScanner.scanEnvelope` on a
// whole request body): MB/s (10^6 bytes of envelope per second) and events/s, one thread, for envelopes of 200 B,
// 5 KB and 1 MB with realistic payloads (strings with escapes and non-ASCII UTF-8, integers, decimals, exponents,
// booleans, null, nested objects and arrays).
//
//   swift build -c release --product scanner-bench
//   .build/release/scanner-bench --seconds 3
//
// Both wall-clock rates and rates per CPU-second of the scanning thread are printed: the second is what one core does
// even when other processes share the machine (the load average is printed too).
//
// Options: --seconds S (measured time per size, default 3)  --sizes 200,5000,1000000 (envelope bytes)
//          --json FILE (also write the results as JSON)
//
// Every envelope is generated from a fixed seed (the same bytes on every run), checked once with Foundation's
// JSONSerialization, then scanned in a loop for the measured time after a short warm-up.

import EnvelopeScanner
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var seconds = 3.0
    var sizes = [200, 5000, 1_000_000]
    var json: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("scanner-bench: \(message)\n".utf8))
    exit(2)
}

func parse() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let value = arguments.popFirst() else { fail("\(name) needs a value") }
        return value
    }
    while let argument = arguments.popFirst() {
        switch argument {
        case "--seconds":
            guard let seconds = Double(value(argument)), seconds > 0, seconds <= 3600 else { fail("--seconds: 0 < S <= 3600") }
            options.seconds = seconds
        case "--sizes":
            let sizes = value(argument).split(separator: ",").compactMap { Int($0) }
            guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 160 && $0 <= 64 << 20 }) else {
                fail("--sizes: comma-separated byte counts from 160 to 64 MiB")
            }
            options.sizes = sizes
        case "--json": options.json = value(argument)
        case "-h", "--help":
            print("usage: scanner-bench [--seconds S] [--sizes 200,5000,1000000] [--json FILE]")
            exit(0)
        default: fail("unknown option \(argument)")
        }
    }
    return options
}

/// SplitMix64: a small deterministic generator, so every run scans the same bytes.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Builds envelopes shaped like web and mobile analytics events, of an exact size.
struct EnvelopeGenerator {
    var random: SplitMix64

    static let words = [
        "signup", "page_view", "add_to_cart", "checkout", "promo", "clicks", "session", "campaign",
        "search", "banner", "scroll", "video_play", "purchase", "refund", "login", "logout",
    ]
    /// String values with JSON escapes and multi-byte UTF-8, as user-entered text has.
    static let texts = [
        #"Caf\u00e9 \"Le Parisien\" \u2014 menu"#, #"line one\nline two\ttabbed"#, "naïve façade, 東京 ☕ 🎉",
        #"C:\\Users\\anna\\Downloads\\report (1).pdf"#, #"{\"nested\":\"json in a string\"}"#,
        "https://example.com/p/42?utm_source=mail&utm_campaign=spring-sale#top", "Mozilla/5.0 (X11; Linux x86_64)",
        #"emoji pair \ud83d\ude00 and plain text"#,
    ]

    mutating func word() -> String { Self.words[random.below(Self.words.count)] }
    mutating func text() -> String { Self.texts[random.below(Self.texts.count)] }
    mutating func integer() -> String { String(Int64(random.below(2_000_000_000)) - 1_000_000_000) }
    mutating func decimal() -> String {
        switch random.below(3) {
        case 0: return "\(random.below(100_000)).\(random.below(100))"
        case 1: return "-\(random.below(1000)).\(random.below(1_000_000))e-\(random.below(12))"
        default: return "\(random.below(10)).\(random.below(1000))E+\(random.below(20))"
        }
    }

    /// One line item: a nested object with an array inside.
    mutating func item() -> String {
        #"{"sku":"SKU-\#(random.below(1_000_000))","name":"\#(text())","qty":\#(random.below(20) + 1),"#
            + #""price":\#(decimal()),"discount":\#(random.below(2) == 0 ? "null" : decimal()),"#
            + #""tags":["\#(word())","\#(word())"],"in_stock":\#(random.below(2) == 0),"delta":\#(integer()),"#
            + #""dims":{"w":\#(random.below(500)),"h":\#(random.below(500)),"unit":"mm"}}"#
    }

    /// An envelope of exactly `size` bytes (drawn again when the random fields came out too long to fit).
    mutating func envelope(size: Int, number: Int) -> [UInt8] {
        for _ in 0..<10_000 {
            if let envelope = attempt(size: size, number: number) { return envelope }
        }
        fail("cannot build an envelope of \(size) bytes")
    }

    private mutating func attempt(size: Int, number: Int) -> [UInt8]? {
        var body =
            #"{"team":"web","app":"clicks","partition_key":"user-\#(random.below(100_000))","#
            + #""event_id":"bench-\#(String(number, radix: 16))","payload":{"event":"\#(word())","#
            + #""ts":\#(1_764_547_200_000 + random.below(86_400_000))"#
        if size >= 200 {
            body += #","props":{"q":"\u00e9t\u00e9","n":\#(decimal()),"ok":\#(random.below(2) == 0)}"#
        }
        if size >= 400 {
            body +=
                #","session":{"id":"s-\#(random.next() % 1_000_000_007)","new":\#(random.below(2) == 0),"#
                + #""referrer":null,"screen":[\#(random.below(4000)),\#(random.below(3000))],"agent":"\#(text())"}"#
        }
        if size >= 1000 {
            body +=
                #","user":{"id":"u-\#(random.below(1_000_000))","plan":"pro","traits":{"age":\#(random.below(90)),"#
                + #""score":\#(decimal()),"bio":"\#(text())","locale":"fr-CA"}}"#
            body += #","items":["#
            var first = true
            // Leave room for the closing text field (at least ~40 bytes).
            while true {
                let next = item()
                if body.utf8.count + next.utf8.count + 1 + 80 > size { break }
                body += (first ? "" : ",") + next
                first = false
            }
            body += "]"
        }
        // Close with a text field padded so the whole envelope is exactly `size` bytes.
        let tail = #","note":""#
        let close = #""}}"#
        let room = size - body.utf8.count - tail.utf8.count - close.utf8.count
        guard room >= 0 else { return nil }
        var pad = ""
        if room > 0 {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            pad.reserveCapacity(room)
            for _ in 0..<room { pad.append(alphabet[random.below(alphabet.count)]) }
        }
        body += tail + pad + close
        return Array(body.utf8)
    }
}

struct SizeResult: Codable {
    var envelopeBytes: Int
    var envelopes: Int
    var events: Int
    /// Wall-clock seconds measured.
    var seconds: Double
    /// CPU seconds of the scanning thread over the same time (below `seconds` when other processes took the core).
    var cpuSeconds: Double
    var megabytesPerSecond: Double
    var eventsPerSecond: Double
    /// Per CPU-second of the scanning thread: what one core does, even on a machine shared with other work.
    var megabytesPerCPUSecond: Double
    var eventsPerCPUSecond: Double
}

/// CPU time of the calling thread, in seconds.
func threadCPUSeconds() -> Double {
    var time = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The 1-minute load average, to show whether the machine was busy with other work.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
    return String(text.split(separator: " ").first ?? "unknown")
}

func machine() -> String {
    var cpu = "unknown CPU"
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
        let colon = line.firstIndex(of: ":")
    {
        cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let process = ProcessInfo.processInfo
    let gib = Double(process.physicalMemory) / Double(1 << 30)
    return "\(process.activeProcessorCount) cores (\(cpu)), \(Int(gib.rounded())) GiB, \(process.operatingSystemVersionString)"
}

/// Scans `envelopes` round-robin until `seconds` have passed; returns (events, wall seconds, CPU seconds, checksum).
func measure(_ envelopes: [[UInt8]], seconds: Double) -> (events: Int, seconds: Double, cpuSeconds: Double, checksum: Int) {
    let clock = ContinuousClock()
    let cpuStart = threadCPUSeconds()
    let start = clock.now
    let limit = Duration.milliseconds(Int64(seconds * 1000))
    var events = 0
    var checksum = 0
    // Check the clock every `batch` scans, sized so a check happens about every millisecond.
    let batch = max(1, 1_000_000 / max(1, envelopes[0].count * 2))
    var elapsed = Duration.zero
    while elapsed < limit {
        for _ in 0..<batch {
            let envelope = envelopes[events % envelopes.count]
            do {
                let scanned = try EnvelopeScanner.scanEnvelope(envelope)
                checksum &+= scanned.payload.count &+ (scanned.eventID?.utf8.count ?? 0)
            } catch {
                fail("envelope \(events % envelopes.count) rejected: \(error)")
            }
            events += 1
        }
        elapsed = clock.now - start
    }
    let cpu = threadCPUSeconds() - cpuStart
    let components = elapsed.components
    return (events, Double(components.seconds) + Double(components.attoseconds) / 1e18, cpu, checksum)
}

let options = parse()
#if DEBUG
let build = "debug build: figures are meaningless, use -c release"
#else
let build = "release build"
#endif
print("scanner-bench: EnvelopeScanner.scanEnvelope, one thread, \(build)")
print("machine: \(machine())")
print("command: \(CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))")
print("load average before: \(loadAverage()) (1 min)")
print("")
print("MB = 10^6 envelope bytes; per CPU-s = per CPU-second of the scanning thread (what one core does)")
print("envelope   MB/s  MB per CPU-s    events/s  events per CPU-s   events scanned  seconds  CPU-s")

var generator = EnvelopeGenerator(random: SplitMix64(state: 0x5EED_5C41))
var results: [SizeResult] = []
var total = 0
for size in options.sizes {
    // Enough distinct envelopes that the loop does not replay one buffer, without holding hundreds of MB.
    let count = max(4, min(256, 16_000_000 / size))
    let envelopes = (0..<count).map { generator.envelope(size: size, number: $0) }
    for (index, envelope) in envelopes.enumerated() {
        guard envelope.count == size else { fail("envelope \(index) is \(envelope.count) bytes, not \(size)") }
        guard (try? JSONSerialization.jsonObject(with: Data(envelope))) != nil else {
            fail("envelope \(index) of \(size) bytes is not JSON to Foundation either")
        }
    }
    _ = measure(envelopes, seconds: min(0.5, options.seconds / 4)) // warm-up
    let run = measure(envelopes, seconds: options.seconds)
    total &+= run.checksum
    let megabytes = Double(run.events) * Double(size) / 1e6
    let cpuSeconds = max(run.cpuSeconds, 1e-9)
    let result = SizeResult(
        envelopeBytes: size, envelopes: count, events: run.events, seconds: run.seconds, cpuSeconds: run.cpuSeconds,
        megabytesPerSecond: megabytes / run.seconds, eventsPerSecond: Double(run.events) / run.seconds,
        megabytesPerCPUSecond: megabytes / cpuSeconds, eventsPerCPUSecond: Double(run.events) / cpuSeconds)
    results.append(result)
    let label = size >= 1_000_000 ? "\(size / 1_000_000) MB" : size >= 1000 ? "\(size / 1000) KB" : "\(size) B"
    print(
        label.padding(toLength: 8, withPad: " ", startingAt: 0)
            + String(
                format: "%6.0f  %12.0f  %10.0f  %16.0f  %15d  %7.2f  %5.2f", result.megabytesPerSecond,
                result.megabytesPerCPUSecond, result.eventsPerSecond, result.eventsPerCPUSecond, run.events, run.seconds,
                run.cpuSeconds))
}
print("load average after: \(loadAverage()) (1 min); checksum \(total)")

if let path = options.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    struct Report: Codable {
        var machine: String
        var command: String
        var loadAverageAfter: String
        var results: [SizeResult]
    }
    let report = Report(
        machine: machine(), command: CommandLine.arguments.joined(separator: " "), loadAverageAfter: loadAverage(),
        results: results)
    do {
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
    } catch {
        fail("cannot write \(path): \(error)")
    }
}
