import Foundation
import GatewayTesting
import Synchronization
import Testing

@Suite("Durability through the sluice binary", .serialized, .timeLimit(.minutes(3)))
struct DurabilityTests {
    @Test("kill -9 mid-stream loses no acknowledged event; after restart every acked id is in the archive, no line corrupt")
    func crashMidStream() async throws {
        let directory = try makeTemporaryDirectory()
        let config = testConfig(archiveInterval: 0.3)
        let gateway = try SluiceProcess(directory: directory, config: config)
        let client = GatewayClient(baseURL: gateway.baseURL)
        let progress = CrashProgress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var index = 0
                    while !progress.crashed.load(ordering: .relaxed) {
                        let id = "crash-\(worker)-\(index)"
                        index += 1
                        guard let reply = try? await client.post("/v1/events", eventBody(id, payloadBytes: 500)) else { continue }
                        if (200..<300).contains(reply.status) { progress.acked.withLock { $0.append(id) } }
                    }
                }
            }
            #expect(try await eventually { progress.acked.withLock { $0.count } >= 1500 })
            gateway.kill()
            progress.crashed.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        let ackedIDs = progress.acked.withLock { $0 }

        let restarted = try SluiceProcess(directory: directory, config: config, logName: "restart.log")
        let restartedClient = GatewayClient(baseURL: restarted.baseURL)
        #expect(try await eventually { try await restartedClient.archiveBacklog() == 0 })
        #expect(restarted.terminate() == 0)

        let archive = try ArchiveContents.read(directory.appendingPathComponent("archive").path)
        #expect(archive.corrupt.isEmpty)
        let archived = Set(archive.eventIDs)
        let missing = ackedIDs.filter { !archived.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged events missing, e.g. \(missing.prefix(5))")
        #expect(archive.lines.allSatisfy { $0.object?["payload"] != nil })
    }

    /// Posts `count` events one by one and returns each one's byte offset in the (single) segment.
    func postSequentially(_ client: GatewayClient, count: Int) async throws -> [Int] {
        var offsets: [Int] = []
        for index in 0..<count {
            let reply = try await client.post("/v1/events", eventBody("torn-\(index)", payloadBytes: 40 + index))
            #expect(reply.status == 202)
            let log = try #require(reply.object["log"] as? [String: Any])
            offsets.append(try #require(log["offset"] as? Int))
        }
        return offsets
    }

    enum Damage: CustomStringConvertible {
        case cut(Int)
        case flip(Int)
        var description: String {
            switch self {
            case .cut(let offset): "cut at \(offset)"
            case .flip(let offset): "flip at \(offset)"
            }
        }
    }

    @Test("a torn or damaged segment tail: recovery keeps every complete record before the damage and never delivers a damaged one")
    func tornWrites() async throws {
        // Build one crashed log: 30 events acknowledged, then kill -9 before the archive published anything.
        let origin = try makeTemporaryDirectory()
        let config = testConfig(archiveInterval: 600)
        let first = try SluiceProcess(directory: origin, config: config)
        let offsets = try await postSequentially(GatewayClient(baseURL: first.baseURL), count: 30)
        first.kill()
        let segment = origin.appendingPathComponent("wal/00000000000000000000.seg")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: segment.path)[.size] as? Int)
        let ends = Array(offsets.dropFirst()) + [size]

        let damages: [Damage] = [
            .cut(size - 1), .cut(ends[20] - 7), .cut(offsets[10] + 3), .cut(offsets[25]), .cut(offsets[0] + 1),
            .flip(offsets[15] + 2), .flip(ends[22] - 3), .flip(offsets[29] + 30),
        ]
        for damage in damages {
            let directory = try makeTemporaryDirectory()
            try FileManager.default.removeItem(at: directory)
            try FileManager.default.copyItem(at: origin, to: directory)
            let copy = directory.appendingPathComponent("wal/00000000000000000000.seg")
            let handle = try FileHandle(forUpdating: copy)
            let survivors: Int
            switch damage {
            case .cut(let offset):
                try handle.truncate(atOffset: UInt64(offset))
                survivors = ends.filter { $0 <= offset }.count
            case .flip(let offset):
                try handle.seek(toOffset: UInt64(offset))
                let byte = try #require(try handle.read(upToCount: 1)).first ?? 0
                try handle.seek(toOffset: UInt64(offset))
                try handle.write(contentsOf: Data([byte ^ 0x5A]))
                survivors = offsets.filter { $0 + 0 <= offset }.count - 1
            }
            try handle.close()

            let gateway = try SluiceProcess(directory: directory, config: config, logName: "recovered.log")
            let client = GatewayClient(baseURL: gateway.baseURL)
            let next = try await client.post("/v1/events", eventBody("after-recovery"))
            #expect(next.status == 202)
            #expect((next.object["log"] as? [String: Any])?["sequence"] as? Int == survivors, "\(damage)")
            #expect(gateway.terminate() == 0)
            let isCleanCut: Bool
            if case .cut(let offset) = damage { isCleanCut = offsets.contains(offset) } else { isCleanCut = false }
            if survivors < 30, !isCleanCut {
                #expect(gateway.log.contains("truncated"), "\(damage): recovery should log the truncation")
            }
            let archive = try ArchiveContents.read(directory.appendingPathComponent("archive").path)
            #expect(archive.corrupt.isEmpty, "\(damage)")
            #expect(archive.eventIDs == (0..<survivors).map { "torn-\($0)" } + ["after-recovery"], "\(damage)")
        }
    }

    @Test("an archive outage keeps events in the log; after repair everything arrives, nothing twice")
    func backendOutage() async throws {
        let directory = try makeTemporaryDirectory()
        let gateway = try SluiceProcess(directory: directory, config: testConfig(archiveInterval: 0.2))
        let client = GatewayClient(baseURL: gateway.baseURL)
        var ids: [String] = []
        func post(_ range: Range<Int>) async throws {
            for index in range {
                let id = "outage-\(index)"
                let reply = try await client.post("/v1/events", eventBody(id))
                #expect(reply.status == 202)
                ids.append(id)
            }
        }
        try await post(0..<50)
        #expect(try await eventually { try await client.archiveBacklog() == 0 })

        // Break the destination: a regular file where the archive directory was.
        let archive = directory.appendingPathComponent("archive")
        let moved = directory.appendingPathComponent("archive.moved")
        try FileManager.default.moveItem(at: archive, to: moved)
        try Data("not a directory".utf8).write(to: archive)
        try await post(50..<150)
        #expect(try await eventually { try await client.get("/ready").status == 503 })
        let health = try await client.get("/health")
        #expect(health.body.contains("\"healthy\":false"))
        #expect(try await client.archiveBacklog() > 0)

        // Repair it.
        try FileManager.default.removeItem(at: archive)
        try FileManager.default.moveItem(at: moved, to: archive)
        #expect(try await eventually { try await client.archiveBacklog() == 0 })
        #expect(try await eventually { try await client.get("/ready").status == 200 })
        try await post(150..<200)
        #expect(gateway.terminate() == 0)

        let contents = try ArchiveContents.read(archive.path)
        #expect(contents.corrupt.isEmpty)
        #expect(contents.eventIDs.count == ids.count, "no duplicates within one run")
        #expect(Set(contents.eventIDs) == Set(ids))
    }

    @Test("with a stalled sink the log fills to max_disk_mb: 503 + Retry-After, memory flat, intake resumes after draining")
    func quota() async throws {
        let directory = try makeTemporaryDirectory()
        let archive = directory.appendingPathComponent("archive")
        try Data("stalled".utf8).write(to: archive)
        let config = testConfig(archiveInterval: 0.2, durability: "  max_disk_mb: 4\n  segment_size_mb: 1")
        let gateway = try SluiceProcess(directory: directory, config: config)
        let client = GatewayClient(baseURL: gateway.baseURL)
        var acked: [String] = []
        var refusal: GatewayClient.Reply?
        for index in 0..<2000 {
            let reply = try await client.post("/v1/events", eventBody("quota-\(index)", payloadBytes: 10_000))
            if reply.status == 503 {
                refusal = reply
                break
            }
            #expect(reply.status == 202)
            acked.append("quota-\(index)")
        }
        let refused = try #require(refusal)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.body.contains("backpressure"))
        #expect(acked.count > 100)
        let rssAtQuota = try #require(gateway.residentKiB)
        for index in 0..<200 {
            let reply = try await client.post("/v1/events", eventBody("refused-\(index)", payloadBytes: 10_000))
            #expect(reply.status == 503)
        }
        let rssAfter = try #require(gateway.residentKiB)
        #expect(rssAfter < 300 * 1024, "RSS \(rssAfter) KiB")
        #expect(rssAfter < rssAtQuota + 64 * 1024, "RSS grew from \(rssAtQuota) to \(rssAfter) KiB while refusing")
        let health = try await client.get("/health")
        #expect(health.body.contains("\"refusing_intake\":true"))

        try FileManager.default.removeItem(at: archive)
        #expect(
            try await eventually {
                let reply = try await client.post("/v1/events", eventBody("resumed", payloadBytes: 10))
                return reply.status == 202
            })
        acked.append("resumed")
        #expect(try await eventually { try await client.archiveBacklog() == 0 })
        #expect(gateway.terminate() == 0)
        let contents = try ArchiveContents.read(archive.path)
        let archived = Set(contents.eventIDs)
        #expect(acked.allSatisfy { archived.contains($0) })
    }
}

/// What the posting workers share in the crash test.
final class CrashProgress: Sendable {
    let acked = Mutex<[String]>([])
    let crashed = Atomic<Bool>(false)
}
