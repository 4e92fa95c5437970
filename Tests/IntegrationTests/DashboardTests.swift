import Foundation
import GatewayTesting
import Testing

@Suite("The dashboard in headless Chromium, through the binary", .timeLimit(.minutes(3)))
struct DashboardTests {
    @Test("the dashboard's figures match /metrics and /health, and its live tail shows events posted during the test")
    func dashboardInChromium() async throws {
        let directory = try makeTemporaryDirectory("dashboard")
        let gateway = try SluiceProcess(
            directory: directory,
            config: """
                streams:
                  - {team: shop, app: orders}
                  - {team: shop, app: refunds}
                durability: {dir: ./wal}
                archive: {url: file://./archive}
                """)
        defer { _ = gateway.terminate() }
        // The screenshot is kept as the test's artefact (under .build, next to the build products).
        let artefacts = KafkaPeers.packageRoot().appendingPathComponent(".build/test-artefacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let screenshot = artefacts.appendingPathComponent("dashboard.png").path
        try? FileManager.default.removeItem(atPath: screenshot)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("dashboard_check.py").path
        let environment = ProcessInfo.processInfo.environment.merging(["SE_OFFLINE": "true"]) { _, new in new }
        let result = try runCommand("python3", [script, gateway.baseURL, screenshot], environment: environment)
        #expect(result.status == 0, "dashboard_check.py: \(result.output)\n\(result.errors)")
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let checks = report?["checks"] as? [String: Bool] ?? [:]
        #expect(checks.count == 5 && checks.values.allSatisfy { $0 }, "\(checks)")
        #expect(FileManager.default.fileExists(atPath: screenshot))
    }
}
