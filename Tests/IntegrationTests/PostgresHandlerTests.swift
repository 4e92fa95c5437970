import Foundation
import GatewayTesting
import Testing

/// A gateway with one subscription `orders` on `shop/orders` writing to PostgreSQL; the password comes from
/// PGPASSWORD in the gateway's environment, not from the file.
func postgresConfig(url: String, handler: String, policy: String = "", tls: String = "tls: disable") -> String {
    """
    streams:
      - {team: shop, app: orders}
    durability:
      dir: ./wal
    archive:
      url: file://./archive
    subscriptions:
      - name: orders
        source: {log: {streams: ["shop/orders"], starting_position: trim_horizon}}
        handler:
          postgres:
            url: "\(url)"
            \(tls)
    \(handler.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
    \(policy.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    """
}

@Suite("PostgreSQL handler through the binary", .serialized)
struct PostgresHandlerTests {
    @Test("insert mode: N events are exactly N rows, also after kill -9 mid-delivery and a replay of everything")
    func insertExactlyOnce() async throws {
        let server = try PostgresServer.start(settings: ["fsync": "off"])
        defer { server.stop() }
        // A trigger that takes 5 ms a row keeps delivery slow enough to kill the gateway in the middle of it.
        try server.psql(
            """
            CREATE TABLE orders (event_id text PRIMARY KEY, n bigint NOT NULL, received_at timestamptz, body jsonb, pk text);
            CREATE FUNCTION slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER slow BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION slow();
            """)
        let directory = try makeTemporaryDirectory("pg-insert")
        let config = postgresConfig(
            url: server.url,
            handler: """
                table: orders
                columns:
                  - {name: event_id, from: event_id}
                  - {name: n, from: /n, type: bigint}
                  - {name: received_at, from: received_at}
                  - {name: body, from: payload}
                  - {name: pk, from: partition_key}
                """, policy: "batch_size: 20")
        let environment = ["PGPASSWORD": PostgresServer.password]
        let gateway = try SluiceProcess(directory: directory, config: config, environment: environment)
        try await postOrders(GatewayClient(baseURL: gateway.baseURL), 0..<500)
        #expect(try await eventually { Int(try server.psql("SELECT count(*) FROM orders")) ?? 0 >= 60 })
        gateway.kill()
        let partial = Int(try server.psql("SELECT count(*) FROM orders")) ?? 0
        #expect(partial < 500, "killed mid-delivery")

        let restarted = try SluiceProcess(directory: directory, config: config, logName: "sluice-2.log", environment: environment)
        defer { _ = restarted.terminate() }
        let client = GatewayClient(baseURL: restarted.baseURL)
        #expect(try await eventually(timeout: .seconds(120)) { try server.psql("SELECT count(*) FROM orders") == "500" })
        #expect(try server.psql("SELECT count(DISTINCT n), min(n), max(n) FROM orders") == "500|0|499")
        #expect(try server.psql("SELECT body->>'n', pk FROM orders WHERE event_id = 'e-7'") == "7|k2")
        #expect(try server.psql("SELECT count(*) FROM orders WHERE received_at > now() - interval '1 hour'") == "500")

        // Everything again: idempotent by event id.
        let replay = try await client.post("/v1/subscriptions/orders/replay", #"{"from":{"sequence":0}}"#)
        #expect(replay.status == 202, "\(replay.body)")
        #expect(
            try await eventually(timeout: .seconds(120)) {
                let status = try await client.get("/v1/subscriptions/orders").object
                return ((status["counts"] as? [String: Any])?["delivered"] as? Int ?? 0) >= 500
                    && ((status["lag"] as? [String: Any])?["records"] as? Int) == 0
            })
        #expect(try server.psql("SELECT count(*) FROM orders") == "500")
        let status = try await client.get("/v1/subscriptions/orders").object
        #expect(((status["handler"] as? [String: Any])?["postgres"] as? [String: Any])?["table"] as? String == "orders")
        #expect(!(String(describing: status).contains(PostgresServer.password)))
    }

    @Test("a record that violates a type or a constraint is a dead letter alone; the rest of its batch is stored")
    func badRecordsAreDeadLetters() async throws {
        let server = try PostgresServer.start(settings: ["fsync": "off"])
        defer { server.stop() }
        try server.psql("CREATE TABLE payments (event_id text PRIMARY KEY, amount bigint CHECK (amount >= 0), note text)")
        let directory = try makeTemporaryDirectory("pg-bad")
        let config = postgresConfig(
            url: server.url,
            handler: """
                table: payments
                columns:
                  - {name: event_id, from: event_id}
                  - {name: amount, from: /amount, type: bigint}
                  - {name: note, from: /note}
                """, policy: "batch_size: 50")
        let gateway = try SluiceProcess(directory: directory, config: config, environment: ["PGPASSWORD": PostgresServer.password])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        var lines: [String] = []
        for n in 0..<40 {
            let amount = n == 7 ? "\"seven\"" : n == 23 ? "-5" : "\(n * 100)"
            lines.append(#"{"team":"shop","app":"orders","event_id":"p-\#(n)","payload":{"amount":\#(amount),"note":"n\#(n)"}}"#)
        }
        try await postLines(client, lines)
        var letters: [[String: Any]] = []
        #expect(
            try await eventually {
                letters = (try await client.get("/v1/subscriptions/orders/dead-letters").object["dead_letters"] as? [[String: Any]]) ?? []
                let rows = try server.psql("SELECT count(*) FROM payments")
                return letters.count == 2 && rows == "38"
            })
        #expect(letters.allSatisfy { $0["condition"] as? String == "PermanentFailure" })
        let messages = letters.compactMap { ($0["last_error"] as? [String: Any])?["message"] as? String }.sorted()
        #expect(messages.contains { $0.contains("22P02") }, "invalid input syntax for type bigint: \(messages)")
        #expect(messages.contains { $0.contains("23514") && $0.contains("payments_amount_check") }, "check constraint: \(messages)")
        let eventIDs = Set(
            letters.flatMap { ($0["records"] as? [[String: Any]]) ?? [] }.compactMap { $0["event_id"] as? String })
        #expect(eventIDs == ["p-7", "p-23"])
        #expect(try server.psql("SELECT count(*) FROM payments WHERE event_id IN ('p-7', 'p-23')") == "0")
        #expect(try server.psql("SELECT amount, note FROM payments WHERE event_id = 'p-8'") == "800|n8")
    }

    @Test("upsert mode keeps the newest state per key, also when older events are redelivered after newer ones")
    func upsertKeepsNewest() async throws {
        let server = try PostgresServer.start(settings: ["fsync": "off"])
        defer { server.stop() }
        let directory = try makeTemporaryDirectory("pg-upsert")
        let config = postgresConfig(
            url: server.url,
            handler: """
                table: order_state
                mode: upsert
                key: [order_id]
                create_table: true
                columns:
                  - {name: order_id, from: /order/id, type: bigint}
                  - {name: status, from: /order/status}
                  - {name: last_event, from: event_id}
                """, policy: "batch_size: 7")
        let gateway = try SluiceProcess(directory: directory, config: config, environment: ["PGPASSWORD": PostgresServer.password])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        let statuses = ["created", "paid", "packed", "shipped"]
        var lines: [String] = []
        for (step, status) in statuses.enumerated() {
            for order in 0..<10 {
                lines.append(
                    #"{"team":"shop","app":"orders","event_id":"o\#(order)-\#(step)","partition_key":"o\#(order)","payload":{"order":{"id":\#(order),"status":"\#(status)"}}}"#
                )
            }
        }
        try await postLines(client, lines)
        #expect(
            try await eventually {
                // The handler creates the table with its first batch.
                (try? server.psql("SELECT count(*) FROM order_state WHERE status = 'shipped'")) == "10"
            })
        // Every event again, oldest first: none of the older states may come back.
        let replay = try await client.post("/v1/subscriptions/orders/replay", #"{"from":{"sequence":0}}"#)
        #expect(replay.status == 202, "\(replay.body)")
        #expect(
            try await eventually {
                let status = try await client.get("/v1/subscriptions/orders").object
                return ((status["counts"] as? [String: Any])?["delivered"] as? Int ?? 0) >= 80
            })
        #expect(try server.psql("SELECT count(*), count(*) FILTER (WHERE status = 'shipped') FROM order_state") == "10|10")
        #expect(try server.psql("SELECT last_event FROM order_state WHERE order_id = 4") == "o4-3")
        #expect(
            try server.psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'order_state' AND column_name = 'order_id'")
                == "bigint")
    }

    @Test("an unreachable server holds delivery back without dead letters, and it resumes once the server is there")
    func unreachableServerResumes() async throws {
        let directory = try makeTemporaryDirectory("pg-down")
        let port = try freeLoopbackPort()
        let config = postgresConfig(
            url: "postgres://postgres@127.0.0.1:\(port)/sluice",
            handler: """
                table: events
                create_table: true
                timeout_s: 2
                columns:
                  - {name: event_id, from: event_id}
                """)
        let gateway = try SluiceProcess(directory: directory, config: config, environment: ["PGPASSWORD": PostgresServer.password])
        defer { _ = gateway.terminate() }
        let client = GatewayClient(baseURL: gateway.baseURL)
        try await postOrders(client, 0..<5)
        #expect(
            try await eventually {
                let status = try await client.get("/v1/subscriptions/orders").object
                let message = (status["last_error"] as? [String: Any])?["message"] as? String ?? ""
                return message.contains("PostgreSQL")
            })
        let status = try await client.get("/v1/subscriptions/orders").object
        #expect((status["counts"] as? [String: Any])?["dead_lettered"] as? Int == 0)
        #expect((status["last_error"] as? [String: Any])?["kind"] as? String == "unreachable")

        let server = try PostgresServer.start(port: port, settings: ["fsync": "off"])
        defer { server.stop() }
        #expect(try await eventually { (try? server.psql("SELECT count(*) FROM events")) == "5" })
        #expect(try await client.get("/v1/subscriptions/orders").object["state"] as? String == "running")
    }

    @Test("tls: require verifies the server's certificate: without its authority nothing is written, with ca_file every event is")
    func tlsRequire() async throws {
        // The server refuses TCP connections without TLS (hostnossl … reject).
        let server = try PostgresServer.start(settings: ["fsync": "off"], requireTLS: true)
        defer { server.stop() }
        let caFile = try #require(server.caFile)
        try server.psql("CREATE TABLE events (event_id text PRIMARY KEY)")
        let handler = """
            table: events
            timeout_s: 2
            columns:
              - {name: event_id, from: event_id}
            """
        let untrusting = try SluiceProcess(
            directory: try makeTemporaryDirectory("pg-tls-untrusted"), config: postgresConfig(url: server.url, handler: handler, tls: "tls: require"),
            environment: ["PGPASSWORD": PostgresServer.password])
        defer { _ = untrusting.terminate() }
        let client = GatewayClient(baseURL: untrusting.baseURL)
        try await postOrders(client, 0..<5)
        var message = ""
        #expect(
            try await eventually {
                let status = try await client.get("/v1/subscriptions/orders").object
                message = (status["last_error"] as? [String: Any])?["message"] as? String ?? ""
                return !message.isEmpty
            })
        #expect(message.uppercased().contains("CERTIFICATE"), "the handshake failed on the certificate: \(message)")
        #expect(try server.psql("SELECT count(*) FROM events") == "0")
        _ = untrusting.terminate()

        let trusting = try SluiceProcess(
            directory: try makeTemporaryDirectory("pg-tls"),
            config: postgresConfig(url: server.url, handler: handler, tls: "tls: require\n        ca_file: \(caFile)"),
            environment: ["PGPASSWORD": PostgresServer.password])
        defer { _ = trusting.terminate() }
        try await postOrders(GatewayClient(baseURL: trusting.baseURL), 0..<5)
        #expect(try await eventually { (try? server.psql("SELECT count(*) FROM events")) == "5" })
        let encrypted = try server.psql("SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = 'sluice'")
        #expect(encrypted == "t", "every connection to the database is TLS")
    }
}
