import ArgumentParser
import Foundation
import GatewayApp
import GatewayConfig

/// `sluice check-config FILE`: validates a configuration and names every problem with its path in the file.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file: every problem with its path in the file; exit 0 when valid, 1 otherwise."
    )

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let report = Configuration.load(contentsOfFile: file, environment: ProcessInfo.processInfo.environment)
        var errors = report.errors.map(\.description)
        if let configuration = report.configuration {
            errors += startupProblems(configuration: configuration)
        }
        for warning in report.warnings { print("warning: \(warning)") }
        for error in errors { print("error: \(error)") }
        guard errors.isEmpty, let configuration = report.configuration else {
            print("\(file): \(errors.count) error(s)")
            throw ExitCode(1)
        }
        let streams = configuration.streams.count
        print("\(file): OK (\(streams) stream\(streams == 1 ? "" : "s"), durability \(configuration.durability.mode.rawValue))")
    }
}
