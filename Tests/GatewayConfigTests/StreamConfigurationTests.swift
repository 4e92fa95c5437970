import GatewayConfig
import Testing

@Suite("Streams, default stream and backends")
struct StreamConfigurationTests {
    static let twoStreams = """
        streams:
          - team: rpp
            app: promo-clicks
          - team: ads
            app: views
        """

    @Test(
        "default_stream as a mapping or as 'team/app'",
        arguments: [
            "default_stream:\n  team: ads\n  app: views",
            "default_stream: {team: ads, app: views}",
            "default_stream: ads/views",
            "default_stream: 'ads/views'",
        ])
    func defaultStreamForms(written: String) throws {
        let configuration = try loadValid(Self.twoStreams + "\n" + written)
        #expect(configuration.defaultStream == StreamReference(team: "ads", app: "views"))
        #expect(configuration.streams.count == 2)
    }

    @Test("streams without default_stream: no default stream")
    func noDefaultStream() throws {
        let configuration = try loadValid(Self.twoStreams)
        #expect(configuration.defaultStream == nil)
        let empty = try loadValid(Self.twoStreams + "\ndefault_stream:")
        #expect(empty.defaultStream == nil)
    }

    @Test("default_stream must name a configured stream")
    func defaultStreamUnknown() {
        let report = load(Self.twoStreams + "\ndefault_stream: ads/clicks")
        #expect(
            report.errors == [
                ConfigurationProblem(
                    path: "default_stream",
                    message: "no stream 'ads/clicks' in 'streams' (known: 'rpp/promo-clicks', 'ads/views')",
                    line: 6, column: 17
                )
            ])
    }

    @Test(
        "malformed default_stream",
        arguments: [
            ("default_stream: ads", "expected 'team/app' or a mapping {team, app}, got 'ads'"),
            ("default_stream: a/b/c", "expected 'team/app' or a mapping {team, app}, got 'a/b/c'"),
            ("default_stream: /views", "expected 'team/app' or a mapping {team, app}, got '/views'"),
            ("default_stream: [a, b]", "expected 'team/app' or a mapping {team, app}, got a list"),
        ])
    func defaultStreamMalformed(written: String, message: String) {
        let report = load(Self.twoStreams + "\n" + written)
        #expect(report.errors.map(\.path) == ["default_stream"])
        #expect(report.errors.first?.message == message)
    }

    @Test("a mapping default_stream needs team and app")
    func defaultStreamMissingApp() {
        let report = load(Self.twoStreams + "\ndefault_stream:\n  team: ads")
        #expect(report.errors.map(\.path) == ["default_stream.app"])
        #expect(report.errors.first?.message == "missing")
    }

    @Test("no streams (absent or empty): the embedded default's streams and default stream")
    func embeddedStreams() throws {
        for yaml in ["server: {}", "streams: []", "streams:"] {
            let configuration = try loadValid(yaml)
            #expect(configuration.streams == Configuration.embeddedDefault.streams)
            #expect(configuration.defaultStream == Configuration.embeddedDefault.defaultStream)
        }
        let explicit = try loadValid("streams: []\ndefault_stream: default/default")
        #expect(explicit.defaultStream == StreamReference(team: "default", app: "default"))
        let wrong = load("default_stream: rpp/x")
        #expect(wrong.errors.map(\.path) == ["default_stream"])
    }

    @Test("a repeated team/app pair is an error on the later entry")
    func duplicateStreams() {
        let report = load(
            """
            streams:
              - team: rpp
                app: one
              - team: rpp
                app: two
              - team: rpp
                app: one
            default_stream: rpp/one
            """)
        #expect(
            report.errors == [
                ConfigurationProblem(
                    path: "streams[2]", message: "duplicate stream 'rpp/one' (already defined at streams[0])",
                    line: 6, column: 5
                )
            ])
    }

    @Test("a bad stream entry does not also make default_stream wrong")
    func noCascade() {
        let report = load("streams:\n  - team: rpp\n    app: 'a b'\ndefault_stream: rpp/a b")
        #expect(report.errors.map(\.path) == ["streams[0].app"])
    }

    @Test("kinesis: and kafka: present (even empty) turn the backends on")
    func backendPresence() throws {
        let none = try loadValid("server: {}")
        #expect(none.kinesis == nil)
        #expect(none.kafka == nil)

        let empty = try loadValid("kinesis: {}\nkafka:\n  bootstrap_servers: k:9092")
        #expect(empty.kinesis == KinesisConfiguration())
        var kafka = KafkaConfiguration()
        kafka.bootstrapServers = "k:9092"
        #expect(empty.kafka == kafka)

        let bare = try loadValid("kinesis:")
        #expect(bare.kinesis == KinesisConfiguration())
    }

    @Test("a stream routed to a backend that is not configured gets a warning, not an error")
    func backendWarnings() throws {
        let yaml = """
            streams:
              - team: a
                app: b
                kinesis_stream: ks
              - team: a
                app: c
                kafka_topic: kt
            """
        let report = load(yaml)
        #expect(report.errors == [])
        #expect(report.configuration != nil)
        #expect(
            report.warnings == [
                ConfigurationProblem(
                    path: "streams[0].kinesis_stream",
                    message: "the kinesis backend is not configured (no 'kinesis:' section); this stream's small events go to the embedded default",
                    line: 4, column: 21
                ),
                ConfigurationProblem(
                    path: "streams[1].kafka_topic",
                    message: "the kafka backend is not configured (no 'kafka:' section); this stream's large events go to the embedded default",
                    line: 7, column: 18
                ),
            ])

        let configured = load(yaml + "\nkinesis: {}\nkafka:\n  bootstrap_servers: k:9092\n")
        #expect(configured.errors == [])
        #expect(configured.warnings == [])
    }
}
