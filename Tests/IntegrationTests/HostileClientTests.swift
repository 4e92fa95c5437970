import Foundation
import GatewayTesting
import Testing

private let hostileScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Hostile/hostile.py").path

/// One `hostile.py` sub-command running as its own process (a ``TestProcess``), its summary written to `out`.
private final class HostileRun: Sendable {
    let name: String
    let out: URL
    private let process: TestProcess

    init(_ command: String, name: String? = nil, port: Int, directory: URL, arguments: [String]) throws {
        self.name = name ?? command
        out = directory.appendingPathComponent("\(self.name).json")
        process = try TestProcess(
            TestProcess.Command("python3", [hostileScript, command, "--port", "\(port)", "--out", out.path] + arguments),
            log: directory.appendingPathComponent("\(self.name).log"))
    }

    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus ?? -1 }

    func kill() {
        process.kill()
    }

    /// The summary the run wrote, nil if it wrote none.
    var summary: [String: Any]? {
        guard let data = try? Data(contentsOf: out) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    var log: String { process.log }
}

/// `statuses` of a summary as `[status: count]`.
private func statuses(_ summary: [String: Any]?) -> [String: Int] {
    (summary?["statuses"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
}

@Suite("Hostile clients against the sluice binary", .serialized, .timeLimit(.minutes(4)))
struct HostileClientTests {
    @Test(
        "a good client keeps being served while attackers mutate, break framing, bomb, slowloris and flood; no 500, no crash, nothing acknowledged lost"
    )
    func hostileClients() async throws {
        let directory = try makeTemporaryDirectory("sluice-hostile")
        let gateway = try SluiceProcess(directory: directory, config: testConfig(extra: edgeServerSection(), archiveInterval: 5))
        let port = gateway.port
        let attackSeconds = 40
        let goodSeconds = attackSeconds + 8

        let ready = directory.appendingPathComponent("good.ready")
        let good = try HostileRun(
            "good", port: port, directory: directory,
            arguments: ["--duration", "\(goodSeconds)", "--rate", "200", "--connections", "4", "--ready", ready.path])
        defer { good.kill() }
        let connected = try await eventually(timeout: .seconds(20)) {
            FileManager.default.fileExists(atPath: ready.path) || !good.isRunning
        }
        #expect(connected && good.isRunning, "the good client did not connect: \(good.log.suffix(2000))")

        let duration = ["--duration", "\(attackSeconds)"]
        let attackers = try [
            HostileRun("mutate", port: port, directory: directory, arguments: duration + ["--concurrency", "12", "--seed", "7"]),
            HostileRun("framing", port: port, directory: directory, arguments: duration + ["--concurrency", "4", "--seed", "11"]),
            HostileRun("bombs", port: port, directory: directory, arguments: duration + ["--concurrency", "2", "--max-body-kb", "64"]),
            HostileRun(
                "slowloris", port: port, directory: directory,
                arguments: duration + ["--connections", "300", "--hold", "5", "--pause", "3"]),
            HostileRun(
                "flood", port: port, directory: directory,
                arguments: duration + ["--concurrency", "8", "--connections", "100", "--hold", "4", "--pause", "3", "--max-requests", "8000"]),
        ]
        defer { attackers.forEach { $0.kill() } }

        // Watch the gateway while everything runs: alive at every look, and its peak RSS.
        var diedAt: Duration?
        let started = ContinuousClock.now
        let everyoneDone = try await eventually(timeout: .seconds(goodSeconds + 40)) {
            if diedAt == nil && !gateway.isRunning { diedAt = ContinuousClock.now - started }
            return !good.isRunning && attackers.allSatisfy { !$0.isRunning }
        }
        #expect(everyoneDone, "the clients did not finish within \(goodSeconds + 40) s")
        #expect(diedAt == nil, "the gateway died \(diedAt.map { "\($0)" } ?? "") into the attack; log tail:\n\(gateway.log.suffix(4000))")
        #expect(gateway.isRunning, "the gateway is not running at the end")
        let peakKiB = peakResidentKiB(pid: gateway.pid) ?? -1

        // Report.
        print("hostile: gateway peak RSS (VmHWM) \(peakKiB / 1024) MiB")
        for run in [good] + attackers {
            let summary = run.summary
            let sent = (summary?["sent"] as? NSNumber)?.intValue ?? -1
            let seen = statuses(summary).sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            var line = "hostile: \(run.name): exit \(run.exitStatus), sent \(sent), statuses [\(seen)]"
            if let notes = summary?["notes"] as? [String: Any], !notes.isEmpty { line += " notes \(notes)" }
            if let hold = summary?["hold"] as? [String: Any] {
                line += "; held waves: sent \(hold["sent"] ?? "?"), statuses \(statuses(hold)), notes \(hold["notes"] ?? "none")"
            }
            if let cases = summary?["per_case"] as? [String: Any] { line += "; cases \(cases.count)" }
            print(line)
            #expect(run.exitStatus == 0 && summary != nil, "\(run.name) failed (exit \(run.exitStatus)): \(run.log.suffix(3000))")
            #expect(statuses(summary)["500"] == nil, "\(run.name) saw 500s: \(summary?["samples_500"] ?? "none")")
            if let hold = summary?["hold"] as? [String: Any] {
                #expect(statuses(hold)["500"] == nil, "flood (held connections) saw 500s: \(hold["samples_500"] ?? "none")")
            }
        }
        let mutateSent = (attackers[0].summary?["sent"] as? NSNumber)?.intValue ?? 0
        #expect(mutateSent >= 1000, "the mutation attacker sent only \(mutateSent) requests; the test means thousands")
        #expect(peakKiB > 0 && peakKiB < 300 * 1024, "peak RSS \(peakKiB) KiB, the bound is 300 MiB")

        let goodSummary = good.summary
        let goodSent = (goodSummary?["sent"] as? NSNumber)?.intValue ?? 0
        let okWithin1s = (goodSummary?["ok_within_1s"] as? NSNumber)?.intValue ?? 0
        let acked = goodSummary?["acked"] as? [String] ?? []
        print(
            "hostile: good client: \(goodSent) sent, \(okWithin1s) answered 2xx within 1 s, \(acked.count) acknowledged, p50 \(goodSummary?["p50_ms"] ?? "?") ms, p99 \(goodSummary?["p99_ms"] ?? "?") ms, max \(goodSummary?["max_ms"] ?? "?") ms"
        )
        #expect(goodSent >= 200 * goodSeconds / 2, "the good client sent only \(goodSent) requests in \(goodSeconds) s at 200/s")
        #expect(
            goodSent > 0 && Double(okWithin1s) >= 0.95 * Double(goodSent),
            "the good client: only \(okWithin1s) of \(goodSent) answered 2xx within 1 s; statuses \(statuses(goodSummary))")

        // SIGTERM: exit 0, and every acknowledged event is in the archive.
        let status = gateway.terminate()
        #expect(status == 0, "sluice exited \(status) on SIGTERM; log tail:\n\(gateway.log.suffix(3000))")
        let archive = try ArchiveContents.read(directory.appendingPathComponent("archive").path)
        #expect(archive.corrupt.isEmpty, "corrupt archive files: \(archive.corrupt.prefix(5))")
        let archived = Set(archive.eventIDs)
        let missing = acked.filter { !archived.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(acked.count) acknowledged events are not in the archive, e.g. \(missing.prefix(5))")
        print("hostile: archive holds \(archive.eventIDs.count) events, \(acked.count - missing.count) of the good client's \(acked.count)")
    }
}
