import NIOCore

/// The SQL a PostgreSQL handler runs, built once from its settings: identifiers quoted, values always bound as
/// parameters (one `text[]` per column, expanded with `unnest`, so a batch of any size is one statement with as many
/// parameters as columns).
struct PostgresStatements: Sendable {
    /// The columns the handler keeps for itself in upsert mode: which event a row's state came from, compared as
    /// `(received_at, sequence)` so an older event redelivered later never overwrites a newer one.
    static let orderColumns = [
        PostgresColumn(name: "sluice_received_at", source: .receivedAt, type: "bigint"),
        PostgresColumn(name: "sluice_sequence", source: .sequence, type: "bigint"),
    ]

    /// Every column written, in parameter order (the configured ones, then the order columns in upsert mode).
    let columns: [PostgresColumn]
    /// `CREATE TABLE IF NOT EXISTS …` with the conflict target as the primary key.
    let createTable: String
    /// The batch statement: `INSERT … SELECT … FROM unnest($1::text[], …) ON CONFLICT …`.
    let insert: String
    /// In insert mode, the table as PostgresNIO's `copyFrom` takes it: a batch is first sent with `COPY … FROM STDIN`
    /// (a batch almost never holds an event that is stored already, and COPY costs the server about half of what an
    /// insert does); any error on the batch's data, a stored event included, falls back to ``insert``.
    /// `copyFrom` writes `COPY "<table>"`, so a schema-qualified name is passed as `schema"."table` (both parts are
    /// validated identifiers: letters, digits and `_`).
    let copyTable: String?

    init(settings: PostgresSettings) {
        let table = Self.quotedTable(settings.table)
        var columns = settings.columns
        if settings.mode == .upsert { columns += Self.orderColumns }
        self.columns = columns
        let conflictTarget = settings.conflictColumns.map(Self.quoted).joined(separator: ", ")
        let definitions = columns.map { column in
            let notNull = settings.conflictColumns.contains(column.name) || Self.orderColumns.contains(column) ? " NOT NULL" : ""
            return "\(Self.quoted(column.name)) \(column.type)\(notNull)"
        }
        createTable = "CREATE TABLE IF NOT EXISTS \(table) (" + definitions.joined(separator: ", ") + ", PRIMARY KEY (\(conflictTarget)))"
        let names = columns.map { Self.quoted($0.name) }.joined(separator: ", ")
        let casts = columns.indices.map { "CAST(u.c\($0 + 1) AS \(columns[$0].type))" }.joined(separator: ", ")
        let arrays = columns.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let aliases = columns.indices.map { "c\($0 + 1)" }.joined(separator: ", ")
        var insert = "INSERT INTO \(table) AS t (\(names)) SELECT \(casts) FROM unnest(\(arrays)) AS u(\(aliases)) ON CONFLICT (\(conflictTarget)) "
        switch settings.mode {
        case .insert:
            insert += "DO NOTHING"
            copyTable = settings.table.split(separator: ".", maxSplits: 1).joined(separator: "\".\"")
        case .upsert:
            let updated = columns.filter { !settings.conflictColumns.contains($0.name) }.map(\.name).map(Self.quoted)
            insert += "DO UPDATE SET " + updated.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            insert += " WHERE (t.sluice_received_at, t.sluice_sequence) < (EXCLUDED.sluice_received_at, EXCLUDED.sluice_sequence)"
            copyTable = nil
        }
        self.insert = insert
    }

    /// The rows in COPY's text format: values separated by tabs, rows ended by newlines, NULL as `\N`, and backslash,
    /// tab, newline and carriage return escaped.
    static func copyText(_ values: [[PostgresText?]]) -> ByteBuffer {
        guard let rows = values.first?.count else { return ByteBuffer() }
        var out = ByteBuffer()
        out.reserveCapacity(rows * 64 * values.count)
        for row in 0..<rows {
            for column in values.indices {
                if column > 0 { out.writeInteger(UInt8(ascii: "\t")) }
                switch values[column][row] {
                case .string(var text)?:
                    text.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
                case .bytes(let bytes)?:
                    bytes.withUnsafeBytes { appendEscaped($0, to: &out) }
                case nil:
                    out.writeStaticString("\\N")
                }
            }
            out.writeInteger(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Appends `bytes`, escaped for COPY's text format, copying the runs between the bytes that need it whole.
    private static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout ByteBuffer) {
        var start = 0
        for index in 0..<bytes.count {
            let escaped: StaticString
            switch bytes[index] {
            case UInt8(ascii: "\\"): escaped = "\\\\"
            case UInt8(ascii: "\t"): escaped = "\\t"
            case UInt8(ascii: "\n"): escaped = "\\n"
            case UInt8(ascii: "\r"): escaped = "\\r"
            default: continue
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            out.writeStaticString(escaped)
            start = index + 1
        }
        out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    /// `"name"`, with `"` doubled.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }

    /// `"schema"."table"` or `"table"`.
    static func quotedTable(_ table: String) -> String {
        table.split(separator: ".", maxSplits: 1).map { quoted(String($0)) }.joined(separator: ".")
    }
}
