import Foundation
import GatewayTesting
import KinesisAggregation

enum Fixtures {
    static let keyPool: [String] = [
        "a", "user-1", "user-2", "ключ", "🦆-duck", "ñandú", "日本語のキー", "key with spaces",
        String(repeating: "k", count: 256), "é", "e\u{301}", // precomposed vs decomposed: different keys
    ]

    static func randomBytes(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func randomKey(using rng: inout SplitMix64) -> String {
        if Bool.random(using: &rng) {
            return keyPool.randomElement(using: &rng)!
        }
        let length = Int.random(in: 1...40, using: &rng)
        let scalars = (0..<length).map { _ -> Character in
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: return "ü"
            case 1: return "🚀"
            default: return Character(Unicode.Scalar(UInt8.random(in: 0x21...0x7E, using: &rng)))
            }
        }
        return String(scalars)
    }

    static func randomData(using rng: inout SplitMix64) -> [UInt8] {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0, 1: return []
        case 2: return randomBytes(Int.random(in: 2_000...9_000, using: &rng), using: &rng)
        case 3...8: return randomBytes(Int.random(in: 100...600, using: &rng), using: &rng)
        default: return randomBytes(Int.random(in: 1...40, using: &rng), using: &rng)
        }
    }

    enum HashKeys { case none, all, mixed }

    static func randomRecords(count: Int, hashKeys: HashKeys, using rng: inout SplitMix64) -> [UserRecord] {
        let hashKeyPool: [String] = ["0", "1", ShardHashing.decimalString(.max), "170141183460469231731687303715884105728"]
        return (0..<count).map { _ in
            var ehk: String?
            let wantsKey =
                switch hashKeys {
                case .none: false
                case .all: true
                case .mixed: Int.random(in: 0..<4, using: &rng) == 0
                }
            if wantsKey {
                ehk =
                    Bool.random(using: &rng)
                    ? hashKeyPool.randomElement(using: &rng)!
                    : ShardHashing.decimalString(
                        UInt128(UInt64.random(in: .min ... .max, using: &rng)) << 64
                            | UInt128(UInt64.random(in: .min ... .max, using: &rng)))
            }
            return UserRecord(partitionKey: randomKey(using: &rng), explicitHashKey: ehk, data: randomData(using: &rng))
        }
    }

    /// magic ‖ body ‖ MD5(body)
    static func frame(_ body: [UInt8]) -> [UInt8] {
        AggregationFormat.magic + body + AggregationFormat.checksum(of: body)
    }
}

/// Runs kpl_interop.py (next to this file) with the reference Python implementation
/// (PyPI package aws-kinesis-agg). Throws a clear error if python3 or the package is missing.
enum PythonInterop {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("kpl_interop.py")

    static func run(_ mode: String, input: Any) throws -> Any {
        let fileManager = FileManager.default
        let directory = fileManager.temporaryDirectory.appendingPathComponent("kplagg-\(UUID().uuidString)")
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: directory) }
        let inURL = directory.appendingPathComponent("in.json")
        let outURL = directory.appendingPathComponent("out.json")
        let errURL = directory.appendingPathComponent("err.txt")
        try JSONSerialization.data(withJSONObject: input).write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)

        let python = ProcessInfo.processInfo.environment["KPLAGG_PYTHON"] ?? "python3"
        let completion: TestProcess.Completion
        do {
            completion = try TestProcess.run(TestProcess.Command(python, [script.path, mode]), input: try Data(contentsOf: inURL))
        } catch {
            throw Failure(
                description: "could not start /usr/bin/env \(python): \(error). "
                    + "Interop tests need python3 with `pip install aws-kinesis-agg`.")
        }
        try completion.outputData.write(to: outURL)
        try completion.errorData.write(to: errURL)
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        switch completion.status ?? -1 {
        case 0:
            return try JSONSerialization.jsonObject(with: Data(contentsOf: outURL))
        case 127:
            throw Failure(
                description: "\(python) not found on PATH. Interop tests need python3 with "
                    + "`pip install aws-kinesis-agg`. stderr: \(stderr)")
        case 3:
            throw Failure(
                description: "the aws-kinesis-agg Python package is missing: run "
                    + "`pip install aws-kinesis-agg`. stderr: \(stderr)")
        case let status:
            throw Failure(description: "kpl_interop.py \(mode) exited with \(status). stderr: \(stderr)")
        }
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func bytes(fromBase64 text: Any?) throws -> [UInt8] {
        guard let text = text as? String, let data = Data(base64Encoded: text) else {
            throw Failure(description: "expected base64 text, got \(String(describing: text))")
        }
        return [UInt8](data)
    }
}
