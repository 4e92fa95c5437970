#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal file helpers for tests (no Foundation needed).
enum TestFiles {
    struct WriteError: Error {}

    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw WriteError() }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw WriteError() }
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
