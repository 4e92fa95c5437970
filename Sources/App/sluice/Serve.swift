import ArgumentParser
import Foundation
import GatewayApp
import GatewayConfig
import GatewayCore
import Hummingbird
import Logging

/// `sluice serve [--config FILE]`: runs the gateway until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            Without --config, runs the embedded default: one catch-all stream (team 'default', app 'default', also the \
            default stream), a durable write-ahead log under ./data/wal and a GZIP NDJSON archive under ./data/archive, \
            listening on 0.0.0.0:8080. SIGTERM or SIGINT stop intake, drain in-flight requests, flush the archive and exit 0.
            """
    )

    @Option(name: .long, help: "The YAML configuration file (see docs/configuration.md).")
    var config: String?

    @Option(name: .long, help: "Override server.host.")
    var host: String?

    @Option(name: .long, help: "Override server.port (0 picks a free port).")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $LOG_LEVEL or info.")
    var logLevel: String?

    @Option(name: .long, help: "Log format: json or text.")
    var logFormat: LogFormat = .json

    @Flag(name: .long, help: .hidden)
    var ceiling = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: logLevel ?? environment["LOG_LEVEL"] ?? "info") ?? .info
        let format = logFormat
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .json: JSONLogHandler(label: label)
                case .text: StreamLogHandler.standardError(label: label)
                }
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sluice")

        var configuration: Configuration
        if let config {
            let report = Configuration.load(contentsOfFile: config, environment: environment)
            for warning in report.warnings {
                logger.warning("configuration warning", metadata: [LoggingKeys.problem: "\(warning)"])
            }
            guard let loaded = report.configuration, report.errors.isEmpty else {
                FileHandle.standardError.write(Data("sluice: \(config) has \(report.errors.count) error(s):\n".utf8))
                for problem in report.errors { FileHandle.standardError.write(Data("  \(problem)\n".utf8)) }
                throw ExitCode(1)
            }
            configuration = loaded
        } else {
            configuration = .embeddedDefault
        }
        if let host { configuration.server.host = host }
        if let port {
            guard (0...65535).contains(port) else {
                FileHandle.standardError.write(Data("sluice: --port \(port) is out of range 0…65535\n".utf8))
                throw ExitCode(1)
            }
            configuration.server.port = port
        }
        FileDescriptorLimit.raise(toServe: configuration.server.maxConnections, logger: logger)

        let announce: @Sendable (Int) async -> Void = { [host = configuration.server.host] port in
            logger.info(
                "listening",
                metadata: [LoggingKeys.url: "http://\(host):\(port)", LoggingKeys.port: "\(port)", LoggingKeys.version: "\(SluiceVersion.current)"]
            )
        }
        if ceiling {
            // Benchmark ceiling (docs/benchmarks.md): the same HTTP server, answering 202 without reading the body.
            try await buildCeilingApplication(configuration: configuration, logger: logger, onServerRunning: announce).runService()
            return
        }
        let gateway: Gateway
        do {
            gateway = try buildApplication(configuration: configuration, logger: logger, onServerRunning: announce)
        } catch {
            FileHandle.standardError.write(Data("sluice: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await gateway.application.runService()
        logger.info("stopped")
    }
}

/// The process's open-file limit: raised to the hard limit at start-up, so `server.max_connections` is what
/// bounds connections rather than `EMFILE`; a warning when it is still too low for that many.
enum FileDescriptorLimit {
    /// Descriptors kept for the log, the archive, backends and subscriptions beside client connections.
    static let reserve = 256

    static func raise(toServe connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let (needed, overflow) = connections.addingReportingOverflow(reserve)
        if overflow || rlim_t(needed) > limit.rlim_cur {
            logger.warning(
                "the open-file limit is below server.max_connections plus a reserve; connections past it fail to be accepted",
                metadata: [LoggingKeys.openFileLimit: "\(limit.rlim_cur)", LoggingKeys.maxConnections: "\(connections)"]
            )
        }
    }
}

/// How log lines are written.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case text
}
