import AWSSigV4
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Sends one small request to a credential endpoint and reads the whole (≤ 1 MiB) body.
struct CredentialHTTP: Sendable {
    let client: HTTPClient
    let logger: Logger

    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)] = [],
        body: String? = nil,
        timeout: Duration,
        source: String
    ) async throws(AWSCredentialError) -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout), logger: logger)
            let buffer = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: buffer))
        } catch {
            throw AWSCredentialError(
                source: source, message: "\(method.rawValue) \(url) failed after at most \(timeout): \(error)")
        }
    }
}

// MARK: - Web identity

/// `AssumeRoleWithWebIdentity` settings, from the environment or a profile.
struct WebIdentityConfig: Sendable, Equatable {
    var roleARN: String
    var tokenFile: String
    var sessionName: String
    /// The STS endpoint without a trailing slash.
    var endpoint: String

    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the regional endpoint (unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`).
    static func endpoint(environment: [String: String], region: String) -> String {
        let ignoreConfigured = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        let configured =
            ignoreConfigured ? nil : (nonEmpty(environment["AWS_ENDPOINT_URL_STS"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"]))
        var endpoint = configured ?? "https://sts.\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }
}

enum WebIdentitySource {
    static func fetch(
        _ config: WebIdentityConfig, http: CredentialHTTP, timeout: Duration, source: String
    ) async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) {
        // Re-read on every refresh: EKS rotates the projected service-account token.
        let token: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: config.tokenFile))
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw AWSCredentialError(
                source: source, message: "cannot read web identity token file \(config.tokenFile): \(error.localizedDescription)")
        }
        guard !token.isEmpty else {
            throw AWSCredentialError(source: source, message: "web identity token file \(config.tokenFile) is empty")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", config.roleARN),
            ("RoleSessionName", config.sessionName),
            ("WebIdentityToken", token),
        ]
        .map { formEncode($0.0) + "=" + formEncode($0.1) }
        .joined(separator: "&")
        let url = config.endpoint + "/"
        let (status, body) = try await http.send(
            .POST, url,
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Accept", "text/xml")],
            body: form, timeout: timeout, source: source)
        guard status == 200 else {
            if let (code, message) = STSResponse.error(fromXML: body) {
                throw AWSCredentialError(
                    source: source,
                    message: "STS AssumeRoleWithWebIdentity for \(config.roleARN) at \(url) was refused (HTTP \(status)): \(message)",
                    code: code)
            }
            throw AWSCredentialError(
                source: source,
                message: "STS AssumeRoleWithWebIdentity for \(config.roleARN) at \(url) answered HTTP \(status): \(snippet(body))")
        }
        let (credential, expiration) = try STSResponse.credentials(fromXML: body, source: source)
        return (credential, expiration)
    }

    /// `application/x-www-form-urlencoded` value encoding (RFC 3986 unreserved characters kept).
    static func formEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

// MARK: - Container (ECS / EKS Pod Identity)

/// Container credential endpoint settings.
struct ContainerConfig: Sendable, Equatable {
    enum Authorization: Sendable, Equatable {
        case token(String)
        case file(String)
    }

    var url: String
    var authorization: Authorization?

    static let ecsHost = "169.254.170.2"

    /// `nil` when neither URI variable is set.
    static func resolve(environment: [String: String]) throws(AWSCredentialError) -> ContainerConfig? {
        let url: String
        if let relative = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]) {
            url = "http://\(ecsHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]) {
            try validateFullURI(full)
            url = full
        } else {
            return nil
        }
        var authorization: Authorization?
        if let file = nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) {
            authorization = .file(file)
        } else if let token = nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) {
            authorization = .token(token)
        }
        return ContainerConfig(url: url, authorization: authorization)
    }

    /// Plain-HTTP full URIs may only point at loopback or the ECS / EKS Pod Identity agent
    /// addresses, as the AWS SDKs require (credentials must not cross the network unencrypted).
    static func validateFullURI(_ full: String) throws(AWSCredentialError) {
        guard let components = URLComponents(string: full), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw AWSCredentialError(source: "container", message: "AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(full)\" is not an absolute URL")
        }
        switch scheme {
        case "https":
            return
        case "http":
            let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
            let allowed =
                bare == "localhost" || bare == "::1" || bare == ecsHost || bare == "169.254.170.23" || bare == "fd00:ec2::23"
                || bare.hasPrefix("127.")
            guard allowed else {
                throw AWSCredentialError(
                    source: "container",
                    message: "AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(full)\": plain http is only allowed to loopback, "
                        + "\(ecsHost), 169.254.170.23 or [fd00:ec2::23]; use https")
            }
        default:
            throw AWSCredentialError(
                source: "container", message: "AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(full)\" must be http or https, not \(scheme)")
        }
    }
}

enum ContainerSource {
    static func fetch(
        _ config: ContainerConfig, http: CredentialHTTP, timeout: Duration
    ) async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) {
        let source = "container"
        var headers: [(String, String)] = [("Accept", "application/json")]
        var authorization: String?
        switch config.authorization {
        case .token(let token):
            authorization = token
        case .file(let path):
            // Re-read on every refresh: EKS Pod Identity rotates it.
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                authorization = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw AWSCredentialError(
                    source: source,
                    message: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(path): \(error.localizedDescription)")
            }
        case nil:
            break
        }
        if let authorization {
            guard !authorization.contains("\r"), !authorization.contains("\n") else {
                throw AWSCredentialError(source: source, message: "the container authorization token contains a line break")
            }
            headers.append(("Authorization", authorization))
        }
        let (status, body) = try await http.send(.GET, config.url, headers: headers, timeout: timeout, source: source)
        guard status == 200 else {
            throw AWSCredentialError(source: source, message: "GET \(config.url) answered HTTP \(status): \(snippet(body))")
        }
        return try MetadataCredentials.parse(body, source: source, url: config.url)
    }
}

// MARK: - EC2 instance metadata (IMDSv2)

/// IMDS endpoint settings.
struct IMDSConfig: Sendable, Equatable {
    /// Without a trailing slash.
    var endpoint: String

    /// `nil` when `AWS_EC2_METADATA_DISABLED=true`.
    static func resolve(environment: [String: String]) -> IMDSConfig? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" { return nil }
        var endpoint =
            nonEmpty(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
            ?? (environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6"
                ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return IMDSConfig(endpoint: endpoint)
    }
}

enum IMDSSource {
    static let tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
    static let tokenHeader = "X-aws-ec2-metadata-token"

    static func fetch(
        _ config: IMDSConfig, http: CredentialHTTP, timeout: Duration
    ) async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) {
        let source = "imds"
        let tokenURL = config.endpoint + "/latest/api/token"
        let (tokenStatus, token) = try await http.send(
            .PUT, tokenURL, headers: [(tokenTTLHeader, "21600")], timeout: timeout, source: source)
        guard tokenStatus == 200, !token.isEmpty else {
            throw AWSCredentialError(
                source: source,
                message: "PUT \(tokenURL) answered HTTP \(tokenStatus)"
                    + (tokenStatus == 403 ? " (IMDS is disabled for this instance)" : "") + ": \(snippet(token))")
        }
        let auth = [(tokenHeader, token.trimmingCharacters(in: .whitespacesAndNewlines))]
        let listURL = config.endpoint + "/latest/meta-data/iam/security-credentials/"
        let (listStatus, list) = try await http.send(.GET, listURL, headers: auth, timeout: timeout, source: source)
        guard listStatus == 200 else {
            throw AWSCredentialError(
                source: source,
                message: "GET \(listURL) answered HTTP \(listStatus)"
                    + (listStatus == 404 ? " (no IAM role / instance profile attached to this instance)" : "")
                    + ": \(snippet(list))")
        }
        guard
            let role = list.split(whereSeparator: \.isNewline).lazy.map({ $0.trimmingCharacters(in: .whitespaces) }).first(
                where: { !$0.isEmpty })
        else {
            throw AWSCredentialError(
                source: source, message: "GET \(listURL) listed no IAM role (attach an instance profile to this instance)")
        }
        let roleURL = listURL + WebIdentitySource.formEncode(role)
        let (status, body) = try await http.send(.GET, roleURL, headers: auth, timeout: timeout, source: source)
        guard status == 200 else {
            throw AWSCredentialError(source: source, message: "GET \(roleURL) answered HTTP \(status): \(snippet(body))")
        }
        return try MetadataCredentials.parse(body, source: source, url: roleURL)
    }
}
