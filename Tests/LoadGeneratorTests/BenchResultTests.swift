import Foundation
import LoadGenerator
import Testing

@Suite("Bench results")
struct BenchResultTests {
    func result(mode: LoadMode = .openLoop(eventsPerSecond: 100)) throws -> BenchResult {
        var configuration = BenchConfiguration(target: BenchTarget(host: "127.0.0.1", port: 8080), idPrefix: "run")
        configuration.mode = mode
        configuration.duration = .seconds(2)
        configuration.collectAcknowledgedIDs = true
        var recorder = LoopRecorder()
        for value in 1...200 { recorder.latency.record(micros: UInt64(value * 10)) }
        recorder.serverLatency.record(micros: 500)
        recorder.statusCounts = [202: 198, 503: 2]
        recorder.requests = 200
        recorder.events = 200
        recorder.eventsAcknowledged = 198
        recorder.bytesSent = 200 * 600
        recorder.perSecond = [SecondCounts(requests: 100, events: 99, errors: 1), SecondCounts(requests: 100, events: 99, errors: 1)]
        recorder.acknowledgedEvents = [3, 1, 2]
        let factory = try EventFactory(shape: configuration.shape, idPrefix: "run")
        return BenchResult(
            configuration: configuration, connectionsOpened: 64, firstConnectError: nil, recorder: recorder, measuredSeconds: 2,
            factory: factory
        )
    }

    @Test("the JSON report has the keys scripts/benchmark reads")
    func jsonContract() throws {
        let json = try result().json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["events_acknowledged"] as? Int == 198)
        #expect(object["acknowledged_events_per_second"] as? Double == 99)
        #expect(object["requests_per_second"] as? Double == 100)
        #expect(object["unsent"] as? Int == 0)
        #expect(object["status_counts"] as? [String: Int] == ["202": 198, "503": 2])
        let latency = try #require(object["latency_us"] as? [String: Any])
        for key in ["p50", "p90", "p99", "p99_9", "p99_99", "max", "min", "mean", "count"] { #expect(latency[key] != nil, "latency_us.\(key)") }
        #expect(latency["p50"] as? Int == 1000)
        let server = try #require(object["server_latency_us"] as? [String: Any])
        #expect(server["p99"] as? Int == 500)
        #expect((object["per_second"] as? [Any])?.count == 2)
        #expect((object["spectrum"] as? [Any])?.isEmpty == false)
        #expect(object["send_lag_us"] != nil)
    }

    @Test("the ids file lists acknowledged events in order")
    func ids() throws {
        #expect(try result().acknowledgedIDsText() == "run-000000000001\nrun-000000000002\nrun-000000000003\n")
    }

    @Test("the table names every figure")
    func table() throws {
        let table = try result().table()
        for label in ["requests", "events", "bytes sent", "status codes", "errors", "latency (ms)", "server (ms)", "send lag"] {
            #expect(table.contains(label), "\(label)")
        }
        #expect(table.contains("202: 198, 503: 2"))
    }

    @Test("an unreachable target is a typed error, not a crash")
    func unreachable() async throws {
        var configuration = BenchConfiguration(target: BenchTarget(host: "127.0.0.1", port: 1), idPrefix: "run")
        configuration.connections = 2
        configuration.duration = .milliseconds(100)
        configuration.warmup = .zero
        do {
            _ = try await BenchRunner.run(configuration)
            Issue.record("the run succeeded against a closed port")
        } catch {
            #expect(error.code == .unreachable)
            #expect(error.message.contains("is the gateway running"))
        }
    }

    @Test("invalid configurations are refused before connecting")
    func invalid() async {
        var configuration = BenchConfiguration(target: BenchTarget(host: "127.0.0.1", port: 1), idPrefix: "run")
        configuration.connections = 0
        await #expect(throws: BenchError.self) { _ = try await BenchRunner.run(configuration) }
    }
}
