import Testing

@testable import GatewayConfig

/// Input meant to crash the loader or make it work without bound: each gives a clear problem, quickly.
@Suite("Hostile input: environment substitution and the file", .timeLimit(.minutes(1)))
struct HostileInputTests {
    @Test("a huge environment value is refused at the limit, with a short message")
    func hugeValue() {
        let huge = String(repeating: "9", count: 1_000_000)
        let report = load("server:\n  max_body_kb: ${BODY}\n", environment: ["BODY": huge])
        #expect(report.configuration == nil)
        #expect(report.errors.map(\.path) == ["server.max_body_kb"])
        #expect(report.errors.first?.message == "the value is longer than 65536 bytes after substitution")

        // Below the limit: the number is out of range, and the message quotes it cut short.
        let long = String(repeating: "9", count: 60_000)
        let quoted = load("server:\n  max_body_kb: ${BODY}\n", environment: ["BODY": long])
        let message = quoted.errors.first?.message ?? ""
        #expect(message.hasSuffix("… (60000 bytes) is out of range 1…1048576 (from '${BODY}')"))
        #expect(message.count < 200)
        let text = load("server:\n  port: ${PORT}\n", environment: ["PORT": String(repeating: "x", count: 60_000)])
        #expect((text.errors.first?.message.count ?? .max) < 200)
        #expect(text.errors.first?.message.hasPrefix("expected an integer, got '" + String(repeating: "x", count: 80) + "…") == true)
    }

    @Test("many references to a large value cannot multiply it without bound")
    func amplification() {
        let value = String(repeating: "a", count: 100_000)
        let references = String(repeating: "${A}", count: 10_000) // would be 1 GB
        let report = load("server:\n  host: \(references)\n", environment: ["A": value])
        #expect(report.errors.map(\.message) == ["the value is longer than 65536 bytes after substitution"])
        let result = EnvironmentSubstitution.substitute(references, environment: ["A": value], maxBytes: 65536)
        #expect(result.text.utf8.count <= 65536)
    }

    @Test("a value from the environment is never substituted again, so self-reference cannot loop")
    func recursion() throws {
        let environment = ["A": "${A}", "B": "${C}", "C": "${B}", "D": "$${D}"]
        let configuration = try loadValid(
            """
            kafka:
              bootstrap_servers: k:9092
              properties:
                a: ${A}
                b: ${B}
                d: ${D}
            """, environment: environment)
        #expect(configuration.kafka?.properties == ["a": "${A}", "b": "${C}", "d": "$${D}"])
    }

    @Test("defaults nest at most 16 deep; deeper is a problem, even 100000 deep, not a stack overflow")
    func nesting() {
        func nested(_ depth: Int) -> String {
            String(repeating: "${X:-", count: depth) + "8080" + String(repeating: "}", count: depth)
        }
        #expect(EnvironmentSubstitution.substitute(nested(16), environment: [:]).text == "8080")
        #expect(EnvironmentSubstitution.substitute(nested(16), environment: [:]).problems == [])
        #expect(EnvironmentSubstitution.substitute(nested(17), environment: [:]).problems == ["defaults nested more than 16 deep"])
        let deep = String(repeating: "${X:-", count: 100_000)
        #expect(EnvironmentSubstitution.substitute(deep, environment: [:]).problems == ["defaults nested more than 16 deep"])
        let report = load("server:\n  port: \(nested(40))\n")
        #expect(report.errors.map(\.description) == ["server.port: defaults nested more than 16 deep (line 2, column 9)"])
    }

    @Test(
        "malformed references are problems naming them",
        arguments: [
            ("${", "unterminated variable reference '${' (missing '}'; write '$${' for a literal '${')"),
            ("x${", "unterminated variable reference '${' (missing '}'; write '$${' for a literal '${')"),
            ("${PORT", "unterminated variable reference '${PORT' (missing '}'; write '$${' for a literal '${')"),
            ("${PORT:-", "unterminated '${PORT:-' (missing '}')"),
            ("${PORT:-${X}", "unterminated '${PORT:-' (missing '}')"),
            ("${ PORT }", "invalid variable reference '${ PORT }' (expected '${NAME}' or '${NAME:-default}'; write '$${' for a literal '${')"),
            ("${PORT-80}", "invalid variable reference '${PORT-80}' (expected '${NAME}' or '${NAME:-default}'; write '$${' for a literal '${')"),
            ("${9}", "invalid variable reference '${9}' (expected '${NAME}' or '${NAME:-default}'; write '$${' for a literal '${')"),
            ("${é}", "invalid variable reference '${é}' (expected '${NAME}' or '${NAME:-default}'; write '$${' for a literal '${')"),
        ])
    func malformed(_ written: String, _ message: String) {
        let report = load("server:\n  host: '\(written)'\n")
        #expect(report.configuration == nil)
        #expect(report.errors.map(\.path) == ["server.host"])
        #expect(report.errors.first?.message == message)
    }

    @Test("a long variable name or malformed reference is quoted cut short")
    func longNames() {
        let name = String(repeating: "A", count: 50_000)
        let unset = load("server:\n  host: ${\(name)}\n")
        #expect((unset.errors.first?.message.count ?? .max) < 400)
        #expect(unset.errors.first?.message.hasPrefix("environment variable '" + String(repeating: "A", count: 80) + "…") == true)
        let open = load("server:\n  host: '${\(String(repeating: " ", count: 50_000))'\n")
        #expect((open.errors.first?.message.count ?? .max) < 400)
    }

    @Test("NUL characters are refused, from the environment or written in the file")
    func nul() {
        let fromEnvironment = load("server:\n  host: ${HOST}\n", environment: ["HOST": "local\u{0}host"])
        #expect(
            fromEnvironment.errors.map(\.description)
                == ["server.host: the value contains a NUL character (U+0000) (from '${HOST}') (line 2, column 9)"])
        let written = load("durability:\n  dir: \"data\\0/wal\"\n")
        #expect(written.errors.map(\.message) == ["the value contains a NUL character (U+0000)"])
        let property = load("kafka:\n  bootstrap_servers: k:9092\n  properties:\n    client.id: ${ID}\n", environment: ["ID": "\u{0}"])
        #expect(property.errors.map(\.path) == ["kafka.properties[\"client.id\"]"])
    }

    @Test("an environment value that is not valid UTF-8 (decoded with U+FFFD) is refused by name")
    func notUTF8() {
        let report = load("server:\n  host: ${HOST:-x}\n", environment: ["HOST": "caf\u{FFFD}"])
        #expect(report.errors.map(\.message) == ["environment variable 'HOST' is not valid UTF-8 text"])
        let bare = load("server:\n  host: ${HOST}\n", environment: ["HOST": "\u{FFFD}"])
        #expect(bare.errors.map(\.message) == ["environment variable 'HOST' is not valid UTF-8 text"])
    }

    @Test("a literal scalar over 64 KiB is refused")
    func longLiteral() {
        let report = load("server:\n  host: \(String(repeating: "h", count: 70_000))\n")
        #expect(report.errors.map(\.message) == ["the value is 70000 bytes long; at most 65536 are allowed"])
    }

    @Test("merge keys cannot pull in mappings without bound (billion laughs)")
    func mergeBomb() {
        var yaml = "x0: &x0 {k: 1}\n"
        for level in 1...9 {
            yaml += "x\(level): &x\(level) {<<: [" + Array(repeating: "*x\(level - 1)", count: 10).joined(separator: ", ") + "]}\n"
        }
        yaml += "server:\n  <<: *x9\n"
        let report = load(yaml)
        #expect(report.configuration == nil)
        #expect(
            report.errors.contains {
                $0.path == #"server["<<"]"# && $0.message.hasPrefix("merge keys pull in more than 1000 mappings in this file")
            })
        // Ordinary merges are unaffected.
        let merged = load("server:\n  <<: {port: 9000}\n  host: 127.0.0.1\n")
        #expect(merged.errors == [])
        #expect(merged.configuration?.server.port == 9000)
    }

    @Test("a file over 4 MiB is refused before it is parsed")
    func hugeFile() throws {
        let path = "/tmp/sluice-config-huge-\(UInt64.random(in: 0...UInt64.max)).yaml"
        try TestFiles.write("# " + String(repeating: "x", count: 4 << 20) + "\n", to: path)
        defer { TestFiles.remove(path) }
        let report = Configuration.load(contentsOfFile: path, environment: [:])
        #expect(report.errors.map(\.message) == ["cannot read configuration file '\(path)': it is larger than 4 MiB"])
    }
}
