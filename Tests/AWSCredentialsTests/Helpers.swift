import AWSCredentials
import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing

/// A temporary directory removed on `cleanup()`; `HOME` for tests so the real ~/.aws is never read.
struct TempDir: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("awscreds-test-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// An environment that points HOME here and turns IMDS off, plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HOME": path, "AWS_EC2_METADATA_DISABLED": "true"].merging(extra) { _, new in new }
    }
}

/// A settable clock for refresh tests.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Counts calls; thread-safe.
final class Counter: Sendable {
    private let value = Mutex(0)
    @discardableResult func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
    var count: Int { value.withLock { $0 } }
}

let testLogger = Logger(label: "awscreds-tests")

func makeChain(
    _ environment: [String: String], region: String = "us-east-1", imdsTimeout: Duration = .seconds(1),
    stsTimeout: Duration = .seconds(10)
) -> DefaultCredentialChain {
    var options = DefaultCredentialChain.Options()
    options.imdsTimeout = imdsTimeout
    options.stsTimeout = stsTimeout
    options.defaultSessionName = "sluice-test"
    return DefaultCredentialChain(
        environment: environment, httpClient: HTTPClient.shared, region: region, logger: testLogger, options: options)
}

/// Runs `body` expecting an `AWSCredentialError`; returns it (nil when nothing or something else
/// was thrown, which is recorded as an issue).
func captureError<T>(
    _ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation
) async -> AWSCredentialError? {
    do {
        _ = try await body()
        Issue.record("expected an AWSCredentialError, got a value", sourceLocation: sourceLocation)
        return nil
    } catch let error as AWSCredentialError {
        return error
    } catch {
        Issue.record("expected an AWSCredentialError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A thread-safe boolean.
final class Flag: Sendable {
    private let value: Mutex<Bool>
    init(_ initial: Bool = false) { value = Mutex(initial) }
    var isSet: Bool { value.withLock { $0 } }
    func set(_ newValue: Bool) { value.withLock { $0 = newValue } }
}
