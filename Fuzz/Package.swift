// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the parsers that take outside input (see README.md). Build through `scripts/fuzz`, which
// passes `-sanitize=fuzzer,address -parse-as-library -enable-testing`; a plain `swift build` of this package makes
// binaries without instrumentation (they still run one input per file given on the command line).

/// The same upcoming features as the main package.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// One fuzz target: an executable named `name` whose sources are `Sources/<name>`, depending on the driver shim and
/// on `modules` of the main package.
func fuzzTarget(_ name: String, _ modules: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzDriver"] + modules.map { .product(name: $0, package: "Sluice") },
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "SluiceFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Sluice", path: "..")],
    targets: [
        // Starts libFuzzer from the executable's `main` (SwiftPM links executables with `main` aliased to
        // `<module>_main`, so libFuzzer's own `main` cannot be the entry point).
        .target(name: "FuzzDriver"),
        fuzzTarget("envelope", ["EnvelopeScanner"]),
        fuzzTarget("batch", ["EnvelopeScanner"]),
        fuzzTarget("config", ["GatewayConfig"]),
        fuzzTarget("headers", ["HTTPHeaderParsing"]),
        fuzzTarget("wal-record", ["WriteAheadLog"]),
        fuzzTarget("wal-recovery", ["WriteAheadLog"]),
        fuzzTarget("kpl", ["KinesisAggregation"]),
    ]
)
