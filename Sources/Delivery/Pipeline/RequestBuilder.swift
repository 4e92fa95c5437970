public import GatewayCore

/// What a sink implements to turn a batch of log records into the one request it sends for them (a `PutRecords`
/// body, a set of produce calls, an archive file).
///
/// The pipeline sizes records with ``size(of:)`` for the ``Batcher``'s byte limit, closes batches, and hands each
/// one to ``makeRequest(for:)``; the ``SinkDriver`` sends the requests. Building is pure: no I/O, no clock.
public protocol RequestBuilder: Sendable {
    /// The request the sink sends for one batch.
    associatedtype Request: Sendable

    /// The bytes `record` adds to a request (its share of the batch's byte limit).
    func size(of record: SinkRecord) -> Int

    /// The request carrying `records`, in their order. `records` is never empty.
    func makeRequest(for records: [SinkRecord]) -> Request
}
