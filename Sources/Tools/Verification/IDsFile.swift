import Foundation

/// Reads an ids file: one id per line; blank lines and surrounding whitespace ignored.
public enum IDsFile {
    /// The ids in `path`.
    /// - Throws: ``VerifyError`` when the file cannot be read.
    public static func read(_ path: String) throws(VerifyError) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw VerifyError(
                .idsFile,
                exists
                    ? "cannot read the ids file \(path) (permissions?)"
                    : "the ids file \(path) does not exist (write it with sluice bench --ids \(path))"
            )
        }
        return parse(Array(data))
    }

    /// The ids in `bytes`.
    public static func parse(_ bytes: [UInt8]) -> [String] {
        var ids: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var slice = line[...]
            while let first = slice.first, first == 0x20 || first == 0x09 || first == 0x0D { slice = slice.dropFirst() }
            while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0D { slice = slice.dropLast() }
            if !slice.isEmpty { ids.append(String(decoding: slice, as: UTF8.self)) }
        }
        return ids
    }
}
