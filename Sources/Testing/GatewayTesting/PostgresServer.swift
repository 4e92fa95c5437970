import Foundation

/// A PostgreSQL server from Debian's `postgresql` package, for tests and benchmarks: a new cluster in a temporary
/// directory (`initdb`, password authentication), run as the `postgres` user when the tests run as root (PostgreSQL
/// refuses root), listening on 127.0.0.1 on a free port, with one database. ``psql(_:)`` is the independent reader.
/// Stop with ``stop()`` (also on deinit); the directory is removed.
public final class PostgresServer: Sendable {
    /// The server's port on 127.0.0.1.
    public let port: Int
    /// The superuser's name and password.
    public let user = "postgres"
    public static let password = "sluice-test-password"
    /// The database the server was started with.
    public let database: String
    /// `postgres://postgres@127.0.0.1:PORT/DATABASE` (no password: the gateway takes it from PGPASSWORD).
    public var url: String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }
    /// With `requireTLS`: the PEM file of the certificate authority that signed the server's certificate (for
    /// 127.0.0.1 and localhost).
    public let caFile: String?

    private let directory: URL
    private let binaries: URL
    private let process: TestProcess

    private init(port: Int, database: String, caFile: String?, directory: URL, binaries: URL, process: TestProcess) {
        self.port = port
        self.caFile = caFile
        self.database = database
        self.directory = directory
        self.binaries = binaries
        self.process = process
    }

    deinit { stop() }

    /// Initialises a cluster, starts the server and creates `database`; returns once it answers queries.
    /// - Parameter port: The port to listen on (a free one when nil).
    /// - Parameter settings: Extra `-c name=value` server settings (e.g. `fsync=off` for tests that do not measure).
    /// - Parameter requireTLS: Serve TLS with a certificate from a certificate authority made here (``caFile``), and
    ///   refuse TCP connections without it (`hostnossl … reject`).
    /// - Throws: ``TestProcessError`` naming `scripts/install-deps` when PostgreSQL is not installed, or with the
    ///   server's log when it does not start.
    public static func start(
        port fixedPort: Int? = nil, database: String = "sluice", settings: [String: String] = [:], requireTLS: Bool = false,
        timeout: Duration = .seconds(60)
    ) throws -> PostgresServer {
        let binaries = try findBinaries()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("password")
        try Data((password + "\n").utf8).write(to: passwordFile)
        if getuid() == 0 { try check(TestProcess.run(TestProcess.Command("chown", ["-R", "postgres:postgres", directory.path])), "chown") }
        let data = directory.appendingPathComponent("data")
        try check(
            TestProcess.run(
                asPostgres(
                    binaries.appendingPathComponent("initdb").path,
                    ["-D", data.path, "-U", "postgres", "--auth=scram-sha-256", "--pwfile=\(passwordFile.path)", "--no-sync", "-E", "UTF8"]),
                timeout: timeout, mergingErrors: true), "initdb")
        let port = try fixedPort ?? freeLoopbackPort()
        var arguments = ["-D", data.path, "-p", String(port), "-k", directory.path, "-c", "listen_addresses=127.0.0.1"]
        var settings = settings
        var caFile: String?
        if requireTLS {
            caFile = try makeCertificates(in: directory)
            settings["ssl"] = "on"
            settings["ssl_cert_file"] = directory.appendingPathComponent("server.crt").path
            settings["ssl_key_file"] = directory.appendingPathComponent("server.key").path
            let hba = "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n"
            try Data(hba.utf8).write(to: data.appendingPathComponent("pg_hba.conf"))
            if getuid() == 0 { try check(TestProcess.run(TestProcess.Command("chown", ["-R", "postgres:postgres", directory.path])), "chown") }
        }
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) { arguments += ["-c", "\(name)=\(value)"] }
        let process = try TestProcess(
            asPostgres(binaries.appendingPathComponent("postgres").path, arguments), log: directory.appendingPathComponent("server.log"))
        let server = PostgresServer(
            port: port, database: database, caFile: caFile, directory: directory, binaries: binaries, process: process)
        try process.waitUntil(timeout: timeout, "accepting connections on port \(port)") {
            (try? server.psql("SELECT 1", database: "postgres")) == "1"
        }
        _ = try server.psql("CREATE DATABASE \(database)", database: "postgres")
        return server
    }

    /// A certificate authority (`ca.crt`) and a server certificate it signed for 127.0.0.1 and localhost
    /// (`server.crt`, `server.key` with mode 0600, as PostgreSQL wants), made with openssl in `directory`.
    static func makeCertificates(in directory: URL) throws -> String {
        func openssl(_ arguments: [String]) throws {
            try check(
                TestProcess.run(TestProcess.Command("openssl", arguments), timeout: .seconds(60), mergingErrors: true), "openssl")
        }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sluice test CA", "-keyout", path("ca.key"), "-out",
            path("ca.crt"),
        ])
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", path("server.key"), "-out", path("server.csr"),
        ])
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: directory.appendingPathComponent("san.ext"))
        try openssl([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", path("san.ext"), "-out", path("server.crt"),
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("server.key"))
        return path("ca.crt")
    }

    /// Runs `sql` with psql and returns its unaligned, tuples-only output (`|` between columns, one row a line).
    /// - Throws: ``TestProcessError`` with psql's output when it fails.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        let completion = try TestProcess.run(
            TestProcess.Command(
                binaries.appendingPathComponent("psql").path,
                [
                    "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database ?? self.database, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c",
                    sql,
                ],
                environment: ["PGPASSWORD": Self.password, "PGCONNECT_TIMEOUT": "5"]),
            timeout: .seconds(120))
        guard completion.status == 0 else {
            throw TestProcessError(message: "psql \(sql.prefix(200)) failed (\(completion.status ?? -1)): \(completion.errors)\(completion.output)")
        }
        return completion.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The last part of the server's log.
    public func logTail(_ bytes: Int = 2000) -> String { process.logTail(bytes) }

    /// Stops the server (SIGTERM: a fast shutdown) and removes its directory. Idempotent.
    public func stop() {
        process.stop(grace: .seconds(10))
        try? FileManager.default.removeItem(at: directory)
    }

    /// Debian's `/usr/lib/postgresql/<version>/bin` (the newest), or `POSTGRES_BIN`.
    static func findBinaries() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["POSTGRES_BIN"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last else {
            throw TestProcessError(message: "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin): run scripts/install-deps")
        }
        return root.appendingPathComponent("\(version)/bin")
    }

    /// `executable arguments`, as the `postgres` user when running as root.
    static func asPostgres(_ executable: String, _ arguments: [String]) -> TestProcess.Command {
        getuid() == 0
            ? TestProcess.Command("runuser", ["-u", "postgres", "--", executable] + arguments)
            : TestProcess.Command(executable, arguments)
    }

    private static func check(_ completion: TestProcess.Completion, _ what: String) throws {
        guard completion.status == 0 else {
            throw TestProcessError(message: "\(what) failed (\(completion.status ?? -1)): \(completion.output)\(completion.errors)")
        }
    }
}
