import ArgumentParser

/// The `sluice` command line: `serve`, `check-config`, `bench`, `verify`, `replay`, `dlq`.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "An HTTP event-capture gateway: one endpoint, events routed by config to Kinesis, Kafka or a local archive.",
        version: SluiceVersion.current,
        subcommands: [Serve.self, CheckConfig.self, Validate.self, Bench.self, Verify.self, Replay.self, DeadLetters.self]
    )
}

/// The version printed by `--version` and logged at start-up.
enum SluiceVersion {
    static let current = "0.1.0"
}
