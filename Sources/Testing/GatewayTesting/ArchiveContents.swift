public import ArchiveReading
import Foundation

/// Everything found in a local archive directory: every line of every published GZIP file, parsed.
/// Test support: used by the HTTP and integration suites to check what reached the archive.
///
/// Files are read with `ArchiveReading.ArchiveDirectory`, the reader `sluice verify` uses: every GZIP member's
/// CRC-32 and length is checked, and a damaged file is an ``ArchiveReadError`` naming it (never skipped).
public struct ArchiveContents: Sendable {
    /// One NDJSON line.
    public struct Line: Sendable {
        /// The file's path relative to the archive root.
        public var file: String
        /// The line's bytes.
        public var bytes: [UInt8]
        /// The parsed line, nil if it is not a JSON object.
        public var object: [String: any Sendable]?

        /// `event_id` of an envelope line (or of the `record` of an error line).
        public var eventID: String? {
            (object?["event_id"] as? String) ?? ((object?["record"] as? [String: any Sendable])?["event_id"] as? String)
        }
    }

    /// Envelope lines of published files (not under the error prefix or the staging directory).
    public var lines: [Line] = []
    /// Lines under the error prefix (the sinks' rejected records).
    public var errorLines: [Line] = []
    /// Lines of subscriptions' dead letters (`on_failure: {archive: {}}`, under `<error prefix>subscriptions/`).
    public var subscriptionDeadLetterLines: [Line] = []
    /// Lines that are not JSON objects (`file: reason`). A damaged file is thrown, not listed here.
    public var corrupt: [String] = []
    /// Relative paths of the published files.
    public var files: [String] = []

    /// Event ids of `lines`, in file order.
    public var eventIDs: [String] { lines.compactMap(\.eventID) }

    /// Reads every `*.gz` file under `directory`, skipping `.staging`; an archive directory that does not exist yet
    /// (nothing archived) reads as empty.
    /// - Throws: ``ArchiveReadError`` naming the file when a file is unreadable or not sound GZIP.
    public static func read(_ directory: String, errorPrefix: String = "errors/") throws(ArchiveReadError) -> ArchiveContents {
        var contents = ArchiveContents()
        let archive = ArchiveDirectory(root: directory, errorPrefix: errorPrefix)
        guard archive.exists else { return contents }
        let listing = try archive.listFiles()
        for relative in listing.all {
            contents.files.append(relative)
            let text = try archive.contents(of: relative)
            for slice in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                let lineBytes = Array(slice)
                let object = (try? JSONSerialization.jsonObject(with: Data(lineBytes))) as? [String: Any]
                if object == nil {
                    contents.corrupt.append("\(relative): not a JSON object: \(String(decoding: lineBytes, as: UTF8.self).prefix(80))")
                }
                let line = Line(file: relative, bytes: lineBytes, object: object.map(Self.sendable))
                if archive.isSubscriptionDeadLetterFile(relative) {
                    contents.subscriptionDeadLetterLines.append(line)
                } else if archive.isDeadLetterFile(relative) {
                    contents.errorLines.append(line)
                } else {
                    contents.lines.append(line)
                }
            }
        }
        return contents
    }

    private static func sendable(_ object: [String: Any]) -> [String: any Sendable] {
        object.mapValues(sendableValue)
    }

    /// Objects, arrays, strings and numbers (as Double); anything else as its description.
    private static func sendableValue(_ value: Any) -> any Sendable {
        switch value {
        case let nested as [String: Any]: sendable(nested)
        case let array as [Any]: array.map(sendableValue)
        case let string as String: string
        case let number as NSNumber: number.doubleValue
        default: "\(value)"
        }
    }
}
