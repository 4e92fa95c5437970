public import KinesisAPI
public import Subscriptions

/// `on_failure: {kinesis: {stream}}`: each dead letter, as its JSON, put to a Kinesis stream (partition key: the
/// subscription's name) with `PutRecords`; split into parts (``DeadLetter/parts(fittingIn:)``) when it is larger than
/// a record may be.
public struct KinesisDeadLetterForwarder: DeadLetterForwarder {
    let api: KinesisAPI
    let stream: String
    let maxRecordBytes: Int

    /// - Parameter maxRecordBytes: the stream's record size limit (data plus partition key; 1 MiB by default).
    public init(api: KinesisAPI, stream: String, maxRecordBytes: Int = 1_048_576) {
        self.api = api
        self.stream = stream
        self.maxRecordBytes = maxRecordBytes
    }

    public var destination: String { "kinesis stream \(stream)" }

    /// Puts every part; a part Kinesis refused (throttled, or the call failed) makes it throw, and the caller's retry
    /// sends them all again (each part carries the dead letter's `id` and `part`, so a reader can drop repeats).
    public func forward(_ letter: DeadLetter) async throws {
        let key = letter.subscription
        let entries = letter.parts(fittingIn: max(1, maxRecordBytes - key.utf8.count)).map {
            KinesisAPI.PutEntry(data: $0, partitionKey: key, explicitHashKey: nil)
        }
        // PutRecords takes at most 500 records and 5 MiB of them.
        var start = 0
        while start < entries.count {
            var end = start
            var bytes = 0
            while end < entries.count, end - start < 500, end == start || bytes + entries[end].billedBytes <= 5 * 1_048_576 {
                bytes += entries[end].billedBytes
                end += 1
            }
            let results = try await api.putRecords(stream: stream, entries: Array(entries[start..<end]))
            for result in results {
                if case .failed(let error) = result { throw error }
            }
            start = end
        }
    }
}
