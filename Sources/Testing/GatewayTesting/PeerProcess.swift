public import Foundation
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion; returns its exit status, stdout and stderr.
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // stderr is read on another thread so neither pipe fills up and blocks the child.
    let errors = Mutex(Data())
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        errors.withLock { $0 = data }
        group.leave()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    group.wait()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors.withLock { $0 }, as: UTF8.self))
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller binds it next).
public func freeLoopbackPort() throws(PeerProcessError) -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PeerProcessError(message: "socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw PeerProcessError(message: "bind() failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A peer server process (moto, a broker) started for a test and stopped by process id.
public final class PeerProcess: @unchecked Sendable {
    // @unchecked: only the owning test touches `process`.
    public let port: Int
    public let name: String
    private let executable: String
    private let arguments: [String]
    private let logFile: URL
    private var process: Process?

    /// Starts `executable arguments` and waits until it listens on `port`.
    public init(name: String, executable: String, arguments: [String], port: Int, logDirectory: URL) throws {
        self.name = name
        self.port = port
        self.executable = executable
        self.arguments = arguments
        logFile = logDirectory.appendingPathComponent("\(name).log")
        try start()
    }

    /// Starts the process (again) on the same port and waits until it listens.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if !FileManager.default.fileExists(atPath: logFile.path) { _ = FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(60)
        while !isListening(port: port) {
            guard process.isRunning else {
                throw PeerProcessError(message: "\(name) exited with \(process.terminationStatus) before listening; see \(logFile.path):\n\(log)")
            }
            guard Date() < deadline else { throw PeerProcessError(message: "\(name) did not listen on \(port) within 60 s") }
            usleep(20_000)  // polling an external process's port; bounded by the deadline
        }
    }

    /// Freezes the process (SIGSTOP): connections hang as with an unresponsive backend.
    public func pause() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGSTOP) }
    }

    /// Resumes a paused process (SIGCONT).
    public func resume() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGCONT) }
    }

    /// Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// What the process logged.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// A peer process could not start.
public struct PeerProcessError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// moto's server (PyPI `moto[server]`): Kinesis, S3, STS, IAM on loopback.
public final class MotoServer: Sendable {
    public let peer: PeerProcess

    /// moto's server with Kinesis's `Shard.put_record` under a lock (Benchmarks/moto-server/serve.py): unpatched,
    /// two concurrent `PutRecords` on one shard can take the same sequence number and one acknowledged record
    /// overwrites the other, which an exactly-once check would blame on the gateway.
    static let lockedServer = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Benchmarks/moto-server/serve.py").path

    /// Starts moto's server on a free port (the locked one when the source tree is at hand, else `moto_server`).
    public init(logDirectory: URL) throws {
        let port = try freeLoopbackPort()
        let arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        let (executable, all) =
            FileManager.default.fileExists(atPath: Self.lockedServer)
            ? ("python3", [Self.lockedServer] + arguments) : ("moto_server", arguments)
        peer = try PeerProcess(name: "moto", executable: executable, arguments: all, port: port, logDirectory: logDirectory)
    }

    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { "http://127.0.0.1:\(peer.port)" }
}
