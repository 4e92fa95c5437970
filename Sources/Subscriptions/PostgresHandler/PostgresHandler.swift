import GatewayCore
public import Logging
import NIOCore
import NIOSSL
import PostgresNIO
public import Subscriptions
import Synchronization

/// Writes each batch to a PostgreSQL table in one statement (so one transaction): in insert mode a `COPY`, and when
/// that meets a stored event or a bad value, an `INSERT … FROM unnest(…) ON CONFLICT DO NOTHING` of the column arrays
/// (idempotent by event id); in upsert mode that insert with `DO UPDATE … WHERE` newer, the newest state per key.
///
/// When the batch fails on a record's data (a value that does not cast to its column's type, a constraint), the batch
/// is written again row by row inside one transaction, each row under a savepoint: the rows that fail are reported as
/// rejected (they become dead letters at once) and the rest commit.
public final class PostgresHandler: SubscriptionHandler {
    let settings: PostgresSettings
    let statements: PostgresStatements
    let client: PostgresClient
    let logger: Logger
    let clock: any Clock<Duration>
    /// How long a batch may take before it counts as unreachable: the pool keeps trying to connect to a server that
    /// is down, and a batch must not wait for it forever.
    let deadline: Duration
    /// Whether `create_table` has run on this server since start-up.
    private let tableCreated = Mutex(false)

    /// A handler and its connection pool; ``run()`` must run while it delivers.
    /// - Throws: ``PostgresSettingsError`` when the TLS roots cannot be read.
    public init(settings: PostgresSettings, logger: Logger, clock: any Clock<Duration> = ContinuousClock()) throws(PostgresSettingsError) {
        self.settings = settings
        self.statements = PostgresStatements(settings: settings)
        self.logger = logger
        self.clock = clock
        self.deadline = Self.connectTimeout + settings.connection.statementTimeout
        let connection = settings.connection
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let caFile = connection.caFile {
            do {
                tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw PostgresSettingsError(message: "ca_file '\(caFile)': cannot read its certificates: \(error)")
            }
        }
        let tls: PostgresClient.Configuration.TLS =
            switch connection.tls {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require: .require(tlsConfiguration)
            }
        var configuration = PostgresClient.Configuration(
            host: connection.host, port: connection.port, username: connection.username, password: connection.password,
            database: connection.database, tls: tls)
        configuration.options.maximumConnections = connection.maxConnections
        configuration.options.connectTimeout = Self.connectTimeout
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", String(Self.milliseconds(connection.statementTimeout))),
            ("application_name", "sluice"),
        ]
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let probeTLS: PostgresConnection.Configuration.TLS
        do {
            switch connection.tls {
            case .disable: probeTLS = .disable
            case .prefer: probeTLS = .prefer(try NIOSSLContext(configuration: tlsConfiguration))
            case .require: probeTLS = .require(try NIOSSLContext(configuration: tlsConfiguration))
            }
        } catch {
            throw PostgresSettingsError(message: "tls: cannot set up TLS: \(error)")
        }
        var probe = PostgresConnection.Configuration(
            host: connection.host, port: connection.port, username: connection.username, password: connection.password,
            database: connection.database, tls: probeTLS)
        probe.options.connectTimeout = TimeAmount.seconds(5)
        self.probe = probe
    }

    /// One connection of the pool's configuration, made only to find out why the pool has none (the pool retries
    /// failed connection attempts quietly, so a query just waits).
    private let probe: PostgresConnection.Configuration

    /// Why no connection can be made now: the error of one attempt (a refused TLS certificate, a wrong password, a
    /// closed port), nil when the attempt succeeds.
    func diagnose() async -> String? {
        do {
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch let error as PSQLError {
            if error.code == .server, let info = error.serverInfo {
                return "PostgreSQL \(info[.sqlState] ?? "?????"): \(info[.message] ?? "error")"
            }
            return "\(error.code)\(error.underlying.map { ": \($0)" } ?? "")"
        } catch {
            return "\(error)"
        }
    }

    /// Runs the connection pool until the task is cancelled or the service group shuts down gracefully.
    public func run() async {
        await client.run()
    }

    /// `duration` in whole milliseconds, at least 1 (PostgreSQL reads `statement_timeout = 0` as no timeout).
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? Int64.max : max(1, millis &+ attoseconds / 1_000_000_000_000_000)
    }

    /// How long one connection attempt may take.
    static let connectTimeout: Duration = .seconds(10)

    public func deliver(_ batch: HandlerBatch) async -> HandlerResult {
        let connection = settings.connection
        let timeout = HandlerFailure(
            kind: .unreachable,
            message: "no answer from PostgreSQL at \(connection.host):\(connection.port) within \(deadline) (is the server up and reachable?)")
        return await withTaskGroup(of: HandlerResult?.self) { group in
            group.addTask { await self.write(batch.records) }
            group.addTask { [clock, deadline] in
                do {
                    try await clock.sleep(for: deadline)
                } catch {
                    return nil
                }
                guard let reason = await self.diagnose() else { return .failure(timeout) }
                return .failure(
                    HandlerFailure(
                        kind: .unreachable,
                        message: "no connection to PostgreSQL at \(connection.host):\(connection.port) within \(deadline): \(reason)"))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let result = next { return result }
            }
            return .failure(timeout)
        }
    }

    /// Writes one batch (``deliver(_:)`` bounds how long it may take).
    private func write(_ records: [SubscriptionRecord]) async -> HandlerResult {
        guard !records.isEmpty else { return .success }
        // Column-major: one array per column, as the statement binds them.
        var values = [[PostgresText?]](repeating: [], count: statements.columns.count)
        for column in values.indices { values[column].reserveCapacity(records.count) }
        for index in records.indices { // by index: iterating would copy each record (a retain per field)
            let payload = PayloadLocation(records[index].envelope)
            for column in statements.columns.indices {
                values[column].append(statements.columns[column].value(of: records[index], payload: payload))
            }
        }
        do {
            try await createTableIfAsked()
            if let table = statements.copyTable {
                do {
                    let text = PostgresStatements.copyText(values)
                    try await client.withConnection { connection in
                        try await connection.copyFrom(table: table, columns: statements.columns.map(\.name), logger: logger) { writer in
                            try await writer.write(text)
                        }
                    }
                    return .success
                } catch let error as PSQLError where Self.isRecordError(error) {
                    // A stored event (a redelivery) or a bad value: the statement that skips stored events, then, if
                    // a value is bad, row by row.
                }
            }
            let query = settings.mode == .upsert ? batchQuery(rows: newestPerKey(records, values), of: values) : batchQuery(values)
            try await drain(client.query(query, logger: logger))
            return .success
        } catch let error as PSQLError where Self.isRecordError(error) {
            return await deliverRowByRow(records, values)
        } catch {
            return .failure(Self.failure(error))
        }
    }

    /// Writes each row under its own savepoint inside one transaction (upserts oldest first, so each key ends with
    /// its newest valid state): rows that fail on their data are rejected, the rest commit.
    private func deliverRowByRow(_ records: [SubscriptionRecord], _ values: [[PostgresText?]]) async -> HandlerResult {
        var order = Array(records.indices)
        if settings.mode == .upsert {
            order.sort { (records[$0].receivedAtMillis, records[$0].sequence) < (records[$1].receivedAtMillis, records[$1].sequence) }
        }
        do {
            let rejections = try await client.withConnection { connection in
                var rejections: [RecordRejection] = []
                try await drain(connection.query("BEGIN", logger: logger))
                do {
                    for index in order {
                        try await drain(connection.query("SAVEPOINT sluice_row", logger: logger))
                        do {
                            try await drain(connection.query(batchQuery(rows: [index], of: values), logger: logger))
                            try await drain(connection.query("RELEASE SAVEPOINT sluice_row", logger: logger))
                        } catch let error as PSQLError where Self.isRecordError(error) {
                            try await drain(connection.query("ROLLBACK TO SAVEPOINT sluice_row", logger: logger))
                            rejections.append(RecordRejection(index: index, failure: Self.failure(error)))
                        }
                    }
                    try await drain(connection.query("COMMIT", logger: logger))
                } catch {
                    try? await drain(connection.query("ROLLBACK", logger: logger))
                    throw error
                }
                return rejections
            }
            return rejections.isEmpty ? .success : .rejected(rejections.sorted { $0.index < $1.index })
        } catch {
            return .failure(Self.failure(error))
        }
    }

    /// Runs `CREATE TABLE IF NOT EXISTS` once, when `create_table` asks for it.
    private func createTableIfAsked() async throws {
        guard settings.createTable, !tableCreated.withLock({ $0 }) else { return }
        try await drain(client.query(PostgresQuery(unsafeSQL: statements.createTable), logger: logger))
        tableCreated.withLock { $0 = true }
    }

    /// Reads a statement's answer to its end (its errors surface here, not only when it starts).
    private func drain(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows {}
    }

    /// The batch statement for every row: one `text[]` parameter per column.
    private func batchQuery(_ values: [[PostgresText?]]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: values.count)
        for column in values { bindings.append(NullableTextArray(elements: column)) }
        return PostgresQuery(unsafeSQL: statements.insert, binds: bindings)
    }

    /// The batch statement for the rows at `indices`.
    private func batchQuery(rows indices: [Int], of values: [[PostgresText?]]) -> PostgresQuery {
        batchQuery(values.map { column in indices.map { column[$0] } })
    }

    /// The rows to upsert: for each key, only the newest record of the batch (one statement cannot update a row
    /// twice); the others are superseded within the batch.
    private func newestPerKey(_ records: [SubscriptionRecord], _ values: [[PostgresText?]]) -> [Int] {
        let keyColumns = settings.key.compactMap { name in statements.columns.firstIndex { $0.name == name } }
        var newest: [[PostgresText?]: Int] = [:]
        for index in records.indices {
            let key = keyColumns.map { values[$0][index] }
            if let current = newest[key],
                (records[current].receivedAtMillis, records[current].sequence) >= (records[index].receivedAtMillis, records[index].sequence)
            {
                continue
            }
            newest[key] = index
        }
        return newest.values.sorted()
    }

    // MARK: errors

    /// The SQLSTATE of a server error.
    static func sqlState(_ error: PSQLError) -> String? {
        error.code == .server ? error.serverInfo?[.sqlState] : nil
    }

    /// Whether the server refused a record's data: a data exception (class 22, e.g. `'abc'::bigint`), an integrity
    /// constraint (23) or a row affected twice by one statement (21).
    static func isRecordError(_ error: PSQLError) -> Bool {
        guard let state = sqlState(error) else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("21")
    }

    /// The handler failure of a PostgreSQL error, classified by SQLSTATE: the server unreachable, starting up,
    /// shutting down, out of resources or asking for a retry (classes 08, 40, 53, 57, 58) is `unreachable`; a
    /// statement timeout (57014) is a `timeout`; a record's data (``isRecordError(_:)``) is `rejected`; every other server error is a function error.
    static func failure(_ error: any Error) -> HandlerFailure {
        guard let error = error as? PSQLError else {
            return HandlerFailure(kind: .unreachable, message: "PostgreSQL: \(error)")
        }
        guard error.code == .server, let info = error.serverInfo else {
            return HandlerFailure(kind: .unreachable, message: "cannot reach PostgreSQL: \(error.code)\(error.underlying.map { " (\($0))" } ?? "")")
        }
        let state = info[.sqlState] ?? "?????"
        var message = "PostgreSQL \(state): \(info[.message] ?? "error")"
        if let detail = info[.detail] { message += " (\(detail))" }
        if let constraint = info[.constraintName] { message += " [constraint \(constraint)]" }
        if let column = info[.columnName] { message += " [column \(column)]" }
        let kind: HandlerFailure.Kind =
            if isRecordError(error) {
                .rejected
            } else if state == "57014" {
                .timeout
            } else if ["08", "40", "53", "57", "58"].contains(String(state.prefix(2))) {
                .unreachable
            } else {
                .functionError
            }
        return HandlerFailure(kind: kind, message: message)
    }
}
