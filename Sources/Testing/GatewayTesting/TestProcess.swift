public import Foundation
import GatewayCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one way tests start a child process: the built `sluice` binary (``SluiceProcess``), the peers (``PeerProcess``,
/// ``TansuBroker``) and the helper scripts (``PythonScript``, ``runCommand(_:_:environment:)``) all go through it.
///
/// A long-running process writes stdout and stderr to a log file (never a pipe, so a chatty child cannot block on a
/// full pipe and no thread is needed to drain one); ``run(_:input:timeout:mergingErrors:)`` runs one to completion
/// with its outputs captured the same way. A process still running when its `TestProcess` goes away is killed.
///
/// ```swift
/// let peer = try TestProcess(TestProcess.Command("moto_server", ["-p", "\(port)"]), log: directory.appendingPathComponent("moto.log"))
/// try peer.waitUntil(timeout: .seconds(60), "listening on \(port)") { isListening(port: port) }
/// peer.stop()
/// ```
public final class TestProcess: Sendable {
    /// What to run: an executable path, or a name looked up on `PATH` (through `/usr/bin/env`), with its arguments,
    /// working directory and environment.
    public struct Command: Sendable {
        /// A path (containing `/`), or a name looked up on `PATH`.
        public var executable: String
        /// The arguments.
        public var arguments: [String]
        /// The working directory; nil for the test's own.
        public var directory: URL?
        /// Variables added to the test's environment (or, with ``inheritsEnvironment`` false, the whole environment).
        public var environment: [String: String]
        /// Whether the child starts from the test's environment.
        public var inheritsEnvironment: Bool

        /// A command.
        public init(
            _ executable: String, _ arguments: [String] = [], directory: URL? = nil, environment: [String: String] = [:],
            inheritsEnvironment: Bool = true
        ) {
            self.executable = executable
            self.arguments = arguments
            self.directory = directory
            self.environment = environment
            self.inheritsEnvironment = inheritsEnvironment
        }

        /// A `Process` set up for this command (not started).
        func makeProcess() -> Process {
            let process = Process()
            if executable.contains("/") {
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
            } else {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [executable] + arguments
            }
            if let directory { process.currentDirectoryURL = directory }
            if !inheritsEnvironment {
                process.environment = environment
            } else if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            }
            return process
        }

        /// The command line, for messages.
        var text: String { ([executable] + arguments).joined(separator: " ") }
    }

    /// How a process run to completion ended.
    public struct Completion: Sendable {
        /// The exit status; nil when the process outlived the timeout and was killed.
        public var status: Int32?
        /// The bytes it wrote to stdout (and stderr too, when run with `mergingErrors`).
        public var outputData: Data
        /// The bytes it wrote to stderr (empty when merged into ``outputData``).
        public var errorData: Data

        /// ``outputData`` as UTF-8 text (lossy).
        public var output: String { String(decoding: outputData, as: UTF8.self) }
        /// ``errorData`` as UTF-8 text (lossy).
        public var errors: String { String(decoding: errorData, as: UTF8.self) }
    }

    private struct State {
        let process: Process
        var isStopped = false
    }

    /// The command that was started.
    public let command: Command
    /// The file holding the process's stdout and stderr.
    public let logFile: URL
    /// The process id.
    public let pid: Int32
    private let state: Mutex<State>

    /// Starts `command` with stdout and stderr written to `log` (appended to when it exists) and stdin empty.
    /// - Throws: When the file cannot be opened or the executable cannot be started.
    public init(_ command: Command, log: URL) throws {
        self.command = command
        self.logFile = log
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        let process = command.makeProcess()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        state = Mutex(State(process: process))
    }

    deinit {
        kill()
    }

    /// Whether the process is still running.
    public var isRunning: Bool { state.withLock { $0.process.isRunning } }

    /// The exit status once the process has exited (nil while it runs).
    public var terminationStatus: Int32? {
        state.withLock { $0.process.isRunning ? nil : $0.process.terminationStatus }
    }

    /// Everything the process logged so far.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The last `bytes` bytes of the log.
    public func logTail(_ bytes: Int = 2000) -> String {
        guard let data = FileManager.default.contents(atPath: logFile.path) else { return "" }
        return String(decoding: data.suffix(bytes), as: UTF8.self)
    }

    /// Sends `signal` (e.g. `SIGSTOP`, `SIGCONT`) while the process runs.
    public func signal(_ signal: Int32) {
        state.withLock { state in
            if state.process.isRunning { _ = Foundation.kill(state.process.processIdentifier, signal) }
        }
    }

    /// Polls `isReady` every `interval` until it holds; an external process offers nothing to await directly.
    /// - Throws: ``TestProcessError`` when the process exits first (with the log's tail) or `timeout` passes.
    public func waitUntil(
        timeout: Duration, interval: Duration = .milliseconds(20), _ what: String, _ isReady: () throws -> Bool
    ) throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try isReady() { return }
            if let status = terminationStatus {
                throw TestProcessError(message: "\(command.text) exited with \(status) before \(what); see \(logFile.path):\n\(logTail())")
            }
            guard ContinuousClock.now < deadline else {
                throw TestProcessError(message: "\(command.text): not \(what) within \(timeout); see \(logFile.path):\n\(logTail())")
            }
            Self.pause(interval) // polling an external process, bounded by the deadline
        }
    }

    /// Waits for the process to exit by itself, at most `timeout`; returns its status, nil if it still runs.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { Self.pause(.milliseconds(10)) } // polling an external process
        return terminationStatus
    }

    /// Stops the process: resumes it if paused, SIGTERM, SIGKILL after `grace`, and waits for it. Idempotent.
    /// - Returns: The exit status (the terminating signal's status after SIGTERM/SIGKILL).
    @discardableResult
    public func stop(grace: Duration = .seconds(5)) -> Int32 {
        state.withLock { state in
            let process = state.process
            if !state.isStopped, process.isRunning {
                _ = Foundation.kill(process.processIdentifier, SIGCONT)
                process.terminate()
                let deadline = ContinuousClock.now + grace
                while process.isRunning, ContinuousClock.now < deadline { Self.pause(.milliseconds(5)) } // polling an external process
                if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
            }
            state.isStopped = true
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// SIGKILL (a crash), then waits for the process to exit. Idempotent.
    public func kill() {
        state.withLock { state in
            let process = state.process
            if process.isRunning {
                _ = Foundation.kill(process.processIdentifier, SIGCONT)
                _ = Foundation.kill(process.processIdentifier, SIGKILL)
            }
            state.isStopped = true
            process.waitUntilExit()
        }
    }

    /// Runs `command` to completion, feeding it `input` on stdin, and returns its status and outputs. With `timeout`,
    /// a process still running then is killed (its status is nil).
    ///
    /// Outputs go through temporary files, so neither stream can fill up and block the child, and no thread is needed.
    /// - Throws: When the executable cannot be started.
    public static func run(
        _ command: Command, input: Data = Data(), timeout: Duration? = nil, mergingErrors: Bool = false
    ) throws -> Completion {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("test-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputFile = scratch.appendingPathComponent("stdin")
        let outputFile = scratch.appendingPathComponent("stdout")
        let errorFile = scratch.appendingPathComponent("stderr")
        try input.write(to: inputFile)
        for file in [outputFile, errorFile] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let stdin = try FileHandle(forReadingFrom: inputFile)
        let stdout = try FileHandle(forWritingTo: outputFile)
        let stderr = try FileHandle(forWritingTo: errorFile)
        defer {
            for handle in [stdin, stdout, stderr] { try? handle.close() }
        }
        let process = command.makeProcess()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = mergingErrors ? stdout : stderr
        try process.run()
        var wasKilled = false
        if let timeout {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning, ContinuousClock.now < deadline { pause(.milliseconds(20)) } // polling an external process
            if process.isRunning {
                _ = Foundation.kill(process.processIdentifier, SIGKILL)
                wasKilled = true
            }
        }
        process.waitUntilExit()
        let status = wasKilled ? nil : process.terminationStatus
        let output = FileManager.default.contents(atPath: outputFile.path) ?? Data()
        let errors = FileManager.default.contents(atPath: errorFile.path) ?? Data()
        return Completion(status: status, outputData: output, errorData: errors)
    }

    /// Blocks the calling thread for `duration` (only between polls of an external process).
    static func pause(_ duration: Duration) {
        let nanoseconds = duration.nanoseconds
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }
}

/// A test process could not be started or did not become ready.
public struct TestProcessError: Error, CustomStringConvertible {
    /// What went wrong, with the end of the process's log.
    public var message: String
    /// Creates an error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}
