import Foundation
import GatewayTesting
import Testing

@Suite("sluice bench and verify against a live gateway", .serialized, .timeLimit(.minutes(3)))
struct BenchTests {
    @Test("a short bench run's counts add up and verify finds every acknowledged id; a missing id fails verify")
    func benchThenVerify() async throws {
        let directory = try makeTemporaryDirectory()
        let gateway = try SluiceProcess(directory: directory, config: testConfig())
        let bench = try SluiceProcess.run(
            [
                "bench", "--url", gateway.baseURL, "--connections", "4", "--duration", "2s", "--warmup", "0s",
                "--size", "300", "--team", "web", "--app", "clicks", "--ids", "acked.txt", "--json", "out.json", "--plot", "out.svg",
            ],
            in: directory
        )
        #expect(bench.status == 0, "\(bench.output)")
        #expect(gateway.terminate() == 0)

        let result = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("out.json"))) as? [String: Any]
        )
        let requests = try #require(result["requests"] as? Int)
        let statuses = try #require(result["status_counts"] as? [String: Int])
        let acknowledged = try #require(result["events_acknowledged"] as? Int)
        #expect(requests > 0)
        #expect(statuses.values.reduce(0, +) + (result["connection_errors"] as? Int ?? 0) == requests)
        #expect(statuses["202"] == acknowledged)
        let ids = try String(contentsOf: directory.appendingPathComponent("acked.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(ids.count == acknowledged + (result["warmup_requests"] as? Int ?? 0))
        #expect(Set(ids).count == ids.count)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.svg").path))

        let verified = try SluiceProcess.run(["verify", "--ids", "acked.txt", "--archive", "archive"], in: directory)
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("missing     0"))

        try (ids + ["never-sent"]).joined(separator: "\n").write(
            to: directory.appendingPathComponent("tampered.txt"), atomically: true, encoding: .utf8
        )
        let tampered = try SluiceProcess.run(["verify", "--ids", "tampered.txt", "--archive", "archive"], in: directory)
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("never-sent"))
    }
}
