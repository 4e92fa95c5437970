import Testing

@testable import GatewayConfig

@Suite("Environment substitution")
struct EnvironmentSubstitutionTests {
    func substitute(_ text: String, _ environment: [String: String] = [:]) -> EnvironmentSubstitution.Result {
        EnvironmentSubstitution.substitute(text, environment: environment)
    }

    @Test("references, defaults, escapes")
    func substitutionRules() {
        let environment = ["HOST": "db", "EMPTY": "", "PORT": "5432", "DOLLAR": "${HOST}"]
        #expect(substitute("plain").text == "plain")
        #expect(substitute("plain").substituted == false)
        #expect(substitute("${HOST}", environment).text == "db")
        #expect(substitute("${HOST}:${PORT}", environment).text == "db:5432")
        #expect(substitute("x-${HOST}-y", environment).text == "x-db-y")
        #expect(substitute("${MISSING:-fallback}", environment).text == "fallback")
        #expect(substitute("${EMPTY:-fallback}", environment).text == "fallback")
        #expect(substitute("${EMPTY}", environment).text == "")
        #expect(substitute("${HOST:-fallback}", environment).text == "db")
        #expect(substitute("${MISSING:-}", environment).text == "")
        #expect(substitute("${MISSING:-${HOST}}", environment).text == "db")
        #expect(substitute("${MISSING:-a:b/c}", environment).text == "a:b/c")
        #expect(substitute("$${HOST}", environment).text == "${HOST}")
        #expect(substitute("cost: $5 and $$", environment).text == "cost: $5 and $$")
        // A value from the environment is never substituted again.
        #expect(substitute("${DOLLAR}", environment).text == "${HOST}")
        #expect(substitute("${DOLLAR}", environment).problems == [])
    }

    @Test("problems: unset variables (each one), malformed references")
    func substitutionProblems() {
        #expect(
            substitute("${A}/${B}").problems == [
                "environment variable 'A' is not set (write '${A:-default}' to give a default)",
                "environment variable 'B' is not set (write '${B:-default}' to give a default)",
            ])
        // A default's own references are evaluated only when the default is used.
        #expect(substitute("${SET:-${UNSET}}", ["SET": "x"]).problems == [])
        #expect(substitute("${UNSET2:-${UNSET}}").problems.count == 1)
        #expect(substitute("${1BAD}").problems.first?.hasPrefix("invalid variable reference '${1BAD}'") == true)
        #expect(substitute("${A-b}").problems.first?.hasPrefix("invalid variable reference '${A-b}'") == true)
        #expect(substitute("${}").problems.first?.hasPrefix("invalid variable reference '${}'") == true)
        #expect(substitute("${HOST").problems.first?.hasPrefix("unterminated variable reference '${HOST'") == true)
        #expect(substitute("${HOST:-x").problems == ["unterminated '${HOST:-' (missing '}')"])
    }

    @Test("substituted values are then typed")
    func typedSubstitution() throws {
        let yaml = """
            server:
              host: ${HOST:-0.0.0.0}
              port: ${PORT:-8080}
              max_body_kb: ${BODY}
            kinesis:
              region: ${AWS_REGION:-}
              aggregation: ${AGGREGATE:-true}
            archive:
              url: file://${DATA:-./data}/archive
              buffer:
                size_mb: ${SIZE:-2.5}
            """
        let defaults = try loadValid(yaml, environment: ["BODY": "64"])
        #expect(defaults.server.host == "0.0.0.0")
        #expect(defaults.server.port == 8080)
        #expect(defaults.server.maxBodyKB == 64)
        #expect(defaults.kinesis?.region == nil)
        #expect(defaults.kinesis?.aggregation == true)
        #expect(defaults.archive.url == "file://./data/archive")
        #expect(defaults.archive.bufferSizeMB == 2.5)

        let set = try loadValid(
            yaml,
            environment: [
                "HOST": "127.0.0.1", "PORT": "9999", "BODY": "1", "AWS_REGION": "eu-west-3",
                "AGGREGATE": "false", "DATA": "/srv", "SIZE": "7",
            ])
        #expect(set.server.host == "127.0.0.1")
        #expect(set.server.port == 9999)
        #expect(set.kinesis?.region == "eu-west-3")
        #expect(set.kinesis?.aggregation == false)
        #expect(set.archive.url == "file:///srv/archive")
        #expect(set.archive.bufferSizeMB == 7)
    }

    @Test("an unset variable is an error at the value's path naming it; a bad value names its origin")
    func unsetVariable() {
        let report = load("server:\n  port: ${PORT}\n  host: ${HOST}\n", environment: ["HOST": "h"])
        #expect(report.configuration == nil)
        #expect(
            report.errors == [
                ConfigurationProblem(
                    path: "server.port",
                    message: "environment variable 'PORT' is not set (write '${PORT:-default}' to give a default)",
                    line: 2, column: 9
                )
            ])
        let typed = load("server:\n  port: ${PORT}\n", environment: ["PORT": "eighty"])
        #expect(typed.errors.first?.message == "expected an integer, got 'eighty' (from '${PORT}')")
        let empty = load("server:\n  port: ${PORT:-}\n")
        #expect(empty.errors.first?.message == "expected an integer, got an empty value (from '${PORT:-}')")
    }

    @Test("$${ is a literal ${; keys and environment values are not substituted")
    func escapesAndKeys() throws {
        let configuration = try loadValid(
            """
            kafka:
              bootstrap_servers: ${BROKERS}
              properties:
                ${NOT_A_KEY}: $${LITERAL}
                client.id: ${CLIENT}
            """, environment: ["BROKERS": "k:9092", "CLIENT": "${BROKERS}"])
        #expect(configuration.kafka?.bootstrapServers == "k:9092")
        #expect(configuration.kafka?.properties == ["${NOT_A_KEY}": "${LITERAL}", "client.id": "${BROKERS}"])
    }

    @Test("substitution applies inside lists and nested maps, and in quoted values")
    func everywhere() throws {
        let configuration = try loadValid(
            """
            kafka:
              bootstrap_servers: ["${B1}", '${B2:-b2:9092}']
            streams:
              - team: "${TEAM}"
                app: app-${ENV:-dev}
            """, environment: ["B1": "b1:9092", "TEAM": "rpp"])
        #expect(configuration.kafka?.bootstrapServers == "b1:9092,b2:9092")
        #expect(configuration.streams == [StreamConfiguration(team: "rpp", app: "app-dev")])
    }
}
