public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion (a ``TestProcess``); returns its exit status, stdout and stderr.
/// - Parameters:
///   - executable: A path, or a name looked up on `PATH`.
///   - environment: When given, the child's whole environment.
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (
    status: Int32, output: String, errors: String
) {
    let command = TestProcess.Command(
        executable, arguments, environment: environment ?? [:], inheritsEnvironment: environment == nil)
    let completion = try TestProcess.run(command)
    return (completion.status ?? -1, completion.output, completion.errors)
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

/// A peer server process (moto, a broker) started for a test (a ``TestProcess``), which can be paused, stopped and
/// started again on the same port; it is killed when it goes away.
public final class PeerProcess: Sendable {
    public let port: Int
    public let name: String
    private let command: TestProcess.Command
    private let logFile: URL
    private let process: Mutex<TestProcess?>

    /// Starts `executable arguments` and waits until it listens on `port`.
    public init(name: String, executable: String, arguments: [String], port: Int, logDirectory: URL) throws {
        self.name = name
        self.port = port
        command = TestProcess.Command(executable, arguments)
        logFile = logDirectory.appendingPathComponent("\(name).log")
        process = Mutex(nil)
        try start()
    }

    /// Starts the process (again) on the same port and waits until it listens.
    public func start() throws {
        let started = try TestProcess(command, log: logFile)
        process.withLock { $0 = started }
        let port = port
        do {
            try started.waitUntil(timeout: .seconds(60), "listening on \(port)") { isListening(port: port) }
        } catch {
            throw PeerProcessError(message: "\(name): \(error)")
        }
    }

    /// Freezes the process (SIGSTOP): connections hang as with an unresponsive backend.
    public func pause() {
        process.withLock { $0 }?.signal(SIGSTOP)
    }

    /// Resumes a paused process (SIGCONT).
    public func resume() {
        process.withLock { $0 }?.signal(SIGCONT)
    }

    /// Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
    public func stop() {
        process.withLock { $0 }?.stop(grace: .seconds(5))
    }

    /// What the process logged.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
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
    public static let lockedServer = KafkaPeers.packageRoot().appendingPathComponent("Benchmarks/moto-server/serve.py").path

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
