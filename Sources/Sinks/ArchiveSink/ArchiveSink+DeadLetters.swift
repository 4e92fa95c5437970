import CoreMetrics
public import GatewayCore
import NIOCore

extension ArchiveSink: DeadLetterDestination {
    /// Stores a record another sink rejected for good under the error prefix, `type=<code>/` and the record's
    /// partition, as one GZIP NDJSON line with the failure, its attempts and the original envelope.
    /// - Throws: ``ArchiveError`` when the file cannot be published; the dispatcher keeps the record and retries.
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
        let directory =
            configuration.errorPrefix + (configuration.errorPrefix.hasSuffix("/") ? "" : "/")
            + "type=\(safeCode)/"
            + configuration.partitionTemplate.render(team: record.event.team, app: record.event.app, millis: record.event.receivedAtMillis)
        _ = try await compressAndWrite(
            ByteBuffer(bytes: line), relativePath: directory + ArchiveRequestBuilder.fileName(firstSequence: record.sequence)
        )
        metrics.deadLetters.increment()
    }
}

extension ArchiveSink {
    /// Publishes one message of a subscription's dead letter (its JSON, see `on_failure: {archive: {}}`) under the
    /// error prefix, apart from the sinks' rejected records:
    /// `<error_prefix>subscriptions/subscription=<name>/condition=<condition>/dt=<yyyy-MM-dd>/hour=<HH>/dead-letter-<name>-<id>.ndjson.gz`,
    /// the date and hour those of `millis`. The same `id` publishes the same file again (a retried forward replaces it).
    /// - Parameter id: the dead letter's id (and part); characters other than letters, digits, `-`, `_` and `.` become `_`.
    /// - Throws: ``ArchiveError`` when the file cannot be published.
    public func storeSubscriptionDeadLetter(
        _ json: [UInt8], subscription: String, condition: String, id: String, millis: Int64
    ) async throws(ArchiveError) {
        func safe(_ text: String) -> String {
            String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") ? $0 : "_" })
        }
        var path: [UInt8] = Array(configuration.errorPrefix.utf8)
        if path.last != UInt8(ascii: "/") { path.append(UInt8(ascii: "/")) }
        path += Array("subscriptions/subscription=\(safe(subscription))/condition=\(safe(condition))/dt=".utf8)
        let civil = Timestamp.civil(millis: millis)
        Timestamp.appendDigits(civil.year, width: 4, to: &path)
        path.append(UInt8(ascii: "-"))
        Timestamp.appendDigits(civil.month, width: 2, to: &path)
        path.append(UInt8(ascii: "-"))
        Timestamp.appendDigits(civil.day, width: 2, to: &path)
        path += Array("/hour=".utf8)
        Timestamp.appendDigits(civil.hour, width: 2, to: &path)
        // The subscription is in the file name too: the staging directory is shared by every subscription.
        path += Array("/dead-letter-\(safe(subscription))-\(safe(id)).ndjson.gz".utf8)
        var line = ByteBuffer(bytes: json)
        line.writeInteger(UInt8(ascii: "\n"))
        _ = try await compressAndWrite(line, relativePath: String(decoding: path, as: UTF8.self))
    }
}
