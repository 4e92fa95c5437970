public import Foundation

/// A `sluice serve` process started from the built binary, for end-to-end tests.
///
/// It runs in its own working directory with a config file written there, logs to a file, and reports the port it
/// bound (found in its `listening` log line). Tests stop it with ``terminate()`` (SIGTERM, graceful) or ``kill()``
/// (SIGKILL, a crash).
public final class SluiceProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test that owns this object.
    public let directory: URL
    public let logFile: URL
    public private(set) var port = 0
    private let process = Process()

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
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = Self.executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.currentDirectoryURL = directory
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        port = try waitForPort()
    }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    private func waitForPort() throws -> Int {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if let range = text.range(of: #""sluice.port":"(\d+)""#, options: .regularExpression) {
                let digits = text[range].filter(\.isNumber)
                if let port = Int(digits), port > 0 { return port }
            }
            if !process.isRunning {
                throw SluiceProcessError(message: "sluice exited with \(process.terminationStatus) before listening:\n\(text)")
            }
            usleep(20_000)  // polling the log file for the listening line; bounded by the deadline
        }
        throw SluiceProcessError(message: "sluice did not report a port within 30 s")
    }

    /// SIGTERM, then waits for exit; returns the exit status.
    @discardableResult
    public func terminate() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL (a crash), then waits for exit.
    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
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
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}

extension SluiceProcess {
    /// Runs the `sluice` binary with `arguments` in `directory` to completion; returns its exit status and output
    /// (stdout and stderr together).
    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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
