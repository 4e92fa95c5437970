import Foundation
import GatewayApp
import GatewayConfig
import GatewayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Builds the production application (the same `buildApplication` that `sluice serve` uses) over temporary directories,
/// runs a test against it, shuts it down gracefully and returns what reached the archive.
struct GatewayFixture {
    let directory: URL
    var configuration: Configuration

    init(_ configure: (inout Configuration) -> Void = { _ in }) throws {
        directory = try makeTemporaryDirectory("sluice-http")
        var configuration = Configuration(
            streams: [StreamConfiguration(team: "default", app: "default"), StreamConfiguration(team: "web", app: "clicks")],
            defaultStream: StreamReference(team: "default", app: "default")
        )
        configuration.server.host = "127.0.0.1"
        configuration.server.port = 0
        configuration.durability.directory = directory.appendingPathComponent("wal").path
        configuration.archive.url = "file://" + directory.appendingPathComponent("archive").path
        configure(&configuration)
        self.configuration = configuration
    }

    var archivePath: String { directory.appendingPathComponent("archive").path }

    /// Runs `body` against the live application, then returns the archive after graceful shutdown.
    @discardableResult
    func run(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws
        -> ArchiveContents
    {
        var logger = Logger(label: "sluice-test")
        logger.logLevel = .warning
        let gateway = try buildApplication(configuration: configuration, logger: logger)
        try await gateway.application.test(setup) { client in try await body(client) }
        return try ArchiveContents.read(archivePath)
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }
}

extension TestClientProtocol {
    /// POSTs raw bytes with a content type.
    func post(
        _ uri: String, _ body: [UInt8], contentType: String? = "application/json", headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    func post(_ uri: String, _ body: String, contentType: String? = "application/json", headers: HTTPFields = [:]) async throws -> TestResponse {
        try await post(uri, Array(body.utf8), contentType: contentType, headers: headers)
    }
}
