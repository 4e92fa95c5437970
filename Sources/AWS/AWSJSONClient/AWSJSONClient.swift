public import AWSCredentials
import AWSSigV4
public import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOHTTP1

/// A client for AWS services that speak the JSON 1.1 protocol (Kinesis, Firehose): one `POST /` per operation,
/// the operation named in `X-Amz-Target`, signed with SigV4.
///
/// It builds and signs the request, sends it on AsyncHTTPClient with a timeout, and turns any failure into an
/// ``AWSRequestError`` that says whether retrying makes sense.
public struct AWSJSONClient: Sendable {
    /// Where and how to reach the service.
    public struct Endpoint: Sendable, Equatable {
        /// The base URL, e.g. `https://kinesis.us-east-1.amazonaws.com` or `http://127.0.0.1:5000`.
        public var url: String
        /// The signing region.
        public var region: String
        /// The signing service name (`kinesis`, `firehose`).
        public var service: String
        /// The `X-Amz-Target` prefix (`Kinesis_20131202`, `Firehose_20150804`).
        public var targetPrefix: String

        public init(url: String, region: String, service: String, targetPrefix: String) {
            self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
            self.region = region
            self.service = service
            self.targetPrefix = targetPrefix
        }

        /// The AWS endpoint of `service` in `region`, unless `override` (a config's `endpoint_url`) names another.
        public static func standard(
            service: String, targetPrefix: String, region: String, override: String?
        ) -> Endpoint {
            Endpoint(
                url: override ?? "https://\(service).\(region).amazonaws.com", region: region, service: service,
                targetPrefix: targetPrefix
            )
        }
    }

    private let httpClient: HTTPClient
    private let credentials: any AWSCredentialProvider
    /// The endpoint requests go to.
    public let endpoint: Endpoint
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - httpClient: the shared HTTP client (connection pooling lives there).
    ///   - endpoint: where requests go and how they are signed.
    ///   - credentials: the credential provider.
    ///   - timeout: the deadline of one request, connection included.
    public init(
        httpClient: HTTPClient, endpoint: Endpoint, credentials: any AWSCredentialProvider,
        timeout: Duration = .seconds(10)
    ) {
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.credentials = credentials
        let (seconds, attoseconds) = timeout.components
        self.timeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Calls `operation` with a JSON `body` and returns the response body of a 2xx answer.
    ///
    /// - Throws: ``AWSRequestError``: the service's error (`__type` and message), a transport failure, a timeout,
    ///   or a credential problem, classified as throttling, retriable or fatal.
    public func call(_ operation: String, body: [UInt8]) async throws(AWSRequestError) -> ByteBuffer {
        try await call(operation, body: ByteBuffer(bytes: body))
    }

    /// Calls `operation` with a JSON `body` already in a buffer (a `PutRecords` body encoded in place): the body is
    /// hashed where it lies and sent as it is, without a further copy.
    ///
    /// - Throws: ``AWSRequestError``, as the array overload.
    public func call(_ operation: String, body: ByteBuffer) async throws(AWSRequestError) -> ByteBuffer {
        let credential: AWSCredential
        do {
            credential = try await credentials.credential()
        } catch {
            throw AWSRequestError(code: "CredentialsUnavailable", message: error.description, httpStatus: nil, kind: .retriable)
        }
        let signer = AWSSigner(credential: credential, region: endpoint.region, service: endpoint.service)
        let url = endpoint.url + "/"
        let headers: [(String, String)] = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "\(endpoint.targetPrefix).\(operation)"),
        ]
        let signed: [(String, String)]
        do {
            signed = try signer.signHeaders(
                method: "POST", url: url, headers: headers, payloadHash: body.withUnsafeReadableBytes(AWSSigner.hexSHA256),
                date: UnixTime(seconds: Int64(Date().timeIntervalSince1970))
            )
        } catch {
            throw AWSRequestError(code: "InvalidEndpoint", message: "cannot sign a request to '\(url)': \(error)", httpStatus: nil, kind: .fatal)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers + signed { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(body)

        let response: HTTPClientResponse
        let responseBody: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: timeout)
            responseBody = try await response.body.collect(upTo: 64 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw AWSRequestError(
                code: "RequestTimeout", message: "no answer from \(endpoint.url) within \(timeout)", httpStatus: nil, kind: .retriable)
        } catch {
            throw AWSRequestError(code: "ConnectionError", message: "\(endpoint.url): \(error)", httpStatus: nil, kind: .retriable)
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            throw AWSRequestError.parse(status: status, body: responseBody)
        }
        return responseBody
    }
}

/// How to treat a failed AWS call.
public enum AWSErrorKind: String, Sendable, Equatable {
    /// The service refused for rate reasons (`ProvisionedThroughputExceededException`, `ThrottlingException`, 429):
    /// retry after a backoff.
    case throttling
    /// A transient failure (5xx, `InternalFailure`, connection errors, timeouts, expired tokens): retry.
    case retriable
    /// The request cannot succeed as it is (bad credentials, missing stream, invalid argument).
    case fatal
}

/// A failed AWS call: the service's error code and message, the HTTP status (nil when no answer arrived) and
/// whether retrying makes sense.
public struct AWSRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The AWS error code (`ProvisionedThroughputExceededException`, `ResourceNotFoundException`…), or Sluice's own
    /// for failures without an answer (`ConnectionError`, `RequestTimeout`, `CredentialsUnavailable`).
    public var code: String
    /// The service's message.
    public var message: String
    /// The HTTP status, nil when no answer arrived.
    public var httpStatus: Int?
    /// Whether to retry.
    public var kind: AWSErrorKind

    public init(code: String, message: String, httpStatus: Int?, kind: AWSErrorKind) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.kind = kind
    }

    public var description: String {
        "\(code)\(httpStatus.map { " (HTTP \($0))" } ?? ""): \(message)"
    }

    /// Error codes AWS uses for rate limiting.
    public static let throttlingCodes: Set<String> = [
        "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
        "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "LimitExceededException",
        "SlowDown", "KMSThrottlingException", "RequestThrottled", "BandwidthLimitExceeded",
    ]
    /// Error codes that mean "try again".
    public static let transientCodes: Set<String> = [
        "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
        "RequestTimeout", "RequestTimeoutException", "ExpiredToken", "ExpiredTokenException", "RequestExpired",
        "IDPCommunicationError", "EC2ThrottledException", "PriorRequestNotComplete", "TransactionInProgressException",
    ]

    /// Classifies an error code and HTTP status.
    public static func classify(code: String, httpStatus: Int?) -> AWSErrorKind {
        if throttlingCodes.contains(code) || httpStatus == 429 { return .throttling }
        if transientCodes.contains(code) { return .retriable }
        if let httpStatus, httpStatus >= 500 { return .retriable }
        return .fatal
    }

    /// Reads an error answer: JSON (`{"__type": "...#Code", "message": "..."}`) as Kinesis sends, or XML
    /// (`<Code>…</Code><Message>…</Message>`) as some endpoints (moto's signature checks, STS) send.
    public static func parse(status: Int, body: ByteBuffer) -> AWSRequestError {
        var code = ""
        var message = ""
        let bytes = Data(body.readableBytesView)
        if let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] {
            if let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String {
                code = type.split(separator: "#").last.map(String.init) ?? type
                if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
            }
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"]) as? String ?? ""
        } else if let text = String(data: bytes, encoding: .utf8) {
            code = xmlElement("Code", in: text) ?? ""
            message = xmlElement("Message", in: text) ?? ""
        }
        if code.isEmpty { code = status >= 500 ? "ServiceUnavailable" : "HTTP\(status)" }
        if message.isEmpty { message = "HTTP \(status) without an error message" }
        return AWSRequestError(code: code, message: message, httpStatus: status, kind: classify(code: code, httpStatus: status))
    }

    private static func xmlElement(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
