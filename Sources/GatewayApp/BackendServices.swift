import AsyncHTTPClient
import GatewayConfig
import KafkaSink
import KinesisProducer
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
