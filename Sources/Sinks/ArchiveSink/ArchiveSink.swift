public import GatewayCore
import CompressNIO
public import CoreMetrics
import Metrics
import NIOCore
public import NIOPosix
import Synchronization

/// Configuration of the ``ArchiveSink``.
public struct ArchiveSinkConfiguration: Sendable {
    /// The archive's root directory.
    public var directory: String
    /// A partition's buffer is published once it holds this many uncompressed bytes.
    public var bufferBytes: Int
    /// A partition's buffer is published once its oldest record is this old.
    public var bufferInterval: Duration
    /// Where each event's file goes, relative to the root.
    public var partitionTemplate: PartitionTemplate
    /// Prefix (relative to the root) for records other sinks rejected for good.
    public var errorPrefix: String
    /// GZIP level, 1 (fastest) to 9 (smallest).
    public var compressionLevel: Int
    /// Upper bound on all partitions' buffers together; past it the largest buffers are published early.
    public var maxBufferedBytes: Int

    public init(
        directory: String,
        bufferBytes: Int = 5 << 20,
        bufferInterval: Duration = .seconds(60),
        partitionTemplate: PartitionTemplate,
        errorPrefix: String = "errors/",
        compressionLevel: Int = 1,
        maxBufferedBytes: Int = 64 << 20
    ) {
        self.directory = directory
        self.bufferBytes = bufferBytes
        self.bufferInterval = bufferInterval
        self.partitionTemplate = partitionTemplate
        self.errorPrefix = errorPrefix
        self.compressionLevel = compressionLevel
        self.maxBufferedBytes = maxBufferedBytes
    }
}

/// The embedded default destination, with Kinesis Firehose's semantics for S3 on a local directory.
///
/// One buffer per partition (`team/app/date/hour` by default); a buffer is published when it reaches
/// `bufferBytes` or its oldest record is `bufferInterval` old, whichever comes first, as one GZIP file of
/// NDJSON (one versioned envelope per line), written atomically (temp file, fsync, rename, fsync directory).
/// Records are accepted (a confirmed request gets its receipt) when buffered, and released to the log only
/// once their file is published: if publishing fails, every unreleased record is dropped from memory and the
/// dispatcher redelivers it from the log, so a failing disk loses nothing and duplicates nothing.
///
/// Records other sinks rejected for good go under `errorPrefix` with the reason (see ``storeRejected(_:failure:sink:)``).
public final class ArchiveSink: Sink, DeadLetterDestination {
    struct PartitionKey: Hashable {
        var team: String
        var app: String
        var hour: Int64
    }

    struct PartitionBuffer {
        var relativeDirectory: String
        var lines = ByteBuffer()
        var sequences: [UInt64] = []
        var firstSequence: UInt64
        var openedAt: ContinuousClock.Instant
    }

    struct State {
        var partitions: [PartitionKey: PartitionBuffer] = [:]
        var bufferedBytes = 0
    }

    public let id = SinkID.archive
    private let configuration: ArchiveSinkConfiguration
    private let writer: ArchiveFileWriter
    private let state = Mutex(State())
    private let threadPool: NIOThreadPool
    private let clock = ContinuousClock()

    private let filesPublished: Counter
    private let recordsPublished: Counter
    private let bytesUncompressed: Counter
    private let bytesCompressed: Counter
    private let publishFailures: Counter
    private let bufferedGauge: Gauge
    private let deadLetters: Counter

    /// Creates the sink; it writes under `configuration.directory`, creating it if needed.
    /// - Parameters:
    ///   - threadPool: where blocking compression and file I/O run.
    ///   - metricsFactory: where the sink's metrics are registered.
    public init(
        configuration: ArchiveSinkConfiguration,
        threadPool: NIOThreadPool = .singleton,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.writer = ArchiveFileWriter(root: configuration.directory)
        self.threadPool = threadPool
        let factory = metricsFactory
        filesPublished = Counter(label: "sluice_archive_files_total", factory: factory)
        recordsPublished = Counter(label: "sluice_archive_records_total", factory: factory)
        bytesUncompressed = Counter(label: "sluice_archive_bytes_total", dimensions: [("encoding", "identity")], factory: factory)
        bytesCompressed = Counter(label: "sluice_archive_bytes_total", dimensions: [("encoding", "gzip")], factory: factory)
        publishFailures = Counter(label: "sluice_archive_publish_failures_total", factory: factory)
        bufferedGauge = Gauge(label: "sluice_archive_buffered_bytes", factory: factory)
        deadLetters = Counter(label: "sluice_archive_error_records_total", factory: factory)
    }

    /// The root directory of the archive.
    public var directory: String { configuration.directory }

    /// Uncompressed bytes waiting in partition buffers.
    public var bufferedBytes: Int { state.withLock { $0.bufferedBytes } }

    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        let now = clock.now
        let due: [PartitionBuffer] = state.withLock { state in
            var due: [PartitionKey] = []
            for record in records {
                let event = record.event
                let key = PartitionKey(team: event.team, app: event.app, hour: event.receivedAtMillis / 3_600_000)
                if state.partitions[key] == nil {
                    state.partitions[key] = PartitionBuffer(
                        relativeDirectory: configuration.partitionTemplate.render(
                            team: event.team, app: event.app, millis: event.receivedAtMillis
                        ),
                        firstSequence: record.sequence,
                        openedAt: now
                    )
                }
                // Optional chaining mutates the buffer in place (no copy of the accumulated lines).
                state.partitions[key]?.lines.writeBytes(event.envelope)
                state.partitions[key]?.lines.writeInteger(UInt8(ascii: "\n"))
                state.partitions[key]?.sequences.append(record.sequence)
                state.bufferedBytes += event.envelope.count + 1
                if (state.partitions[key]?.lines.readableBytes ?? 0) >= configuration.bufferBytes, !due.contains(key) {
                    due.append(key)
                }
            }
            if state.bufferedBytes > configuration.maxBufferedBytes {
                let largestFirst = state.partitions.sorted { $0.value.lines.readableBytes > $1.value.lines.readableBytes }
                var remaining = state.bufferedBytes
                for (key, buffer) in largestFirst where remaining > configuration.maxBufferedBytes / 2 {
                    if !due.contains(key) { due.append(key) }
                    remaining -= buffer.lines.readableBytes
                }
            }
            return Self.take(due, from: &state)
        }
        for record in records {
            reporter.accepted(record, receipt: .log(record.position), attempts: 1)
        }
        bufferedGauge.record(bufferedBytes)
        await publish(due, reporter: reporter)
    }

    public func tick(reporter: SinkReporter) async {
        let now = clock.now
        let due = state.withLock { state in
            let keys = state.partitions.filter { now - $0.value.openedAt >= configuration.bufferInterval }.map(\.key)
            return Self.take(keys, from: &state)
        }
        await publish(due, reporter: reporter)
    }

    public func flush(reporter: SinkReporter) async {
        let due = state.withLock { state in Self.take(Array(state.partitions.keys), from: &state) }
        await publish(due, reporter: reporter)
    }

    private static func take(_ keys: [PartitionKey], from state: inout State) -> [PartitionBuffer] {
        keys.compactMap { key in
            guard let buffer = state.partitions.removeValue(forKey: key) else { return nil }
            state.bufferedBytes -= buffer.lines.readableBytes
            return buffer
        }
    }

    /// Publishes buffers in order; on the first failure drops every buffer still held and reports the loss.
    private func publish(_ buffers: [PartitionBuffer], reporter: SinkReporter) async {
        for buffer in buffers {
            let name = Self.fileName(firstSequence: buffer.firstSequence)
            do {
                let compressedSize = try await compressAndWrite(buffer.lines, relativePath: buffer.relativeDirectory + name)
                filesPublished.increment()
                recordsPublished.increment(by: buffer.sequences.count)
                bytesUncompressed.increment(by: buffer.lines.readableBytes)
                bytesCompressed.increment(by: compressedSize)
                reporter.released(buffer.sequences)
            } catch {
                publishFailures.increment()
                state.withLock { state in
                    state.partitions.removeAll()
                    state.bufferedBytes = 0
                }
                bufferedGauge.record(0)
                reporter.lostUnreleased(
                    DeliveryFailure(
                        code: error.errno.map { "errno_\($0)" } ?? error.code.description,
                        message: error.description,
                        attempts: [
                            DeliveryAttempt(
                                startedAtMillis: Timestamp.nowMillis(), durationMillis: 0,
                                errorCode: error.code.description, errorMessage: error.description
                            )
                        ]
                    )
                )
                return
            }
        }
        bufferedGauge.record(bufferedBytes)
    }

    private func compressAndWrite(_ lines: ByteBuffer, relativePath: String) async throws(ArchiveError) -> Int {
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
            throw ArchiveError(code: .io, message: "the archive's thread pool is shut down: \(error)")
        }
        return try result.get()
    }

    /// A unique, time-ordered file name: publish time, first sequence, random suffix.
    static func fileName(firstSequence: UInt64) -> String {
        var out: [UInt8] = Array("sluice-".utf8)
        let civil = Timestamp.civil(millis: Timestamp.nowMillis())
        Timestamp.appendDigits(civil.year, width: 4, to: &out)
        Timestamp.appendDigits(civil.month, width: 2, to: &out)
        Timestamp.appendDigits(civil.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        Timestamp.appendDigits(civil.hour, width: 2, to: &out)
        Timestamp.appendDigits(civil.minute, width: 2, to: &out)
        Timestamp.appendDigits(civil.second, width: 2, to: &out)
        Timestamp.appendDigits(civil.millisecond, width: 3, to: &out)
        out.append(contentsOf: "Z-".utf8)
        Timestamp.appendDigits(Int(truncatingIfNeeded: firstSequence), width: 12, to: &out)
        out.append(UInt8(ascii: "-"))
        let random = UInt32.random(in: .min ... .max)
        let hex = Array("0123456789abcdef".utf8)
        for shift in stride(from: 28, through: 0, by: -4) { out.append(hex[Int((random >> UInt32(shift)) & 0xF)]) }
        out.append(contentsOf: ".ndjson.gz".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    public func storeRejected(_ record: SinkRecord, failure: DeliveryFailure, sink: SinkID) async throws {
        var line: [UInt8] = Array(#"{"error_code":"#.utf8)
        EnvelopeWriter.appendJSONString(failure.code, to: &line)
        line.append(contentsOf: #","error_message":"#.utf8)
        EnvelopeWriter.appendJSONString(failure.message, to: &line)
        line.append(contentsOf: #","sink":"#.utf8)
        EnvelopeWriter.appendJSONString(sink.description, to: &line)
        line.append(contentsOf: #","route":"#.utf8)
        EnvelopeWriter.appendJSONString(record.event.route.description, to: &line)
        line.append(contentsOf: #","failed_at":""#.utf8)
        Timestamp.appendRFC3339(millis: Timestamp.nowMillis(), to: &line)
        line.append(contentsOf: #"","attempts":["#.utf8)
        for (index, attempt) in failure.attempts.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line.append(contentsOf: #"{"started_at":""#.utf8)
            Timestamp.appendRFC3339(millis: attempt.startedAtMillis, to: &line)
            line.append(contentsOf: #"","duration_ms":\#(attempt.durationMillis),"error_code":"#.utf8)
            EnvelopeWriter.appendJSONString(attempt.errorCode ?? "", to: &line)
            line.append(contentsOf: #","error_message":"#.utf8)
            EnvelopeWriter.appendJSONString(attempt.errorMessage ?? "", to: &line)
            line.append(UInt8(ascii: "}"))
        }
        line.append(contentsOf: #"],"record":"#.utf8)
        line.append(contentsOf: record.event.envelope)
        line.append(contentsOf: "}\n".utf8)
        let safeCode = String(failure.code.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
        let directory = configuration.errorPrefix + (configuration.errorPrefix.hasSuffix("/") ? "" : "/")
            + "type=\(safeCode)/"
            + configuration.partitionTemplate.render(team: record.event.team, app: record.event.app, millis: record.event.receivedAtMillis)
        _ = try await compressAndWrite(ByteBuffer(bytes: line), relativePath: directory + Self.fileName(firstSequence: record.sequence))
        deadLetters.increment()
    }
}
