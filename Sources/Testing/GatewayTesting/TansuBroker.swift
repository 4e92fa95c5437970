public import Foundation

/// Why a test peer could not be used.
public struct KafkaPeerError: Error, CustomStringConvertible {
    /// What went wrong, naming the fix (usually `scripts/kafka-peers`).
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Where the Kafka test peers live: `.tools/kafka/tansu` and `.tools/kafka/lib/librdkafka.so.1`,
/// both installed by `scripts/kafka-peers`, under the package root.
public enum KafkaPeers {
    /// The package root: `KAFKA_PACKAGE_ROOT`, else found by walking up from `file` to the
    /// directory holding `Package.swift`.
    public static func packageRoot(file: String = #filePath) -> URL {
        if let root = ProcessInfo.processInfo.environment["KAFKA_PACKAGE_ROOT"] {
            return URL(fileURLWithPath: root)
        }
        var url = URL(fileURLWithPath: file).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// The Tansu binary (`TANSU` overrides).
    public static var tansu: URL {
        if let path = ProcessInfo.processInfo.environment["TANSU"] { return URL(fileURLWithPath: path) }
        return packageRoot().appendingPathComponent(".tools/kafka/tansu")
    }

    /// The directory that must come first on `LD_LIBRARY_PATH` (holds `librdkafka.so.1` → 2.16).
    public static var libraryDirectory: URL { packageRoot().appendingPathComponent(".tools/kafka/lib") }

    /// Throws a message naming `scripts/kafka-peers` when the broker binary is missing.
    public static func requireTansu() throws -> URL {
        let url = tansu
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw KafkaPeerError(
                "Tansu broker not found at \(url.path): run scripts/kafka-peers (it installs the Kafka test peers), "
                    + "then run the tests with LD_LIBRARY_PATH=.tools/kafka/lib")
        }
        return url
    }

    /// A free TCP port on 127.0.0.1 (bound to port 0, read back, released).
    public static func freePort() throws -> Int {
        do {
            return try freeLoopbackPort()
        } catch {
            throw KafkaPeerError(error.message)
        }
    }

    /// Whether a TCP connection to 127.0.0.1:`port` succeeds now.
    public static func canConnect(port: Int) -> Bool { isListening(port: port) }
}

/// A Tansu broker (Apache-Kafka-compatible, in-memory storage) on a free loopback port, for
/// tests and benchmarks (a ``TestProcess``). Start with ``start()``, stop with ``stop()`` (also on deinit).
public final class TansuBroker: Sendable {
    /// The broker's port on 127.0.0.1.
    public let port: Int
    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    public var bootstrapServers: String { "127.0.0.1:\(port)" }
    /// The process id of the broker.
    public var pid: Int32 { process.pid }

    private let binary: URL
    private let process: TestProcess

    private init(binary: URL, port: Int, process: TestProcess) {
        self.binary = binary
        self.port = port
        self.process = process
    }

    deinit { stop() }

    /// Starts a broker on a free port (or on `port`, e.g. to restart a stopped broker at the same
    /// address) and returns once it accepts TCP connections (within `timeout`). Throws, naming
    /// `scripts/kafka-peers`, when the binary is missing.
    public static func start(port fixedPort: Int? = nil, timeout: Duration = .seconds(20)) throws -> TansuBroker {
        let binary = try KafkaPeers.requireTansu()
        var lastError: (any Error)?
        for _ in 0..<(fixedPort == nil ? 3 : 1) { // a port taken between probing and binding: retry with another one
            let port = try fixedPort ?? KafkaPeers.freePort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("tansu-\(port)-\(UUID().uuidString).log")
            let command = TestProcess.Command(
                binary.path,
                [
                    "broker",
                    "--listener-url", "tcp://127.0.0.1:\(port)",
                    "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                    "--storage-engine", "memory://tansu/",
                ])
            let broker = TansuBroker(binary: binary, port: port, process: try TestProcess(command, log: log))
            do {
                try broker.process.waitUntil(timeout: timeout, interval: .milliseconds(10), "accepting connections on port \(port)") {
                    KafkaPeers.canConnect(port: port)
                }
                return broker
            } catch {
                lastError = KafkaPeerError("tansu: \(error)")
                broker.stop()
            }
        }
        throw lastError ?? KafkaPeerError("tansu did not start")
    }

    /// Creates `name` with `partitions` partitions (`tansu topic create`).
    public func createTopic(_ name: String, partitions: Int = 1) throws {
        let completion = try TestProcess.run(
            TestProcess.Command(
                binary.path, ["topic", "create", name, "--partitions", String(partitions), "--broker", "tcp://\(bootstrapServers)"]),
            mergingErrors: true)
        guard completion.status == 0 else {
            throw KafkaPeerError("tansu topic create \(name) failed (\(completion.status ?? -1)): \(completion.output)")
        }
    }

    /// The last part of the broker's log.
    public func logTail(_ bytes: Int = 2000) -> String {
        process.logTail(bytes)
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and removes its log. Idempotent.
    public func stop() {
        process.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(at: process.logFile)
    }
}

/// Runs a Python script (the reference implementations in the test directories) as a ``TestProcess``.
public enum PythonScript {
    /// The interpreter: `KAFKA_PYTHON`, else `python3` on PATH.
    public static var interpreter: String { ProcessInfo.processInfo.environment["KAFKA_PYTHON"] ?? "python3" }

    /// Runs `script` with `arguments`, feeding `input` on stdin; returns stdout. Throws with
    /// stderr when the exit status is not 0 (`hint` is added to the message).
    public static func run(_ script: URL, arguments: [String] = [], input: Data = Data(), hint: String = "") throws -> Data {
        let completion = try TestProcess.run(TestProcess.Command(interpreter, [script.path] + arguments), input: input)
        guard completion.status == 0 else {
            throw KafkaPeerError(
                "\(script.lastPathComponent) exited with \(completion.status ?? -1). \(hint) stderr: "
                    + String(decoding: completion.errorData.suffix(4000), as: UTF8.self))
        }
        return completion.outputData
    }
}
