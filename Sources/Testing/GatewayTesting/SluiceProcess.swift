public import Foundation

/// A `sluice serve` process started from the built binary, for end-to-end tests (a ``TestProcess``).
///
/// It runs in its own working directory with a config file written there, logs to a file, and reports the port it
/// bound (found in its `listening` log line). Tests stop it with ``terminate()`` (SIGTERM, graceful) or ``kill()``
/// (SIGKILL, a crash); it is killed when it goes away.
public final class SluiceProcess: Sendable {
    public let directory: URL
    public let logFile: URL
    public let port: Int
    private let process: TestProcess

    /// The built `sluice` executable: next to the test bundle (`.build/<config>/sluice`), or `$SLUICE_BIN`.
    public static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"] { return URL(fileURLWithPath: path) }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = me.deletingLastPathComponent()
        // On Linux the test bundle is `.build/<config>/SluicePackageTests.xctest`.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("sluice").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("sluice")
    }

    /// The command running the built binary with `arguments` in `directory`, `environment` added.
    public static func command(_ arguments: [String], in directory: URL?, environment: [String: String] = [:]) -> TestProcess.Command {
        TestProcess.Command(executable.path, arguments, directory: directory, environment: environment)
    }

    /// Starts `sluice serve --config config.yaml --port 0` in `directory` and waits until it listens.
    /// - Parameters:
    ///   - directory: working directory (created if needed); data goes under it.
    ///   - config: YAML written to `directory/config.yaml`; nil runs the embedded default (no `--config`).
    ///   - environment: variables added to the test's own environment.
    public init(directory: URL, config: String?, logName: String = "sluice.log", environment: [String: String] = [:]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = ["serve", "--port", "0", "--host", "127.0.0.1"]
        if let config {
            try config.write(to: directory.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
            arguments += ["--config", "config.yaml"]
        }
        logFile = directory.appendingPathComponent(logName)
        try? FileManager.default.removeItem(at: logFile) // a fresh log: the port is read from it
        process = try TestProcess(Self.command(arguments, in: directory, environment: environment), log: logFile)
        var found = 0
        let logFile = logFile
        do {
            try process.waitUntil(timeout: .seconds(30), "listening") {
                found = Self.reportedPort(in: (try? String(contentsOf: logFile, encoding: .utf8)) ?? "") ?? 0
                return found > 0
            }
        } catch {
            throw SluiceProcessError(message: "sluice did not report a port: \(error)")
        }
        port = found
    }

    /// The port in the `"sluice.port":"N"` field of the listening log line.
    static func reportedPort(in log: String) -> Int? {
        guard let range = log.range(of: #""sluice.port":"(\d+)""#, options: .regularExpression) else { return nil }
        return Int(log[range].filter(\.isNumber)).flatMap { $0 > 0 ? $0 : nil }
    }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The process id.
    public var pid: Int32 { process.pid }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// SIGTERM, then waits for exit; returns the exit status.
    @discardableResult
    public func terminate() -> Int32 {
        process.stop(grace: .seconds(3600)) // a graceful drain is awaited, never cut short
    }

    /// SIGKILL (a crash), then waits for exit.
    public func kill() {
        process.kill()
    }

    /// The process's resident set size in KiB (from /proc), or nil once it exited.
    public var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Everything the process logged so far.
    public var log: String { process.log }
}

extension SluiceProcess {
    /// Runs the `sluice` binary with `arguments` in `directory` to completion; returns its exit status and output
    /// (stdout and stderr together).
    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let completion = try TestProcess.run(command(arguments, in: directory, environment: environment), mergingErrors: true)
        return (completion.status ?? -1, completion.output)
    }
}

/// A ``SluiceProcess`` could not start.
public struct SluiceProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A fresh temporary directory for one test.
public func makeTemporaryDirectory(_ name: String = "sluice-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
