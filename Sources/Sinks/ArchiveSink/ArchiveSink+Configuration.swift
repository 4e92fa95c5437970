public import Delivery

/// Configuration of the ``ArchiveSink``.
public struct ArchiveSinkConfiguration: Sendable {
    /// The archive's root directory.
    public var directory: String
    /// A partition's file holds at most this many uncompressed bytes (a single larger record gets a file of its own);
    /// a buffer is published as soon as it is full.
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
    /// Attempts at publishing one file when its failure is retriable (see ``ArchiveRetryLogic``) before the sink
    /// gives up, drops what it holds and lets the dispatcher redeliver from the log.
    public var publishAttempts: Int
    /// The waits between those attempts.
    public var publishBackoff: Backoff

    public init(
        directory: String,
        bufferBytes: Int = 5 << 20,
        bufferInterval: Duration = .seconds(60),
        partitionTemplate: PartitionTemplate,
        errorPrefix: String = "errors/",
        compressionLevel: Int = 1,
        maxBufferedBytes: Int = 64 << 20,
        publishAttempts: Int = 3,
        publishBackoff: Backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(1))
    ) {
        self.directory = directory
        self.bufferBytes = bufferBytes
        self.bufferInterval = bufferInterval
        self.partitionTemplate = partitionTemplate
        self.errorPrefix = errorPrefix
        self.compressionLevel = compressionLevel
        self.maxBufferedBytes = maxBufferedBytes
        self.publishAttempts = publishAttempts
        self.publishBackoff = publishBackoff
    }

    /// The limits of one partition's buffer.
    var batchLimits: BatchLimits {
        BatchLimits(maxBytes: bufferBytes, maxAge: bufferInterval)
    }
}
