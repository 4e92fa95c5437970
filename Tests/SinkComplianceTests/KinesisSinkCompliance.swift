import AWSCredentials
import AWSJSONClient
import AWSSigV4
import AsyncHTTPClient
import CoreMetrics
import Delivery
import Foundation
import GatewayCore
import GatewayTesting
import KinesisAPI
import KinesisAggregation
import KinesisSink
import Logging
import SinkTesting
import Synchronization
import Testing

/// The Kinesis sink against the compliance suite, with moto as the real peer: a stream on a running moto; the
/// failing destination is a closed port, healed by starting moto on it and creating the stream.
struct KinesisFixture: SinkFixture {
    /// A stream on a moto server (started at once, or on ``KinesisFixture/heal(_:)``).
    final class Destination: Sendable {
        let stream: String
        let port: Int
        let logDirectory: URL
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let moto = Mutex<PeerProcess?>(nil)

        init(stream: String, port: Int, logDirectory: URL) {
            self.stream = stream
            self.port = port
            self.logDirectory = logDirectory
        }

        var api: KinesisAPI {
            KinesisAPI(
                client: AWSJSONClient(
                    httpClient: httpClient,
                    endpoint: .init(url: "http://127.0.0.1:\(port)", region: "us-east-1", service: "kinesis", targetPrefix: "Kinesis_20131202"),
                    credentials: StaticCredentialProvider(AWSCredential(accessKeyID: "AKIDCOMPLIANCE", secretAccessKey: "secret")),
                    timeout: .seconds(5)
                ))
        }

        /// Starts moto on the destination's port and creates the stream (two shards).
        func start() async throws {
            let peer = try PeerProcess(
                name: "moto", executable: "python3",
                arguments: [MotoServer.lockedServer, "-H", "127.0.0.1", "-p", "\(port)"], port: port,
                logDirectory: logDirectory)
            moto.withLock { $0 = peer }
            let body = "{\"StreamName\":\(EnvelopeWriter.jsonString(stream)),\"ShardCount\":2}"
            _ = try await api.client.call("CreateStream", body: Array(body.utf8))
        }
    }

    var sinkID: SinkID { .kinesis }
    var receiptKey: String { "kinesis" }
    var requiredMetricLabels: [String] {
        [
            "sluice_kinesis_user_records_sent_total", "sluice_kinesis_put_records_calls_total", "sluice_kinesis_bytes_sent_total",
            "sluice_kinesis_put_records_seconds", "sluice_kinesis_shard_map_refreshes_total",
        ]
    }

    /// Call and per-record failures through ``KinesisRetryLogic``: throttling is throttled (permanent with
    /// `fail_if_throttled`), everything else retriable until `record_ttl_ms`, as with the KPL.
    var retrySamples: [RetrySample] {
        let logic = KinesisRetryLogic()
        func call(_ code: String, status: Int?, kind: AWSErrorKind) -> KinesisError {
            KinesisError(AWSRequestError(code: code, message: "compliance sample", httpStatus: status, kind: kind))
        }
        return [
            RetrySample(
                "ProvisionedThroughputExceededException (record)",
                error: KinesisError(code: .provisionedThroughputExceeded, message: "compliance sample"), logic: logic, expected: .throttled),
            RetrySample(
                "KMSThrottlingException (record)", error: KinesisError(code: .kmsThrottling, message: "compliance sample"), logic: logic,
                expected: .throttled),
            RetrySample(
                "InternalFailure (record)", error: KinesisError(code: .internalFailure, message: "compliance sample"), logic: logic,
                expected: .retriable),
            RetrySample("HTTP 429 (call)", error: call("TooManyRequests", status: 429, kind: .throttling), logic: logic, expected: .throttled),
            RetrySample("HTTP 503 (call)", error: call("ServiceUnavailable", status: 503, kind: .retriable), logic: logic, expected: .retriable),
            RetrySample("ConnectionError (call)", error: call("ConnectionError", status: nil, kind: .retriable), logic: logic, expected: .retriable),
            RetrySample(
                "ResourceNotFoundException (call)", error: call("ResourceNotFoundException", status: 400, kind: .fatal), logic: logic,
                expected: .retriable),
            RetrySample(
                "ProvisionedThroughputExceededException with fail_if_throttled",
                error: KinesisError(code: .provisionedThroughputExceeded, message: "compliance sample"),
                logic: KinesisRetryLogic(isThrottlingFatal: true), expected: .permanent),
        ]
    }

    func makeDestination(name: String) async throws -> Destination {
        let destination = try Self.destination(name)
        try await destination.start()
        return destination
    }

    func makeFailingDestination(name: String) async throws -> Destination {
        try Self.destination(name)
    }

    private static func destination(_ name: String) throws -> Destination {
        let logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        return Destination(stream: name, port: try freeLoopbackPort(), logDirectory: logDirectory)
    }

    func heal(_ destination: Destination) async throws {
        try await destination.start()
    }

    func route(to destination: Destination) -> Route { .kinesis(stream: destination.stream) }

    func makeSink(
        for destination: Destination, options: SinkFixtureOptions, metrics: any MetricsFactory, logger: Logger
    ) async throws -> SinkUnderTest {
        var configuration = KinesisSink.Configuration()
        configuration.maxBufferedTime = options.buffersUntilFlush ? .seconds(3600) : .milliseconds(20)
        configuration.flushWhenIdle = !options.buffersUntilFlush
        configuration.recordTTL = .seconds(3600) // a failing destination must hold records, not expire them
        configuration.minBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(500)
        if let capacity = options.capacity { configuration.maxOutstandingRecords = capacity }
        let sink = KinesisSink(configuration: configuration, api: destination.api, logger: logger, metricsFactory: metrics)
        return SinkUnderTest(sink: sink, services: [sink], isSaturated: { sink.isSaturated })
    }

    func readBack(_ destination: Destination, expected: Int) async throws -> [String] {
        let api = destination.api
        var ids: [String] = []
        for shard in try await api.listShards(stream: destination.stream) {
            var iterator: String? = try await api.trimHorizonIterator(stream: destination.stream, shardID: shard.id)
            while let current = iterator {
                let page = try await api.getRecords(iterator: current)
                for record in page.records {
                    if RecordDeaggregator.isAggregated(record.data) {
                        for user in try RecordDeaggregator.deaggregate(record.data, partitionKey: record.partitionKey) {
                            ids.append(try eventID(of: user.data))
                        }
                    } else {
                        ids.append(try eventID(of: record.data))
                    }
                }
                iterator = page.records.isEmpty ? nil : page.nextShardIterator
            }
        }
        return ids
    }

    func tearDown(_ destination: Destination) async {
        destination.moto.withLock { $0?.stop() }
        try? await destination.httpClient.shutdown()
        try? FileManager.default.removeItem(at: destination.logDirectory)
    }
}

/// The `event_id` of an envelope.
func eventID(of envelope: [UInt8]) throws -> String {
    struct Envelope: Decodable { var event_id: String }
    return try JSONDecoder().decode(Envelope.self, from: Data(envelope)).event_id
}

@Suite("Kinesis sink compliance (moto)", .serialized, .timeLimit(.minutes(5)))
struct KinesisSinkCompliance {
    let compliance = SinkCompliance(fixture: KinesisFixture())

    /// Every check of the suite, present and future: a check added to `SinkComplianceCheck.all` runs here unasked.
    @Test("compliance", arguments: SinkComplianceCheck.all)
    func compliant(_ check: SinkComplianceCheck) async throws {
        try expectCompliant(await compliance.run(check))
    }
}
