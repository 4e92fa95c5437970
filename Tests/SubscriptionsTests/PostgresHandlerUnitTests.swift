import NIOCore
import Subscriptions
import Testing

@testable import PostgresHandler

@Suite("The PostgreSQL handler's columns, statements and error classes")
struct PostgresHandlerUnitTests {
    static let envelope = Array(
        #"{"v":1,"event_id":"e-1","team":"shop","app":"orders","partition_key":"k","received_at":"2026-12-03T10:00:00.123Z","payload":{"order":{"id":42,"status":"paid","tags":["a","b"],"note":null,"path/with~":"x"}}}"#
            .utf8)
    static let record = SubscriptionRecord(
        sequence: 9, eventID: "e-1", team: "shop", app: "orders", partitionKey: "k", receivedAtMillis: 1_796_292_000_123,
        envelope: envelope)

    func value(_ from: String, type: String? = nil, envelope: [UInt8] = envelope) throws -> String? {
        let source = try #require(PostgresColumn.Source(from))
        var record = Self.record
        record.envelope = envelope
        return PostgresColumn(name: "c", source: source, type: type).value(of: record, payload: PayloadLocation(envelope))?.description
    }

    @Test("values come from the record's fields and from JSON pointers into the payload")
    func values() throws {
        #expect(try value("event_id") == "e-1")
        #expect(try value("team") == "shop")
        #expect(try value("app") == "orders")
        #expect(try value("partition_key") == "k")
        #expect(try value("sequence") == "9")
        #expect(try value("received_at") == "2026-12-03T10:00:00.123Z")
        #expect(try value("received_at", type: "bigint") == "1796292000123", "a numeric column takes Unix ms")
        #expect(try value("payload")?.hasPrefix(#"{"order":{"id":42"#) == true)
        #expect(try value("/order/id") == "42")
        #expect(try value("/order/status") == "paid", "a string's text, unquoted")
        #expect(try value("/order/tags") == #"["a","b"]"#)
        #expect(try value("/order/tags/1") == "b")
        #expect(try value("/order/tags/01") == nil, "array indexes have no leading zeros")
        #expect(try value("/order/note") == nil, "null is NULL")
        #expect(try value("/order/missing") == nil)
        #expect(try value("/order/path~1with~0") == "x", "~1 is /, ~0 is ~")
        #expect(PostgresColumn.Source("amount") == nil)
    }

    @Test("a Kafka message that is not one of our envelopes is its own payload; one that is not JSON has none")
    func foreignPayloads() throws {
        #expect(try value("/status", envelope: Array(#" {"status":"ok"} "#.utf8)) == "ok")
        #expect(try value("payload", envelope: Array(#" {"status":"ok"} "#.utf8)) == #"{"status":"ok"}"#)
        #expect(try value("payload", envelope: Array("not json".utf8)) == nil)
    }

    @Test("insert mode: DO NOTHING on the event id's column; upsert: newer state only, with the order columns")
    func statements() throws {
        let connection = try PostgresConnectionSettings(url: "postgres://u@h/db", environment: [:])
        let insert = PostgresStatements(
            settings: PostgresSettings(
                connection: connection, table: "public.orders", mode: .insert,
                columns: [PostgresColumn(name: "id", source: .eventID), PostgresColumn(name: "body", source: .payload)]))
        #expect(
            insert.insert
                == #"INSERT INTO "public"."orders" AS t ("id", "body") SELECT CAST(u.c1 AS text), CAST(u.c2 AS jsonb) FROM unnest($1::text[], $2::text[]) AS u(c1, c2) ON CONFLICT ("id") DO NOTHING"#
        )
        #expect(insert.createTable == #"CREATE TABLE IF NOT EXISTS "public"."orders" ("id" text NOT NULL, "body" jsonb, PRIMARY KEY ("id"))"#)
        let upsert = PostgresStatements(
            settings: PostgresSettings(
                connection: connection, table: "state", mode: .upsert, key: ["order_id"],
                columns: [
                    PostgresColumn(name: "order_id", source: .pointer(["id"]), type: "bigint"),
                    PostgresColumn(name: "status", source: .pointer(["s"])),
                ]))
        #expect(upsert.columns.map(\.name) == ["order_id", "status", "sluice_received_at", "sluice_sequence"])
        #expect(
            upsert.insert.hasSuffix(
                #"ON CONFLICT ("order_id") DO UPDATE SET "status" = EXCLUDED."status", "sluice_received_at" = EXCLUDED."sluice_received_at", "sluice_sequence" = EXCLUDED."sluice_sequence" WHERE (t.sluice_received_at, t.sluice_sequence) < (EXCLUDED.sluice_received_at, EXCLUDED.sluice_sequence)"#
            ))
        #expect(upsert.createTable.contains(#""sluice_received_at" bigint NOT NULL, "sluice_sequence" bigint NOT NULL, PRIMARY KEY ("order_id")"#))
    }

    @Test("statement_timeout is whole milliseconds, never 0 (which PostgreSQL reads as none)")
    func statementTimeout() {
        #expect(PostgresHandler.milliseconds(.seconds(30)) == 30_000)
        #expect(PostgresHandler.milliseconds(.milliseconds(1500)) == 1500)
        #expect(PostgresHandler.milliseconds(.microseconds(10)) == 1)
    }

    @Test("the URL is completed from libpq's environment variables; a URL that is not postgres:// is refused")
    func connectionSettings() throws {
        let settings = try PostgresConnectionSettings(
            url: "postgresql:///", environment: ["PGUSER": "app", "PGPASSWORD": "pw", "PGHOST": "db", "PGPORT": "6432", "PGDATABASE": "shop"])
        #expect(settings.host == "db")
        #expect(settings.port == 6432)
        #expect(settings.username == "app")
        #expect(settings.password == "pw")
        #expect(settings.database == "shop")
        let explicit = try PostgresConnectionSettings(url: "postgres://u:secret@h:7000/d", environment: ["PGPASSWORD": "other"])
        #expect(explicit.password == "secret" && explicit.port == 7000 && explicit.database == "d")
        #expect(throws: PostgresSettingsError.self) { try PostgresConnectionSettings(url: "mysql://u@h/d", environment: [:]) }
        #expect(throws: PostgresSettingsError.self) { try PostgresConnectionSettings(url: "postgres://h/d", environment: [:]) }
        #expect(PostgresConnectionSettings.redacted("postgres://u:secret@h/d").contains("secret") == false)
    }
}

extension PostgresHandlerUnitTests {
    @Test("COPY text: tab-separated, NULL as \\N, backslash, tab, newline and carriage return escaped")
    func copyText() {
        let values: [[PostgresText?]] = [
            [.string("e-1"), .string("e-2")],
            [.bytes(Array(#"{"a":"x\ty"}"#.utf8)[...]), nil],
            [.string("back\\slash\nline\rend\tx"), .string("plain")],
        ]
        let text = PostgresStatements.copyText(values)
        let expected =
            "e-1\t" + #"{"a":"x\\ty"}"# + "\t" + #"back\\slash\nline\rend\tx"# + "\n" + "e-2\t" + #"\N"# + "\tplain\n"
        #expect(String(buffer: text) == expected)
    }
}
