import CompressNIO
public import CoreMetrics
import Delivery
public import GatewayCore
import Metrics
import NIOCore
public import NIOPosix
import Synchronization

/// The embedded default destination, with Kinesis Firehose's semantics for S3 on a local directory.
///
/// One ``Batcher`` per partition (`team/app/date/hour` by default) bounded by ``ArchiveSinkConfiguration/bufferBytes``
/// and ``ArchiveSinkConfiguration/bufferInterval``: a batch closes when the next record would not fit, or on the first
/// tick after it is `bufferInterval` old, and is published as one GZIP file of NDJSON (one versioned envelope per
/// line, built by ``ArchiveRequestBuilder``), written atomically (temp file, fsync, rename, fsync directory).
/// Records are accepted (a confirmed request gets its receipt) when buffered, and released to the log only once
/// their file is published. A publish failure is classified by ``ArchiveRetryLogic``: retriable ones are retried in
/// place with the configured backoff; a permanent one, or retries running out, drops every unreleased record from
/// memory and reports the loss, and the dispatcher redelivers them from the log, so a failing disk loses nothing and
/// duplicates nothing.
///
/// Age is read from the injected clock (a `ManualClock` in tests). Records other sinks rejected for good go under
/// `errorPrefix` with the reason (see ``storeRejected(_:failure:sink:)``).
public final class ArchiveSink<C: Clock>: Sink where C.Duration == Duration {
    struct PartitionKey: Hashable {
        var team: String
        var app: String
        var hour: Int64
    }

    struct State {
        var partitions: [PartitionKey: Batcher<SinkRecord, C>] = [:]
        var bufferedBytes = 0
    }

    public let id = SinkID.archive
    let configuration: ArchiveSinkConfiguration
    let builder: ArchiveRequestBuilder
    let metrics: ArchiveMetrics
    private let writer: ArchiveFileWriter
    private let state = Mutex(State())
    private let threadPool: NIOThreadPool
    private let clock: C
    private let retryLogic = ArchiveRetryLogic()

    /// Creates the sink; it writes under `configuration.directory`, creating it if needed.
    /// - Parameters:
    ///   - clock: where buffer ages and publish backoffs are measured.
    ///   - threadPool: where blocking compression and file I/O run.
    ///   - metricsFactory: where the sink's metrics are registered.
    public init(
        configuration: ArchiveSinkConfiguration,
        clock: C,
        threadPool: NIOThreadPool = .singleton,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.builder = ArchiveRequestBuilder(partitionTemplate: configuration.partitionTemplate)
        self.writer = ArchiveFileWriter(root: configuration.directory)
        self.threadPool = threadPool
        self.clock = clock
        self.metrics = ArchiveMetrics(factory: metricsFactory)
    }

    /// The root directory of the archive.
    public var directory: String { configuration.directory }

    /// Uncompressed bytes waiting in partition buffers.
    public var bufferedBytes: Int { state.withLock { $0.bufferedBytes } }

    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        let due: [ArchiveRequest] = state.withLock { state in
            var closed: [Batcher<SinkRecord, C>.Batch] = []
            for record in records {
                let event = record.event
                let key = PartitionKey(team: event.team, app: event.app, hour: event.receivedAtMillis / 3_600_000)
                let size = builder.size(of: record)
                // One hash look-up per record: the default subscript mutates the batcher in place (no copy of the
                // records it holds) and creates it for a new partition.
                let batches = state.partitions[key, default: Batcher(limits: configuration.batchLimits, clock: clock)]
                    .append(record, bytes: size)
                state.bufferedBytes += size
                if !batches.isEmpty {
                    for batch in batches { state.bufferedBytes -= batch.bytes }
                    if state.partitions[key]?.isEmpty == true { state.partitions[key] = nil }
                    closed += batches
                }
            }
            if state.bufferedBytes > configuration.maxBufferedBytes {
                let largestFirst = state.partitions.sorted { $0.value.byteCount > $1.value.byteCount }
                for (key, _) in largestFirst where state.bufferedBytes > configuration.maxBufferedBytes / 2 {
                    if var batcher = state.partitions.removeValue(forKey: key), let batch = batcher.takeAll() {
                        state.bufferedBytes -= batch.bytes
                        closed.append(batch)
                    }
                }
            }
            return closed.map { builder.makeRequest(for: $0.items) }
        }
        for record in records {
            reporter.accepted(record, receipt: .log(record.position), attempts: 1)
        }
        metrics.buffered.record(bufferedBytes)
        await publish(due, reporter: reporter)
    }

    public func tick(reporter: SinkReporter) async {
        let due = state.withLock { state in
            take(from: &state) { $0.takeIfExpired() }
        }
        await publish(due, reporter: reporter)
    }

    public func flush(reporter: SinkReporter) async {
        let due = state.withLock { state in
            take(from: &state) { $0.takeAll() }
        }
        await publish(due, reporter: reporter)
    }

    /// The requests for the batches `close` takes from the partitions; empty partitions are forgotten.
    private func take(
        from state: inout State, _ close: (inout Batcher<SinkRecord, C>) -> Batcher<SinkRecord, C>.Batch?
    ) -> [ArchiveRequest] {
        var requests: [ArchiveRequest] = []
        for key in Array(state.partitions.keys) {
            guard var batcher = state.partitions[key], let batch = close(&batcher) else { continue }
            state.partitions[key] = batcher.isEmpty ? nil : batcher
            state.bufferedBytes -= batch.bytes
            requests.append(builder.makeRequest(for: batch.items))
        }
        return requests
    }

    /// Publishes files in order; on the first failure that is permanent or out of retries, drops every buffer still
    /// held and reports the loss.
    private func publish(_ requests: [ArchiveRequest], reporter: SinkReporter) async {
        for request in requests {
            var attempts: [DeliveryAttempt] = []
            let outcome = await retryLogic.retrying(
                backoff: configuration.publishBackoff, clock: clock, maxAttempts: configuration.publishAttempts,
                onRetry: { [metrics] _, _, _ in metrics.publishRetries.increment() }
            ) { (_: Int) async throws(ArchiveError) -> Int in
                let startedAt = Timestamp.nowMillis()
                let started = clock.now
                do throws(ArchiveError) {
                    return try await compressAndWrite(request.lines, relativePath: request.relativePath)
                } catch {
                    attempts.append(
                        DeliveryAttempt(
                            startedAtMillis: startedAt, durationMillis: started.duration(to: clock.now).milliseconds,
                            errorCode: error.code.description, errorMessage: error.description
                        )
                    )
                    throw error
                }
            }
            switch outcome {
            case .succeeded(let compressedSize, _):
                metrics.filesPublished.increment()
                metrics.recordsPublished.increment(by: request.sequences.count)
                metrics.bytesUncompressed.increment(by: request.lines.readableBytes)
                metrics.bytesCompressed.increment(by: compressedSize)
                reporter.released(request.sequences)
            case .failed(let error, _, _):
                metrics.publishFailures.increment()
                state.withLock { state in
                    state.partitions.removeAll()
                    state.bufferedBytes = 0
                }
                metrics.buffered.record(0)
                reporter.lostUnreleased(
                    DeliveryFailure(
                        code: error.errno.map { "errno_\($0)" } ?? error.code.description,
                        message: error.description,
                        attempts: attempts
                    )
                )
                return
            }
        }
        metrics.buffered.record(bufferedBytes)
    }

    /// Compresses `lines` and publishes them atomically at `relativePath` on the thread pool.
    /// - Returns: the compressed size.
    func compressAndWrite(_ lines: ByteBuffer, relativePath: String) async throws(ArchiveError) -> Int {
        let level = Int32(configuration.compressionLevel)
        let writer = self.writer
        let result: Result<Int, ArchiveError>
        do {
            result = try await threadPool.runIfActive { () -> Result<Int, ArchiveError> in
                var input = lines
                let compressed: ByteBuffer
                do {
                    compressed = try input.compress(with: .gzip(configuration: ZlibConfiguration(compressionLevel: level)))
                } catch {
                    return .failure(ArchiveError(code: .compression, message: "gzip failed: \(error)"))
                }
                do throws(ArchiveError) {
                    try compressed.withUnsafeReadableBytes { bytes throws(ArchiveError) in
                        try writer.publish(bytes, relativePath: relativePath)
                    }
                } catch {
                    return .failure(error)
                }
                return .success(compressed.readableBytes)
            }
        } catch {
            throw ArchiveError(code: .unavailable, message: "the archive's thread pool is shut down: \(error)")
        }
        return try result.get()
    }
}

extension ArchiveSink where C == ContinuousClock {
    /// Creates the sink on the continuous clock.
    public convenience init(
        configuration: ArchiveSinkConfiguration,
        threadPool: NIOThreadPool = .singleton,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.init(configuration: configuration, clock: ContinuousClock(), threadPool: threadPool, metricsFactory: metricsFactory)
    }
}
