// kafka-bench: produce N messages of S bytes to a topic, await every delivery report, print
// MB/s and msgs/s. A ceiling for the gateway's Kafka sink.
//
//   kafka-bench [--messages N] [--size S] [--topic T] [--partitions P] [--brokers HOST:PORT]
//               [--property k=v ...]
//
// Without --brokers it starts a Tansu broker (scripts/kafka-peers) on a free port and creates the
// topic. Run with LD_LIBRARY_PATH=.tools/kafka/lib so librdkafka 2.16 is loaded.
import Foundation
import GatewayTesting
import KafkaClient
import Logging
import Synchronization

struct Options {
    var messages = 200_000
    var size = 1024
    var topic = "bench"
    var partitions = 3
    var brokers: String?
    var properties: [String: String] = [:]
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let next = arguments.popFirst() else {
            FileHandle.standardError.write(Data("missing value for \(name)\n".utf8))
            exit(2)
        }
        return next
    }
    func number(_ name: String) -> Int {
        let text = value(name)
        guard let number = Int(text), number >= 0 else {
            FileHandle.standardError.write(Data("\(name) needs a non-negative integer, got \(text)\n".utf8))
            exit(2)
        }
        return number
    }
    while let argument = arguments.popFirst() {
        switch argument {
        case "--messages": options.messages = number(argument)
        case "--size": options.size = number(argument)
        case "--topic": options.topic = value(argument)
        case "--partitions": options.partitions = max(1, number(argument))
        case "--brokers": options.brokers = value(argument)
        case "--property":
            let pair = value(argument)
            guard let eq = pair.firstIndex(of: "=") else {
                FileHandle.standardError.write(Data("--property needs key=value, got \(pair)\n".utf8))
                exit(2)
            }
            options.properties[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        case "-h", "--help":
            print("usage: kafka-bench [--messages N] [--size S] [--topic T] [--partitions P] [--brokers HOST:PORT] [--property k=v]...")
            exit(0)
        default:
            FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
            exit(2)
        }
    }
    return options
}

/// Counts reports; signals once every message has one.
final class Tally: Sendable {
    struct Counts {
        var delivered = 0
        var failed = 0
        var firstError: KafkaError?
    }
    let counts = Mutex(Counts())
    let done = DispatchSemaphore(value: 0)
    let expected: Int

    init(expected: Int) { self.expected = expected }

    func record(_ reports: [KafkaDeliveryReport]) {
        let finished = counts.withLock { counts -> Bool in
            for report in reports {
                if let error = report.error {
                    counts.failed += 1
                    if counts.firstError == nil { counts.firstError = error }
                } else {
                    counts.delivered += 1
                }
            }
            return counts.delivered + counts.failed == expected && !reports.isEmpty
        }
        if finished { done.signal() }
    }
}

let options = parseOptions()
var logger = Logger(label: "kafka-bench")
logger.logLevel = .warning
print("librdkafka \(KafkaProducer.librdkafkaVersion)")

var broker: TansuBroker?
let bootstrap: String
do {
    if let brokers = options.brokers {
        bootstrap = brokers
    } else {
        let started = try TansuBroker.start()
        try started.createTopic(options.topic, partitions: options.partitions)
        broker = started
        bootstrap = started.bootstrapServers
        print("tansu on \(bootstrap) (pid \(started.pid)), topic \(options.topic) with \(options.partitions) partitions")
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}

var properties = [
    "bootstrap.servers": bootstrap,
    "linger.ms": "5",
    "message.max.bytes": String(max(1_000_000, options.size + 4096)),
    "queue.buffering.max.messages": "1000000",
    "queue.buffering.max.kbytes": "1048576",
]
properties.merge(options.properties) { _, new in new }

let tally = Tally(expected: options.messages)
let producer: KafkaProducer
do {
    producer = try KafkaProducer(properties: properties, logger: logger) { reports in tally.record(reports) }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}

var payload = [UInt8](repeating: 0, count: options.size)
for index in payload.indices { payload[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }

let start = ContinuousClock.now
var queueFullRetries = 0
var tag: UInt64 = 0
while Int(tag) < options.messages {
    do {
        try producer.produce(topic: options.topic, value: payload, tag: tag)
        tag += 1
    } catch  where error.isQueueFull {
        queueFullRetries += 1
        try? producer.flush(timeout: .milliseconds(10)) // let reports drain, then retry
    } catch {
        FileHandle.standardError.write(Data("produce failed: \(error)\n".utf8))
        exit(1)
    }
}
let enqueued = ContinuousClock.now - start
if options.messages > 0 { tally.done.wait() }
let elapsed = ContinuousClock.now - start
producer.close()
broker?.stop()

let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let counts = tally.counts.withLock { $0 }
let megabytes = Double(options.messages * options.size) / 1_000_000
print(
    "messages \(options.messages) × \(options.size) B: delivered \(counts.delivered), failed \(counts.failed), "
        + "queue-full retries \(queueFullRetries)")
print("enqueue \(enqueued), all reports \(elapsed)")
print(String(format: "%.0f msgs/s, %.1f MB/s", Double(options.messages) / seconds, megabytes / seconds))
if let error = counts.firstError { print("first error: \(error)") }
exit(counts.failed == 0 ? 0 : 1)
