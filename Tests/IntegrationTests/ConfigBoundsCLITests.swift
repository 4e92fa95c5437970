import Foundation
import GatewayTesting
import Testing

/// The built binary on configuration values whose arithmetic would overflow: `check-config` and `serve` both name the
/// key and its range and exit 1; neither traps.
@Suite("Command line: out-of-range configuration values", .timeLimit(.minutes(2)))
struct ConfigBoundsCLITests {
    static let problem = "durability.max_disk_mb: 9223372036854775807 is out of range 1…16777216 (line 2, column 16)"

    /// Runs the binary in `directory` until it exits or `timeout` passes (then SIGKILLs it: a `serve` that accepted the
    /// file would run forever); returns the exit status (nil when it had to be killed) and stdout and stderr together.
    func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) throws -> (status: Int32?, output: String) {
        let completion = try TestProcess.run(
            SluiceProcess.command(arguments, in: directory, environment: environment), timeout: timeout, mergingErrors: true)
        return (completion.status, completion.output)
    }

    /// A directory holding `overflow.yaml`.
    func directoryWithOverflow() throws -> URL {
        let directory = try makeTemporaryDirectory("sluice-config-bounds")
        try "durability:\n  max_disk_mb: 9223372036854775807\n"
            .write(to: directory.appendingPathComponent("overflow.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test("check-config exits 1 naming the key and its range")
    func checkConfig() throws {
        let directory = try directoryWithOverflow()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try run(["check-config", "overflow.yaml"], in: directory)
        #expect(status == 1, "\(output)")
        #expect(output.contains("error: " + Self.problem), "\(output)")
        #expect(output.contains("overflow.yaml: 1 error(s)"), "\(output)")
    }

    @Test("serve --config exits 1 with the same problem, does not trap, and writes no log")
    func serve() throws {
        let directory = try directoryWithOverflow()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try run(["serve", "--config", "overflow.yaml", "--host", "127.0.0.1", "--port", "0"], in: directory)
        // A trap ends the process by a signal (SIGILL/SIGTRAP), seen here as a status other than 1; a serve that accepted
        // the file is killed at the deadline (status nil).
        #expect(status == 1, "\(output)")
        #expect(output.contains(Self.problem), "\(output)")
        #expect(!output.contains("Fatal error"), "\(output)")
        #expect(!output.contains("listening"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/wal").path))
    }

    @Test("an out-of-range value from the environment is refused the same way by both commands")
    func fromTheEnvironment() throws {
        let directory = try makeTemporaryDirectory("sluice-config-bounds")
        defer { try? FileManager.default.removeItem(at: directory) }
        try "server:\n  max_body_kb: ${BODY_KB}\n"
            .write(to: directory.appendingPathComponent("env.yaml"), atomically: true, encoding: .utf8)
        let environment = ["BODY_KB": "99999999999999999999"]
        let expected = "server.max_body_kb: 99999999999999999999 is out of range 1…1048576 (from '${BODY_KB}') (line 2, column 16)"
        let check = try run(["check-config", "env.yaml"], in: directory, environment: environment)
        #expect(check.status == 1, "\(check.output)")
        #expect(check.output.contains(expected), "\(check.output)")
        let serve = try run(["serve", "--config", "env.yaml", "--host", "127.0.0.1", "--port", "0"], in: directory, environment: environment)
        #expect(serve.status == 1, "\(serve.output)")
        #expect(serve.output.contains(expected), "\(serve.output)")
    }
}
