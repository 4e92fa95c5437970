import ArgumentParser
import Foundation
import GatewayCore
import LoadGenerator

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sluice bench`: a load generator for the gateway's events endpoints, with HDR latency percentiles.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a running gateway: closed or open loop, HDR latency percentiles, JSON and SVG reports.",
        discussion: """
            Closed loop (default): --connections workers each send back-to-back. Open loop (--rate R): request i is \
            intended at start + i/R and its latency is measured from that intended time, so a slow server cannot hide \
            its queueing (no coordinated omission). Event ids are <id-prefix>-<12-digit number>, unique per run. \
            Exit status: 0 when the run completed, 1 when the target could not be reached or an option is invalid. \
            See docs/bench.md.
            """
    )

    @Option(name: .long, help: "The gateway's base URL (plain HTTP).")
    var url: String = "http://127.0.0.1:8080"

    @Option(name: .long, help: "Open loop: events per second (constant arrival). Without it: closed loop.")
    var rate: Double?

    @Option(name: .long, help: "Keep-alive HTTP/1.1 connections (closed loop: concurrent workers).")
    var connections: Int = 64

    @Option(name: .long, help: "How long to measure: 500ms, 30s, 2m.")
    var duration: String = "30s"

    @Option(name: .long, help: "How long to send before measuring (not recorded).")
    var warmup: String = "5s"

    @Option(name: .long, help: "Payload size in bytes (the payload is a JSON object of exactly this size; 4KiB, 1MiB accepted).")
    var size: String = "512"

    @Option(name: .long, help: "Number of distinct partition keys (user-0 … user-N-1).")
    var partitionKeys: Int = 1000

    @Option(name: .long, help: "Fraction (0-1) of events sent with \"large_message\":true and a --large-size payload.")
    var largeFraction: Double = 0

    @Option(name: .long, help: "Payload size of large events.")
    var largeSize: String = "1MiB"

    @Option(name: .long, help: "The events' team (with --app).")
    var team: String = "web"

    @Option(name: .long, help: "The events' app (with --team).")
    var app: String = "clicks"

    @Option(name: .long, help: "Several streams, used round-robin: team/app,team/app (overrides --team/--app).")
    var streams: String?

    @Option(name: .long, help: "events (202 once logged), confirmed (200 once delivered) or batch.")
    var endpoint: BenchEndpointArgument = .events

    @Option(name: .long, help: "Events per batch request (--endpoint batch).")
    var batchSize: Int = 100

    @Option(name: .long, help: "Batch body format: json (an array) or ndjson.")
    var batchFormat: BatchFormatArgument = .json

    @Option(name: .long, help: "Event-loop threads of the client.")
    var threads: Int = 1

    @Option(name: .long, help: "After the end, how long to wait for outstanding responses.")
    var drainTimeout: String = "10s"

    @Option(name: .long, help: "Prefix of the event ids (default: bench-<random>).")
    var idPrefix: String?

    @Option(name: .long, help: "Write the results as JSON to this file.")
    var json: String?

    @Option(name: .long, help: "Write an SVG plot (latency spectrum, throughput over time) to this file.")
    var plot: String?

    @Option(name: .long, help: "Write the id of every acknowledged event to this file, one per line (for sluice verify).")
    var ids: String?

    @Flag(name: .long, help: "No live progress line (it is only shown when stderr is a terminal anyway).")
    var quiet = false

    func run() async throws {
        let configuration: BenchConfiguration
        do {
            configuration = try makeConfiguration()
            try configuration.validate()
        } catch {
            throw ValidationError(error.message)
        }
        let showProgress = !quiet && isatty(STDERR_FILENO) == 1
        var progress: (@Sendable (ProgressSnapshot) -> Void)?
        if showProgress {
            progress = { snapshot in FileHandle.standardError.write(Data(Self.progressLine(snapshot).utf8)) }
        }

        let result: BenchResult
        do {
            result = try await BenchRunner.run(configuration, progress: progress)
        } catch {
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            FileHandle.standardError.write(Data("sluice bench: \(error.message)\n".utf8))
            throw ExitCode(error.code == .invalidOption ? 64 : 1)
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        print(result.table(), terminator: "")

        var failures: [String] = []
        if let json {
            do {
                try write(try result.json(), to: json)
            } catch {
                failures.append(error.message)
            }
        }
        if let plot {
            do { try write(SVGPlot(result: result).render(), to: plot) } catch { failures.append(error.message) }
        }
        if let ids {
            do { try write(result.acknowledgedIDsText(), to: ids) } catch { failures.append(error.message) }
            print("ids: \(result.recorder.acknowledgedEvents.count) acknowledged event ids written to \(ids)")
        }
        for failure in failures { FileHandle.standardError.write(Data("sluice bench: \(failure)\n".utf8)) }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// The live progress line (rewritten in place on a terminal).
    static func progressLine(_ snapshot: ProgressSnapshot) -> String {
        let phase = snapshot.warmingUp ? "warm-up " : ""
        var line = "\r\u{1B}[2K\(phase)\(Formatting.fixed(snapshot.elapsedSeconds, digits: 0))s  "
        line += "\(Formatting.fixed(snapshot.requestsPerSecond, digits: 0)) req/s  "
        line += "\(Formatting.fixed(snapshot.eventsPerSecond, digits: 0)) events/s  errors \(snapshot.errors)  "
        if snapshot.warmingUp {
            line += "(latency not recorded yet)"
        } else {
            line += "p50 \(Formatting.milliseconds(micros: snapshot.p50)) ms  p99 \(Formatting.milliseconds(micros: snapshot.p99)) ms"
        }
        return line
    }

    func makeConfiguration() throws(BenchError) -> BenchConfiguration {
        let target = try BenchTarget(parsing: url)
        let prefix = idPrefix ?? "bench-" + String(EventID.makeUUIDv7().replacingOccurrences(of: "-", with: "").suffix(12))
        var configuration = BenchConfiguration(target: target, idPrefix: prefix)
        if let rate { configuration.mode = .openLoop(eventsPerSecond: rate) }
        configuration.connections = connections
        configuration.duration = try parseDuration(duration, option: "--duration")
        configuration.warmup = try parseDuration(warmup, option: "--warmup")
        configuration.drainTimeout = try parseDuration(drainTimeout, option: "--drain-timeout")
        configuration.endpoint = endpoint.value
        configuration.batchSize = batchSize
        configuration.batchFormat = batchFormat.value
        configuration.threads = threads
        configuration.collectAcknowledgedIDs = ids != nil
        var streamNames = [StreamName(team: team, app: app)]
        if let streams {
            streamNames = []
            for text in streams.split(separator: ",", omittingEmptySubsequences: true) {
                streamNames.append(try StreamName(parsing: String(text).trimmingCharacters(in: .whitespaces)))
            }
        }
        guard !team.isEmpty, !app.isEmpty else { throw BenchError(.invalidOption, "--team and --app must not be empty") }
        configuration.shape = EventShape(
            streams: streamNames,
            payloadSize: try ByteSizeParser.parse(size, option: "--size"),
            partitionKeys: partitionKeys,
            largeFraction: largeFraction,
            largePayloadSize: try ByteSizeParser.parse(largeSize, option: "--large-size")
        )
        return configuration
    }

    func parseDuration(_ text: String, option: String) throws(BenchError) -> Duration {
        do {
            return try DurationParser.parse(text)
        } catch {
            throw BenchError(.invalidOption, "\(option): \(error)")
        }
    }

    func write(_ text: String, to path: String) throws(BenchError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw BenchError(.output, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// `--endpoint` values.
enum BenchEndpointArgument: String, ExpressibleByArgument, CaseIterable {
    case events, confirmed, batch

    var value: BenchEndpoint {
        switch self {
        case .events: .events
        case .confirmed: .confirmed
        case .batch: .batch
        }
    }
}

/// `--batch-format` values.
enum BatchFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case json, ndjson

    var value: BatchFormat { self == .json ? .json : .ndjson }
}
