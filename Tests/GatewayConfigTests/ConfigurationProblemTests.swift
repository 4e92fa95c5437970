import GatewayConfig
import Testing

@Suite("Problems: collection, paths, positions, messages")
struct ConfigurationProblemTests {
    @Test("every problem of a file is reported at once, with paths and positions")
    func severalProblemsAtOnce() {
        let yaml = """
            server:
              port: abc
            streams:
              - team: rpp
                app: one
              - team: rpp
                app: two
              - team: ads
                kafka_topic: ads-topic
            archive:
              compression_level: 12
            """
        let report = load(yaml)
        #expect(report.configuration == nil)
        #expect(
            report.errors == [
                ConfigurationProblem(path: "server.port", message: "expected an integer, got 'abc'", line: 2, column: 9),
                ConfigurationProblem(path: "streams[2].app", message: "missing", line: 8, column: 5),
                ConfigurationProblem(path: "archive.compression_level", message: "12 is out of range 1…9", line: 11, column: 22),
            ])
        // Warnings are still collected alongside errors.
        #expect(report.warnings.map(\.path) == ["streams[2].kafka_topic"])
    }

    @Test("the description is 'path: message (line L, column C)'")
    func descriptionFormat() {
        #expect(
            ConfigurationProblem(path: "streams[2].app", message: "missing", line: 7, column: 5).description
                == "streams[2].app: missing (line 7, column 5)")
        #expect(
            ConfigurationProblem(path: "server.port", message: "expected an integer, got 'abc'").description
                == "server.port: expected an integer, got 'abc'")
        #expect(
            ConfigurationProblem(path: "", message: "invalid YAML: oops", line: 3, column: 1).description
                == "invalid YAML: oops (line 3, column 1)")
        #expect(ConfigurationProblem(path: "a", message: "b", line: 4).description == "a: b (line 4)")
    }

    @Test("the error carries every problem; report.get() throws it")
    func errorCarriesAllProblems() throws {
        let report = load("server:\n  port: x\n  host: ''\n")
        #expect(report.errors.count == 2)
        #expect(throws: ConfigurationError.self) { try report.get() }
        do {
            _ = try report.get()
        } catch {
            #expect(error.problems == report.errors)
            #expect(
                error.description == """
                    invalid configuration (2 problems):
                      server.port: expected an integer, got 'x' (line 2, column 9)
                      server.host: must not be empty (line 3, column 9)
                    """)
        }
        let single = ConfigurationError(problems: [ConfigurationProblem(path: "server.port", message: "missing")])
        #expect(single.description == "invalid configuration: server.port: missing")
        #expect(try load("").get() == Configuration.embeddedDefault)
    }

    @Test("unknown keys at every level, with a suggestion when one is close")
    func unknownKeys() {
        let yaml = """
            sever:
              port: 1
            server:
              max_body_k: 10
              prot: 80
            kafka:
              bootstrap_servers: k:9092
              security:
                protocl: ssl
            archive:
              buffer:
                size: 5
            streams:
              - team: a
                app: b
                kinesis_stram: x
                colour: blue
            default_stream:
              team: a
              app: b
              ap: c
            """
        let report = load(yaml)
        #expect(
            report.errors == [
                ConfigurationProblem(path: "sever", message: "unknown key (did you mean 'server'?)", line: 1, column: 1),
                ConfigurationProblem(path: "server.max_body_k", message: "unknown key (did you mean 'max_body_kb'?)", line: 4, column: 3),
                ConfigurationProblem(path: "server.prot", message: "unknown key (did you mean 'port'?)", line: 5, column: 3),
                ConfigurationProblem(path: "kafka.security.protocl", message: "unknown key (did you mean 'protocol'?)", line: 9, column: 5),
                ConfigurationProblem(path: "archive.buffer.size", message: "unknown key", line: 12, column: 5),
                ConfigurationProblem(path: "streams[0].kinesis_stram", message: "unknown key (did you mean 'kinesis_stream'?)", line: 16, column: 5),
                ConfigurationProblem(path: "streams[0].colour", message: "unknown key", line: 17, column: 5),
                ConfigurationProblem(path: "default_stream.ap", message: "unknown key (did you mean 'app'?)", line: 21, column: 3),
            ])
    }

    @Test("a YAML syntax error is one problem with its position")
    func syntaxError() {
        let report = load("server:\n  port: 8080\n  host: [unclosed\nstreams: []\n")
        #expect(report.configuration == nil)
        #expect(report.errors.count == 1)
        let problem = report.errors[0]
        #expect(problem.path == "")
        #expect(problem.message.hasPrefix("invalid YAML: "))
        #expect(problem.line == 4)
        #expect(problem.column != nil)

        let tabs = load("server:\n\tport: 1\n")
        #expect(tabs.errors.count == 1)
        #expect(tabs.errors.first?.line == 2)
        #expect(tabs.errors.first?.message.contains("indent with spaces, not tabs") == true)
    }

    @Test("a key repeated in one mapping is a YAML error at its first occurrence")
    func duplicateYAMLKeys() {
        let report = load("server:\n  port: 1\n  host: x\n  port: 2\n")
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.message == "invalid YAML: duplicate key 'port' in one mapping")
        #expect(report.errors.first?.line == 2)
    }

    @Test(
        "a top level that is not a mapping is a problem at the root",
        arguments: [
            ("- a\n- b\n", "a list"), ("just text", "'just text'"), ("42", "'42'"),
        ])
    func rootNotAMapping(yaml: String, found: String) {
        let report = load(yaml)
        #expect(report.configuration == nil)
        #expect(
            report.errors == [
                ConfigurationProblem(
                    path: "", message: "expected a mapping of sections at the top level, got \(found)", line: 1, column: 1)
            ])
        #expect(report.errors.first?.description.hasPrefix("expected a mapping") == true)
    }

    @Test("several documents in one file are rejected")
    func severalDocuments() {
        let report = load("server: {}\n---\nserver: {}\n")
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.line == 2)
        #expect(report.errors.first?.message == "invalid YAML: a configuration file holds a single document, found a second one")
    }
}
