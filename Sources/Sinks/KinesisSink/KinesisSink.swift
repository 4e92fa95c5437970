public import GatewayCore

/// The Kinesis sink: hands the dispatcher's records to the ``KinesisProducer``, which reports receipts,
/// releases and rejections back through the dispatcher's reporter.
public struct KinesisSink: Sink {
    /// The producer doing the work.
    public let producer: KinesisProducer
    /// How long a flush waits for outstanding records before leaving them in the log.
    public let flushTimeout: Duration

    public init(producer: KinesisProducer, flushTimeout: Duration) {
        self.producer = producer
        self.flushTimeout = flushTimeout
    }

    public var id: SinkID { .kinesis }

    public func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        await producer.submit(records, reporter: reporter)
    }

    public func tick(reporter: SinkReporter) async {}

    public func flush(reporter: SinkReporter) async {
        await producer.flush(timeout: flushTimeout)
    }
}
