public import AsyncHTTPClient
import AWSCredentials
import AWSJSONClient
public import GatewayConfig
import KafkaSink
public import KinesisProducer
public import Logging
import ServiceLifecycle

/// Keeps a shared HTTP client alive for the backends and shuts it down after them.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Closes the Kafka sink's producer after its dispatcher drained and flushed it.
struct KafkaSinkService: Service {
    let sink: KafkaSink

    func run() async throws {
        try? await gracefulShutdown()
        await sink.close()
    }
}

extension KinesisAPI {
    /// The Kinesis client for the `kinesis:` section, as `sluice serve` and `sluice verify` use it: `region` (or the
    /// environment's), the default AWS credential chain, and `endpoint_url` (or `AWS_ENDPOINT_URL_KINESIS`,
    /// `AWS_ENDPOINT_URL`, else the AWS endpoint of the region).
    public static func configured(
        _ kinesis: KinesisConfiguration?, httpClient: HTTPClient, environment: [String: String], timeout: Duration,
        logger: Logger
    ) -> KinesisAPI {
        let region = AWSRegionResolver.resolve(configured: kinesis?.region, environment: environment)
        let credentials = DefaultCredentialChain(environment: environment, httpClient: httpClient, region: region, logger: logger)
        let endpoint = AWSJSONClient.Endpoint.standard(
            service: "kinesis", targetPrefix: "Kinesis_20131202", region: region,
            override: kinesis?.endpointURL ?? environment["AWS_ENDPOINT_URL_KINESIS"] ?? environment["AWS_ENDPOINT_URL"]
        )
        return KinesisAPI(
            client: AWSJSONClient(httpClient: httpClient, endpoint: endpoint, credentials: credentials, timeout: timeout))
    }
}

extension KinesisProducerConfiguration {
    /// The producer's knobs from the `kinesis:` section.
    init(_ kinesis: KinesisConfiguration) {
        self.init()
        aggregation = kinesis.aggregation
        aggregationMaxSize = kinesis.aggregationMaxSize
        maxBufferedTime = .milliseconds(kinesis.recordMaxBufferedTimeMs)
        flushWhenIdle = kinesis.flushWhenIdle
        recordTTL = .milliseconds(kinesis.recordTTLMs)
        maxOutstandingRecords = kinesis.maxOutstandingRecords
        maxOutstandingBytes = kinesis.maxOutstandingMB << 20
        rateLimitPercent = kinesis.rateLimit
        failIfThrottled = kinesis.failIfThrottled
        collectionMaxCount = kinesis.collectionMaxCount
        collectionMaxSize = kinesis.collectionMaxSize
        maxConnections = kinesis.maxConnections
        requestTimeout = .milliseconds(kinesis.requestTimeoutMs)
        minBackoff = .milliseconds(kinesis.minBackoffMs)
        maxBackoff = .milliseconds(kinesis.maxBackoffMs)
        shardMapRefreshInterval = .milliseconds(kinesis.shardMapRefreshMs)
    }
}
