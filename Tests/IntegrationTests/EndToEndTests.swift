import Foundation
import GatewayTesting
import Testing

@Suite("End to end through the sluice binary", .serialized, .timeLimit(.minutes(3)))
struct EndToEndTests {
    @Test("events posted concurrently reach the archive exactly once, with their payload bytes, after SIGTERM")
    func postThenTerminate() async throws {
        let directory = try makeTemporaryDirectory()
        let gateway = try SluiceProcess(directory: directory, config: testConfig())
        let client = GatewayClient(baseURL: gateway.baseURL)
        let ids = (0..<400).map { "e2e-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in stride(from: worker, to: ids.count, by: 8) {
                        let path = index % 10 == 0 ? "/v1/events/confirmed" : "/v1/events"
                        let reply = try await client.post(path, eventBody(ids[index]))
                        #expect(reply.status == (index % 10 == 0 ? 200 : 202), "\(reply.body)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let batch = try await client.post(
            "/v1/events/batch", "\(eventBody("batch-0"))\n\(eventBody("batch-1"))\n", contentType: "application/x-ndjson")
        #expect(batch.status == 200)
        #expect(gateway.terminate() == 0)

        let archive = try ArchiveContents.read(directory.appendingPathComponent("archive").path)
        #expect(archive.corrupt.isEmpty)
        #expect(archive.eventIDs.sorted() == (ids + ["batch-0", "batch-1"]).sorted())
        for line in archive.lines {
            let id = try #require(line.eventID)
            let text = String(decoding: line.bytes, as: UTF8.self)
            #expect(text.hasSuffix(",\"payload\":{\"id\":\"\(id)\",\"pad\":\"\(String(repeating: "p", count: 100))\"}}"))
            #expect(line.file.hasPrefix("team=web/app=clicks/dt="))
        }
        #expect(gateway.log.contains("\"message\":\"stopped\""))
    }

    @Test("sluice serve without --config runs the embedded default")
    func embeddedDefault() async throws {
        let directory = try makeTemporaryDirectory()
        let gateway = try SluiceProcess(directory: directory, config: nil)
        let reply = try await GatewayClient(baseURL: gateway.baseURL).post("/v1/events", #"{"event_id":"default-1","payload":{}}"#)
        #expect(reply.status == 202)
        #expect(gateway.terminate() == 0)
        let archive = try ArchiveContents.read(directory.appendingPathComponent("data/archive").path)
        #expect(archive.eventIDs == ["default-1"])
        #expect(archive.files.first?.hasPrefix("team=default/app=default/") == true)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/wal").path))
    }
}

@Suite("Command line")
struct CommandLineTests {
    @Test("check-config names every problem with its path and exits 1; a good file exits 0")
    func checkConfig() throws {
        let directory = try makeTemporaryDirectory()
        let bad = """
            server:
              port: http
            streams:
              - team: a
                app: b
              - team: c
              - team: d
                app: e
                kinesis_strem: typo
            """
        try bad.write(to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let (status, output) = try SluiceProcess.run(["check-config", "bad.yaml"], in: directory)
        #expect(status == 1)
        #expect(output.contains("server.port"))
        #expect(output.contains("streams[1].app: missing"))
        #expect(output.contains("streams[2].kinesis_strem"))

        try testConfig().write(to: directory.appendingPathComponent("good.yaml"), atomically: true, encoding: .utf8)
        let good = try SluiceProcess.run(["check-config", "good.yaml"], in: directory)
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("OK"))
    }

    @Test("serve refuses a config with errors and says why")
    func serveRefusesBadConfig() throws {
        let directory = try makeTemporaryDirectory()
        try "streams:\n  - team: a\n".write(to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let (status, output) = try SluiceProcess.run(["serve", "--config", "bad.yaml", "--port", "0"], in: directory)
        #expect(status == 1)
        #expect(output.contains("streams[0].app: missing"))
    }
}

@Suite("Restart", .timeLimit(.minutes(3)))
struct RestartTests {
    @Test("a restarted gateway with nothing left to deliver stops promptly on SIGTERM")
    func restartIdle() async throws {
        let directory = try makeTemporaryDirectory()
        let first = try SluiceProcess(directory: directory, config: testConfig())
        #expect(try await GatewayClient(baseURL: first.baseURL).post("/v1/events", eventBody("r-1")).status == 202)
        #expect(first.terminate() == 0)
        let second = try SluiceProcess(directory: directory, config: testConfig(), logName: "second.log")
        let started = ContinuousClock.now
        #expect(second.terminate() == 0)
        // The bug this guards against spun forever; 30 s leaves room for a loaded CI machine.
        #expect(ContinuousClock.now - started < .seconds(30))
        let archive = try ArchiveContents.read(directory.appendingPathComponent("archive").path)
        #expect(archive.eventIDs == ["r-1"])
    }
}
