import AsyncHTTPClient
import EnvelopeScanner
import Foundation
import GatewayCore
import NIOCore
import NIOHTTP1
import NIOPosix
public import Subscriptions
import Synchronization

/// A webhook handler's own configuration (mapped from `handler: {webhook: …}` in the wiring).
public struct WebhookSettings: Sendable {
    /// The body shape.
    public enum Format: Sendable, Equatable {
        /// Our envelopes with their source positions.
        case sluice
        /// The AWS Lambda event shape of the source (Kinesis for the log).
        case lambda
    }

    public var url: String
    public var format: Format
    public var timeout: Duration
    public var headers: [(String, String)]
    public var signingSecret: String?
    /// Honour `batchItemFailures` in 2xx answers.
    public var reportBatchItemFailures: Bool
    /// The `awsRegion` the lambda format names.
    public var region: String
    /// The `bootstrapServers` the lambda format names for a Kafka source.
    public var bootstrapServers: String = ""

    public init(
        url: String, format: Format = .sluice, timeout: Duration = .seconds(30), headers: [(String, String)] = [],
        signingSecret: String? = nil, reportBatchItemFailures: Bool = true, region: String = "local"
    ) {
        self.url = url
        self.format = format
        self.timeout = timeout
        self.headers = headers
        self.signingSecret = signingSecret
        self.reportBatchItemFailures = reportBatchItemFailures
        self.region = region
    }
}

/// POSTs each batch to a URL: signed, within a timeout, to an address the ``WebhookAddressPolicy`` permits; reads
/// the answer with Lambda's semantics (2xx success, `batchItemFailures`, 429/503 `Retry-After`, anything else a
/// function error).
public final class WebhookHandler: SubscriptionHandler {
    /// The answer bytes read at most (a `batchItemFailures` list of 10,000 items fits).
    static let maxResponseBytes = 1 << 20
    /// How long a resolved address is reused before the host name is resolved again.
    static let resolutionLifetime: Duration = .seconds(30)

    private struct Target {
        var host: String
        var port: Int
        var address: String
        var client: HTTPClient
        var resolvedAt: ContinuousClock.Instant
    }

    private struct State {
        var target: Target?
        /// Clients of earlier resolutions, shut down with the handler.
        var retired: [HTTPClient] = []
    }

    let settings: WebhookSettings
    let policy: WebhookAddressPolicy
    let wallMillis: @Sendable () -> Int64
    private let url: URLComponents?
    private let state = Mutex(State())

    public init(settings: WebhookSettings, policy: WebhookAddressPolicy, wallMillis: @escaping @Sendable () -> Int64) {
        self.settings = settings
        self.policy = policy
        self.wallMillis = wallMillis
        self.url = URLComponents(string: settings.url)
    }

    /// Shuts down the handler's HTTP clients.
    public func shutdown() async {
        let clients = state.withLock { s in
            let all = (s.target.map { [$0.client] } ?? []) + s.retired
            s.target = nil
            s.retired = []
            return all
        }
        for client in clients { try? await client.shutdown() }
    }

    public func deliver(_ batch: HandlerBatch) async -> HandlerResult {
        let client: HTTPClient
        switch await connect() {
        case .success(let connected): client = connected
        case .failure(let failure): return .failure(failure)
        }
        let body =
            switch settings.format {
            case .sluice: WebhookPayload.sluice(batch.records)
            case .lambda where batch.records.first?.kafka != nil:
                WebhookPayload.lambdaKafka(batch.records, region: settings.region, bootstrapServers: settings.bootstrapServers)
            case .lambda: WebhookPayload.lambdaKinesis(batch.records, region: settings.region)
            }
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "sluice")
        request.headers.add(name: "Sluice-Subscription", value: batch.subscription)
        if let first = batch.records.first, let last = batch.records.last {
            request.headers.add(name: "Sluice-Batch", value: "\(first.sequence)-\(last.sequence)")
        }
        for (name, value) in settings.headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let secret = settings.signingSecret {
            request.headers.replaceOrAdd(
                name: WebhookSignature.headerName,
                value: WebhookSignature.header(secret: secret, timestamp: wallMillis() / 1000, body: body))
        }
        request.body = .bytes(body)
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: TimeAmount.nanoseconds(settings.timeout.nanoseconds))
            answer = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failure(HandlerFailure(kind: .timeout, message: "no answer within \(settings.timeout)"))
        } catch let error as NIOTooManyBytesError {
            return .failure(HandlerFailure(kind: .invalidResponse, message: "the answer is larger than \(Self.maxResponseBytes) bytes: \(error)"))
        } catch {
            return .failure(HandlerFailure(kind: .unreachable, message: "cannot reach \(settings.url): \(error)"))
        }
        let bytes = Array(answer.readableBytesView)
        return Self.interpret(
            status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: bytes,
            records: batch.records, reportBatchItemFailures: settings.reportBatchItemFailures)
    }

    /// Lambda's reading of an answer.
    static func interpret(
        status: Int, retryAfter: String?, body: [UInt8], records: [SubscriptionRecord], reportBatchItemFailures: Bool
    ) -> HandlerResult {
        let excerpt = body.isEmpty ? nil : String(decoding: body.prefix(HandlerFailure.excerptLimit), as: UTF8.self)
        guard (200..<300).contains(status) else {
            if status == 429 || status == 503 {
                let delay = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { Duration.seconds(max(0, $0)) }
                return .failure(
                    HandlerFailure(
                        kind: .throttled, status: status, message: "the webhook asked to slow down", bodyExcerpt: excerpt, retryAfter: delay))
            }
            return .failure(HandlerFailure(kind: .functionError, status: status, message: "the webhook answered \(status)", bodyExcerpt: excerpt))
        }
        guard reportBatchItemFailures else { return .success }
        switch BatchItemFailures.parse(body) {
        case .none:
            return .success
        case .invalid(let reason):
            return .failure(HandlerFailure(kind: .invalidResponse, status: status, message: reason, bodyExcerpt: excerpt))
        case .identifiers(let identifiers):
            var lowest: Int?
            for identifier in identifiers {
                guard let index = records.firstIndex(where: { $0.itemIdentifier == identifier }) else {
                    return .failure(
                        HandlerFailure(
                            kind: .invalidResponse, status: status,
                            message: "batchItemFailures names '\(identifier)', which is not in the batch: the whole batch failed",
                            bodyExcerpt: excerpt))
                }
                lowest = min(lowest ?? index, index)
            }
            guard let lowest else { return .success }
            return .partialFailure(
                firstFailedIndex: lowest,
                HandlerFailure(
                    kind: .functionError, status: status,
                    message: "the webhook reported \(identifiers.count) failed record(s), the first \(records[lowest].itemIdentifier)",
                    bodyExcerpt: excerpt))
        }
    }

    // MARK: connecting

    /// The client for the URL's host, connected only to a permitted address (resolved here, then pinned with
    /// AsyncHTTPClient's `dnsOverride`, so the connection goes to the address that was checked).
    private func connect() async -> Result<HTTPClient, HandlerFailure> {
        guard let url, let host = url.host, !host.isEmpty, let scheme = url.scheme?.lowercased() else {
            return .failure(HandlerFailure(kind: .forbidden, message: "'\(settings.url)' is not a valid webhook url"))
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let now = ContinuousClock.now
        if let target = state.withLock({ $0.target }), target.host == host, target.port == port,
            now - target.resolvedAt < Self.resolutionLifetime
        {
            return .success(target.client)
        }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let address: [UInt8]
        let addressText: String
        if let literal = WebhookAddressPolicy.parseAddress(bare) {
            address = literal
            addressText = bare
        } else {
            do {
                let resolved = try await NIOThreadPool.singleton.runIfActive {
                    try SocketAddress.makeAddressResolvingHost(bare, port: port)
                }
                guard let text = resolved.ipAddress, let bytes = WebhookAddressPolicy.parseAddress(text) else {
                    return .failure(HandlerFailure(kind: .unreachable, message: "\(host) resolved to no IP address"))
                }
                address = bytes
                addressText = text
            } catch {
                return .failure(HandlerFailure(kind: .unreachable, message: "cannot resolve \(host): \(error)"))
            }
        }
        guard policy.permits(host: bare, address: address) else {
            return .failure(
                HandlerFailure(
                    kind: .forbidden,
                    message: "\(host) is \(addressText), a loopback, private, link-local or reserved address; "
                        + "list it in network.allowed_webhook_hosts to allow it"))
        }
        return .success(
            state.withLock { s in
                if let target = s.target, target.host == host, target.port == port, target.address == addressText {
                    s.target?.resolvedAt = now
                    return target.client
                }
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool = .init(idleTimeout: .seconds(60))
                if WebhookAddressPolicy.parseAddress(bare) == nil { configuration.dnsOverride = [bare: addressText] }
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                if let old = s.target { s.retired.append(old.client) }
                s.target = Target(host: host, port: port, address: addressText, client: client, resolvedAt: now)
                return client
            })
    }
}

/// The `batchItemFailures` of a 2xx answer (Lambda's partial batch response).
enum BatchItemFailures: Equatable {
    /// No report: an empty body, not a JSON object, no such key, null or an empty list (all succeeded).
    case none
    /// The identifiers of the failed records.
    case identifiers([String])
    /// A malformed report (an item without an identifier, a wrong key name): the whole batch failed.
    case invalid(String)

    static func parse(_ body: [UInt8]) -> BatchItemFailures {
        guard let members = try? EnvelopeScanner.objectMembers(body, keys: ["batchItemFailures"]),
            let range = members["batchItemFailures"]
        else { return .none }
        let list = Array(body[range])
        if list == Array("null".utf8) { return .none }
        guard let elements = try? EnvelopeScanner.arrayElements(list) else {
            return .invalid("batchItemFailures is not a list")
        }
        var identifiers: [String] = []
        for element in elements {
            let item = Array(list[element])
            guard let itemMembers = try? EnvelopeScanner.objectMembers(item, keys: ["itemIdentifier"]),
                let identifier = itemMembers["itemIdentifier"]
            else {
                return .invalid("a batchItemFailures item has no itemIdentifier: the whole batch failed")
            }
            if let text = EnvelopeScanner.decodeString(item, range: identifier), !text.isEmpty {
                identifiers.append(text)
            } else if let number = item.withUnsafeBytes({ EnvelopeScanner.decodeInteger($0, range: identifier) }) {
                identifiers.append(String(number))
            } else if let kafka = kafkaIdentifier(Array(item[identifier])) {
                identifiers.append(kafka)
            } else {
                return .invalid("a batchItemFailures itemIdentifier is empty or not a string: the whole batch failed")
            }
        }
        return .identifiers(identifiers)
    }

    /// Lambda's MSK identifier `{"topic-partition":"orders-0","offset":15}` as `orders-0:15`.
    static func kafkaIdentifier(_ object: [UInt8]) -> String? {
        guard let members = try? EnvelopeScanner.objectMembers(object, keys: ["topic-partition", "offset"]),
            let topicPartition = members["topic-partition"].flatMap({ EnvelopeScanner.decodeString(object, range: $0) }),
            !topicPartition.isEmpty,
            let offset = members["offset"].flatMap({ range in object.withUnsafeBytes { EnvelopeScanner.decodeInteger($0, range: range) } })
        else { return nil }
        return topicPartition + ":" + String(offset)
    }
}
