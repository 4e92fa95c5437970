// Fuzz target: the configuration loader (YAML text → `Configuration`, `${ENV}` substitution, validation).
//
// Input layout: when it holds a NUL byte, the bytes before the first NUL are the environment (`NAME=value` lines)
// and the rest is the YAML; otherwise all of it is YAML and a small fixed environment is used. Both are decoded as
// UTF-8 with replacement characters, as `Configuration.load(contentsOfFile:)` refuses anything else before this
// point. Checked: the report has a configuration exactly when it has no errors, and every problem's position lies
// inside the text.

import FuzzDriver
import GatewayConfig

#if canImport(Glibc)
import Glibc
#endif

/// Used when the input names no environment: enough to resolve the references in the seed corpus.
let defaultEnvironment: [String: String] = [
    "HOME": "/root", "PORT": "8080", "REGION": "us-east-1", "EMPTY": "", "REF": "${PORT}", "TEAM": "rpp",
]

/// Parses `NAME=value` lines; a line without `=` names an empty variable.
func environment(from bytes: UnsafeRawBufferPointer) -> [String: String] {
    var result: [String: String] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        if let equals = line.firstIndex(of: "=") {
            result[String(line[..<equals])] = String(line[line.index(after: equals)...])
        } else {
            result[String(line)] = ""
        }
    }
    return result
}

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let yamlBytes: UnsafeRawBufferPointer
    let env: [String: String]
    if let nul = input.firstIndex(of: 0) {
        env = environment(from: UnsafeRawBufferPointer(rebasing: input[..<nul]))
        yamlBytes = UnsafeRawBufferPointer(rebasing: input[(nul + 1)...])
    } else {
        env = defaultEnvironment
        yamlBytes = input
    }
    let yaml = String(decoding: yamlBytes, as: UTF8.self)
    let report = Configuration.load(yaml: yaml, environment: env)

    precondition((report.configuration == nil) == !report.errors.isEmpty, "configuration present with errors, or absent without")
    // libyaml breaks lines at \n, \r, NEL, LS and PS.
    let lineCount = yaml.unicodeScalars.count(where: { ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }) + 2
    for problem in report.errors + report.warnings {
        if let line = problem.line { precondition(line >= 0 && line <= lineCount, "problem line \(line) past the text: \(problem)") }
        if let column = problem.column { precondition(column >= 0, "negative column: \(problem)") }
        _ = problem.description
    }
    return 0
}

/// Hands the process to libFuzzer.
@main
enum FuzzMain {
    static func main() {
        exit(sluice_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzz))
    }
}
