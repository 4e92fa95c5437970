import ArchiveSink
import GatewayApp
import GatewayConfig
import GatewayCore
import KafkaSink
import KinesisSink
import Routing
import Testing

extension RouteDecision {
    /// Whether the archive gets the event: as its route, or as a copy.
    var isArchived: Bool { route.sink == .archive || copies.contains(.archive) }
}

@Suite("Router")
struct RouterTests {
    /// The seed's stream with both backends switched on.
    static func bothBackends(threshold: Int = 100) -> Configuration {
        var configuration = Configuration(
            streams: [
                StreamConfiguration(team: "rpp", app: "promo-clicks", kinesisStream: "k-stream", kafkaTopic: "k-topic"),
                StreamConfiguration(team: "web", app: "only-kinesis", kinesisStream: "web-stream"),
                StreamConfiguration(team: "web", app: "only-kafka", kafkaTopic: "web-topic"),
                StreamConfiguration(team: "web", app: "local"),
                StreamConfiguration(team: "web", app: "override", kinesisStream: "o-stream", kafkaTopic: "o-topic", largeMessageThresholdKB: 1),
                StreamConfiguration(team: "web", app: "no-copy", kinesisStream: "n-stream", archive: false),
            ],
            defaultStream: StreamReference(team: "web", app: "local")
        )
        configuration.routing.largeMessageThresholdKB = threshold
        configuration.kinesis = KinesisConfiguration()
        configuration.kafka = KafkaConfiguration()
        return configuration
    }

    let router = makeRouter(configuration: bothBackends())

    func decide(_ team: String, _ app: String, payload: Int, record: Int? = nil, large: Bool = false) throws -> RouteDecision {
        try router.decide(
            stream: StreamReference(team: team, app: app), payloadBytes: payload, recordBytes: record ?? payload + 150, largeMessage: large
        )
    }

    @Test("small events go to Kinesis, large ones to Kafka, the threshold itself is small")
    func sizeClasses() throws {
        #expect(try decide("rpp", "promo-clicks", payload: 200).route == .kinesis(stream: "k-stream"))
        #expect(try decide("rpp", "promo-clicks", payload: 100 * 1024).route == .kinesis(stream: "k-stream"))
        let large = try decide("rpp", "promo-clicks", payload: 100 * 1024 + 1)
        #expect(large.route == .kafka(topic: "k-topic"))
        #expect(large.isLarge)
    }

    @Test("large_message: true forces the large route")
    func forcedLarge() throws {
        let decision = try decide("rpp", "promo-clicks", payload: 10, large: true)
        #expect(decision.route == .kafka(topic: "k-topic"))
        #expect(decision.isLarge)
    }

    @Test("a per-stream threshold overrides the global one")
    func perStreamThreshold() throws {
        #expect(try decide("web", "override", payload: 1024).route == .kinesis(stream: "o-stream"))
        #expect(try decide("web", "override", payload: 1025).route == .kafka(topic: "o-topic"))
    }

    @Test("a stream with one backend sends everything there")
    func singleBackend() throws {
        #expect(try decide("web", "only-kinesis", payload: 500 * 1024).route == .kinesis(stream: "web-stream"))
        #expect(try decide("web", "only-kafka", payload: 10).route == .kafka(topic: "web-topic"))
    }

    @Test("a stream with no backend uses the embedded default, which is the archive")
    func localRoute() throws {
        let decision = try decide("web", "local", payload: 10)
        #expect(decision.route == .local)
        #expect(decision.isArchived)
    }

    @Test("archive copies follow the stream's archive flag")
    func archiveCopies() throws {
        #expect(try decide("rpp", "promo-clicks", payload: 10).isArchived)
        #expect(try decide("web", "no-copy", payload: 10).isArchived == false)
    }

    @Test("a record too large for every route it may take names the largest limit")
    func tooLarge() throws {
        let error = #expect(throws: RoutingError.self) {
            try decide("web", "only-kinesis", payload: 1_048_576, record: 1_048_577)
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.limitBytes == 1_048_576)
        #expect(error?.message.contains("1048576") == true)

        let large = #expect(throws: RoutingError.self) {
            try decide("rpp", "promo-clicks", payload: 9_000_000, record: 9_000_200)
        }
        #expect(large?.limitBytes == 8_388_608)
    }

    @Test("a small record over the Kinesis limit falls back to the stream's Kafka topic")
    func fallbackToKafka() throws {
        let router = makeRouter(configuration: Self.bothBackends(threshold: 5000))
        let decision = try router.decide(
            stream: StreamReference(team: "rpp", app: "promo-clicks"), payloadBytes: 2_000_000, recordBytes: 2_000_200, largeMessage: false
        )
        #expect(decision.route == .kafka(topic: "k-topic"))
    }

    @Test("a backend without its config section does not count")
    func backendSwitchedOff() throws {
        var configuration = Self.bothBackends()
        configuration.kinesis = nil
        configuration.kafka = nil
        let router = makeRouter(configuration: configuration)
        let decision = try router.decide(
            stream: StreamReference(team: "rpp", app: "promo-clicks"), payloadBytes: 10, recordBytes: 100, largeMessage: false
        )
        #expect(decision.route == .local)
    }

    @Test("stream lookup: known, unknown, default, half-named")
    func streamLookup() throws {
        #expect(try router.stream(team: "rpp", app: "promo-clicks") == StreamReference(team: "rpp", app: "promo-clicks"))
        #expect(try router.stream(team: nil, app: nil) == StreamReference(team: "web", app: "local"))
        #expect(throws: RoutingError.self) { try router.stream(team: "nope", app: "x") }
        let unknown = #expect(throws: RoutingError.self) { try router.stream(team: "nope", app: "x") }
        #expect(unknown?.code == .unknownStream)
        let half = #expect(throws: RoutingError.self) { try router.stream(team: "rpp", app: nil) }
        #expect(half?.code == .missingStream)

        let noDefault = makeRouter(configuration: Configuration(streams: [StreamConfiguration(team: "a", app: "b")]))
        let missing = #expect(throws: RoutingError.self) { try noDefault.stream(team: nil, app: nil) }
        #expect(missing?.code == .missingStream)
    }
}
