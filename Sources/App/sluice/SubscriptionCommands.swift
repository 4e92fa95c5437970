import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where the subscription commands find the running gateway.
struct GatewayAddress: ParsableArguments {
    @Option(help: "The gateway's base URL (default: $SLUICE_URL, else http://127.0.0.1:8080).")
    var url: String?

    @Option(help: "The subscription's name.")
    var subscription: String

    var base: String {
        let text = url ?? ProcessInfo.processInfo.environment["SLUICE_URL"] ?? "http://127.0.0.1:8080"
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    var subscriptionPath: String {
        "/v1/subscriptions/" + (subscription.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? subscription)
    }

    /// Sends one request to the gateway and prints the answer; exits 1 on a 4xx/5xx (the problem+json is printed).
    func call(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
            answer = try await response.body.collect(upTo: 256 << 20)
        } catch {
            print("error: cannot reach the gateway at \(base): \(error)")
            throw ExitCode(2)
        }
        print(String(buffer: answer))
        if response.status.code >= 400 { throw ExitCode(1) }
    }
}

/// `sluice dlq list|show|redrive --subscription NAME`: a subscription's dead letters, through the gateway's API.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and redrive a subscription's dead letters (through the running gateway's HTTP API).",
        subcommands: [List.self, Show.self, Redrive.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the dead letters not redriven yet (JSON).")
        @OptionGroup var gateway: GatewayAddress
        @Option(help: "At most this many, oldest first (1–1000).")
        var limit: Int = 100

        func run() async throws {
            try await gateway.call(.GET, gateway.subscriptionPath + "/dead-letters?limit=\(limit)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one dead letter with its records (JSON).")
        @OptionGroup var gateway: GatewayAddress
        @Option(help: "The dead letter's id (from `sluice dlq list`).")
        var id: String

        func run() async throws {
            try await gateway.call(.GET, gateway.subscriptionPath + "/dead-letters?id=" + Self.queryValue(id))
        }

        static func queryValue(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back through the subscription's handler; those delivered leave the list.")
        @OptionGroup var gateway: GatewayAddress
        @Option(help: "Only this dead letter (default: all of them, oldest first, up to --limit).")
        var id: String?
        @Option(help: "At most this many in this call (1–1000); the answer says how many remain.")
        var limit: Int = 100

        func run() async throws {
            let query = "?limit=\(limit)" + (id.map { "&id=" + Show.queryValue($0) } ?? "")
            try await gateway.call(.POST, gateway.subscriptionPath + "/dead-letters/redrive" + query)
        }
    }
}

/// `sluice replay --subscription NAME --timestamp T | --sequence N`: moves a subscription back in time.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a subscription back to a time or a log sequence (through the running gateway's HTTP API)."
    )

    @OptionGroup var gateway: GatewayAddress
    @Option(help: "Redeliver the events received at or after this RFC 3339 time.")
    var timestamp: String?
    @Option(help: "Redeliver from this log sequence.")
    var sequence: UInt64?

    func validate() throws {
        guard (timestamp == nil) != (sequence == nil) else {
            throw ValidationError("give exactly one of --timestamp and --sequence")
        }
    }

    func run() async throws {
        let from = timestamp.map { #"{"timestamp":"\#($0)"}"# } ?? "{\"sequence\":\(sequence ?? 0)}"
        try await gateway.call(.POST, gateway.subscriptionPath + "/replay", body: "{\"from\":\(from)}")
    }
}
