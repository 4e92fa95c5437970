internal import Foundation

/// A PostgreSQL handler's own configuration (mapped from `handler: {postgres: …}` in the wiring).
public struct PostgresSettings: Sendable, Equatable {
    /// How records become rows.
    public enum Mode: Sendable, Equatable {
        /// One row per event, idempotent by event id (a redelivered event adds nothing).
        case insert
        /// One row per key holding the newest event's state.
        case upsert
    }

    public var connection: PostgresConnectionSettings
    /// `table` or `schema.table`.
    public var table: String
    public var mode: Mode
    /// The columns of the row key (upsert mode).
    public var key: [String]
    /// `CREATE TABLE IF NOT EXISTS` before the first batch.
    public var createTable: Bool
    public var columns: [PostgresColumn]

    public init(
        connection: PostgresConnectionSettings, table: String, mode: Mode, key: [String] = [], createTable: Bool = false,
        columns: [PostgresColumn]
    ) {
        self.connection = connection
        self.table = table
        self.mode = mode
        self.key = key
        self.createTable = createTable
        self.columns = columns
    }

    /// The `ON CONFLICT` target: the key in upsert mode, the event id's column in insert mode.
    var conflictColumns: [String] {
        switch mode {
        case .upsert: key
        case .insert: columns.first { $0.source == .eventID }.map { [$0.name] } ?? []
        }
    }
}

/// Where and how a PostgreSQL handler connects: a `postgres://user:password@host:port/database` URL, with what it
/// leaves out taken from libpq's environment variables (`PGUSER`, `PGPASSWORD`, `PGHOST`, `PGPORT`, `PGDATABASE`).
public struct PostgresConnectionSettings: Sendable, Equatable {
    /// Whether the connection uses TLS (the certificate is verified against the system's roots or `ca_file`).
    public enum TLSMode: Sendable, Equatable {
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    /// PEM file of the roots that verify the server's certificate (the system's when nil).
    public var caFile: String?
    /// The pool's most connections.
    public var maxConnections: Int
    /// The server's `statement_timeout` for the handler's statements.
    public var statementTimeout: Duration

    /// The settings of `url`, completed from `environment`.
    /// - Throws: ``PostgresSettingsError`` naming what is wrong with the URL.
    public init(
        url: String, environment: [String: String], tls: TLSMode = .prefer, caFile: String? = nil, maxConnections: Int = 10,
        statementTimeout: Duration = .seconds(30)
    ) throws(PostgresSettingsError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresSettingsError(message: "'\(Self.redacted(url))' is not a postgres:// URL (postgres://user:password@host:5432/database)")
        }
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGHOST"] ?? "localhost"
        let port = components.port ?? environment["PGPORT"].flatMap { Int($0) } ?? 5432
        guard (1...65535).contains(port) else { throw PostgresSettingsError(message: "port \(port) is not 1…65535") }
        guard let username = components.user.flatMap({ $0.isEmpty ? nil : $0 }) ?? environment["PGUSER"] else {
            throw PostgresSettingsError(message: "no user: name one in the URL (postgres://user@host/db) or in PGUSER")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.host = host
        self.port = port
        self.username = username
        self.password = components.password ?? environment["PGPASSWORD"]
        self.database = path.isEmpty ? environment["PGDATABASE"] : path
        self.tls = tls
        self.caFile = caFile
        self.maxConnections = maxConnections
        self.statementTimeout = statementTimeout
    }

    /// The URL without its password.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

/// A PostgreSQL handler's settings that cannot work, with what to change.
public struct PostgresSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
