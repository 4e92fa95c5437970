import AWSCredentials
import AWSJSONClient
public import AsyncHTTPClient
public import GatewayConfig
import GatewayCore
public import KinesisAPI
import KinesisSink
public import Logging

extension SinkRegistration {
    /// The Kinesis sink, when the configuration has a `kinesis:` section.
    static let kinesis = SinkRegistration(
        id: .kinesis,
        isConfigured: { $0.kinesis != nil },
        httpConnections: { configuration in configuration.kinesis.map { KinesisSink.Configuration($0).maxConnections } },
        make: { wiring throws(GatewayStartupError) in
            guard let kinesis = wiring.configuration.kinesis, let httpClient = wiring.httpClient else {
                throw GatewayStartupError(message: "kinesis: the section is missing")
            }
            let configuration = KinesisSink.Configuration(kinesis)
            let api = KinesisAPI.configured(
                kinesis, httpClient: httpClient, environment: wiring.environment, timeout: configuration.requestTimeout,
                logger: wiring.logger
            )
            let sink = KinesisSink(
                configuration: configuration, api: api, logger: wiring.logger, metricsFactory: wiring.metrics,
                clock: ElapsedClock(wiring.clock)
            )
            return WiredSink(sink: sink, services: [sink], isSaturated: { sink.isSaturated })
        }
    )
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

extension KinesisSink.Configuration {
    /// The sink's knobs from the `kinesis:` section.
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
