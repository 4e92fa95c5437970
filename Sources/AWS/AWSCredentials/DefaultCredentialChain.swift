public import AWSSigV4
public import AsyncHTTPClient
public import Foundation
public import Logging
import Synchronization

/// The default chain in AWS SDK order: environment → shared config/credentials profile → web identity (STS AssumeRoleWithWebIdentity) → container credentials → EC2 instance metadata (IMDSv2).
///
/// The first source that is *configured* is used; if it then fails, that is an error naming the
/// source and the reason (it is not skipped). IMDS, the last resort, is tried only when nothing
/// else is configured and `AWS_EC2_METADATA_DISABLED` is not `true`. Expiring credentials are
/// cached and refreshed by a ``RefreshingCredentialProvider``.
public final class DefaultCredentialChain: AWSCredentialProvider {
    /// Timeouts and refresh policy.
    public struct Options: Sendable {
        /// Refresh credentials that expire within this long.
        public var refreshBefore: Duration = .seconds(300)
        /// After a failed refresh with a still-valid credential, wait this long before retrying.
        public var retryAfterFailure: Duration = .seconds(30)
        /// Whole-request timeout for STS.
        public var stsTimeout: Duration = .seconds(10)
        /// Whole-request timeout for the container endpoint.
        public var containerTimeout: Duration = .seconds(2)
        /// Whole-request timeout (connect included) for each IMDS request, short so that a
        /// machine that is not on EC2 fails fast.
        public var imdsTimeout: Duration = .seconds(1)
        /// `RoleSessionName` for web identity when neither `AWS_ROLE_SESSION_NAME` nor the
        /// profile's `role_session_name` is set; default `sluice-<random hex>`.
        public var defaultSessionName: String = "sluice-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        /// The clock used for expiry decisions.
        public var now: @Sendable () -> Date = { Date() }

        public init() {}
    }

    private let environment: [String: String]
    private let region: String
    private let options: Options
    private let cache: RefreshingCredentialProvider

    public convenience init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient,
        region: String,
        logger: Logger
    ) {
        self.init(environment: environment, httpClient: httpClient, region: region, logger: logger, options: Options())
    }

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient,
        region: String,
        logger: Logger,
        options: Options
    ) {
        self.environment = environment
        self.region = region
        self.options = options
        let http = CredentialHTTP(client: httpClient, logger: logger)
        // The fetch closure must not capture `self` before initialisation completes; it captures
        // the pieces it needs instead.
        let resolver = ChainResolver(environment: environment, region: region, defaultSessionName: options.defaultSessionName)
        let box = SourceNameBox()
        self.sourceBox = box
        self.cache = RefreshingCredentialProvider(
            refreshBefore: options.refreshBefore,
            retryAfterFailure: options.retryAfterFailure,
            logger: logger,
            now: options.now
        ) { () async throws(AWSCredentialError) -> (AWSCredential, expiration: Date?) in
            let (credential, expiration, name) = try await resolver.fetch(http: http, options: options)
            box.set(name)
            logger.debug(
                "AWS credentials obtained",
                metadata: [
                    CredentialLoggingKeys.source: "\(name)", CredentialLoggingKeys.accessKeyID: "\(credential.accessKeyID)",
                    CredentialLoggingKeys.expiration: "\(expiration.map { "\($0)" } ?? "never")",
                ])
            return (credential, expiration)
        }
    }

    private let sourceBox: SourceNameBox

    public func credential() async throws(AWSCredentialError) -> AWSCredential {
        try await cache.credential()
    }

    /// Fetches new credentials now (single-flight), e.g. after a service answered `ExpiredToken`.
    public func refresh() async throws(AWSCredentialError) -> AWSCredential {
        try await cache.refresh()
    }

    /// When the cached credential expires (`nil`: none cached yet, or it never expires).
    public var expiration: Date? {
        get async { await cache.expiration }
    }

    /// Which source supplied the credentials last (for logs): "environment", "profile:NAME", "web-identity", "container", "imds"
    public var sourceName: String? { sourceBox.get() }

    /// The source the chain will use, decided from the environment and the shared files without
    /// any network request (`"imds"` when nothing else is configured). Throws when a source is
    /// configured incompletely or nothing at all is usable (IMDS disabled).
    public func configuredSource() throws(AWSCredentialError) -> String {
        try ChainResolver(environment: environment, region: region, defaultSessionName: options.defaultSessionName).resolve().name
    }
}

/// The last source name, shared between the chain and its fetch closure.
private final class SourceNameBox: Sendable {
    private let value = Mutex<String?>(nil)
    func set(_ name: String) { value.withLock { $0 = name } }
    func get() -> String? { value.withLock { $0 } }
}

/// What the chain decided to use.
enum ResolvedSource: Sendable, Equatable {
    case fixed(AWSCredential, name: String)
    case webIdentity(WebIdentityConfig, name: String)
    case container(ContainerConfig)
    case imds(IMDSConfig, skipped: [String])

    var name: String {
        switch self {
        case .fixed(_, let name), .webIdentity(_, let name): name
        case .container: "container"
        case .imds: "imds"
        }
    }
}

/// Decides which source is configured (no I/O but reading the shared files) and fetches from it.
struct ChainResolver: Sendable {
    var environment: [String: String]
    var region: String
    var defaultSessionName: String

    func resolve() throws(AWSCredentialError) -> ResolvedSource {
        var skipped: [String] = []

        // 1. Environment.
        let accessKey = nonEmpty(environment["AWS_ACCESS_KEY_ID"])
        let secretKey = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        switch (accessKey, secretKey) {
        case (let id?, let secret?):
            return .fixed(
                AWSCredential(accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"])),
                name: "environment")
        case (_?, nil):
            throw AWSCredentialError(source: "environment", message: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?):
            throw AWSCredentialError(source: "environment", message: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil):
            skipped.append("environment: AWS_ACCESS_KEY_ID not set")
        }

        // 2. Shared config / credentials profile.
        let files = AWSSharedFiles(environment: environment)
        let profileSource = "profile:\(files.profile)"
        if let profile = try files.loadProfile() {
            if let resolved = try resolveProfile(profile, files: files, source: profileSource) { return resolved }
            skipped.append("\(profileSource): no credentials in \(files.credentialsPath) or \(files.configPath)")
        } else if files.profileIsExplicit {
            throw AWSCredentialError(
                source: profileSource,
                message: "AWS_PROFILE=\(files.profile) but there is no [\(files.profile)] in \(files.credentialsPath) "
                    + "nor [profile \(files.profile)] in \(files.configPath)")
        } else {
            skipped.append("\(profileSource): not in \(files.credentialsPath) or \(files.configPath)")
        }

        // 3. Web identity from the environment.
        let tokenFile = nonEmpty(environment["AWS_WEB_IDENTITY_TOKEN_FILE"])
        let roleARN = nonEmpty(environment["AWS_ROLE_ARN"])
        switch (tokenFile, roleARN) {
        case (let file?, let role?):
            return .webIdentity(
                WebIdentityConfig(
                    roleARN: role, tokenFile: file,
                    sessionName: nonEmpty(environment["AWS_ROLE_SESSION_NAME"]) ?? defaultSessionName,
                    endpoint: WebIdentityConfig.endpoint(environment: environment, region: region)),
                name: "web-identity")
        case (_?, nil):
            throw AWSCredentialError(source: "web-identity", message: "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
        case (nil, _?):
            throw AWSCredentialError(source: "web-identity", message: "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not")
        case (nil, nil):
            skipped.append("web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set")
        }

        // 4. Container.
        if let container = try ContainerConfig.resolve(environment: environment) {
            return .container(container)
        }
        skipped.append("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set")

        // 5. IMDS, the last resort.
        guard let imds = IMDSConfig.resolve(environment: environment) else {
            skipped.append("imds: AWS_EC2_METADATA_DISABLED=true")
            throw Self.nothingFound(skipped)
        }
        return .imds(imds, skipped: skipped)
    }

    private func resolveProfile(
        _ profile: [String: String], files: AWSSharedFiles, source: String
    ) throws(AWSCredentialError) -> ResolvedSource? {
        let where_ = "(profile \(files.profile) in \(files.credentialsPath) / \(files.configPath))"
        let accessKey = nonEmpty(profile["aws_access_key_id"])
        let secretKey = nonEmpty(profile["aws_secret_access_key"])
        if accessKey != nil || secretKey != nil {
            guard let accessKey, let secretKey else {
                let missing = accessKey == nil ? "aws_access_key_id" : "aws_secret_access_key"
                throw AWSCredentialError(source: source, message: "\(missing) is missing \(where_)")
            }
            return .fixed(
                AWSCredential(accessKeyID: accessKey, secretAccessKey: secretKey, sessionToken: nonEmpty(profile["aws_session_token"])),
                name: source)
        }
        if let roleARN = nonEmpty(profile["role_arn"]) {
            if let tokenFile = nonEmpty(profile["web_identity_token_file"]) {
                return .webIdentity(
                    WebIdentityConfig(
                        roleARN: roleARN, tokenFile: tokenFile,
                        sessionName: nonEmpty(profile["role_session_name"]) ?? nonEmpty(environment["AWS_ROLE_SESSION_NAME"])
                            ?? defaultSessionName,
                        endpoint: WebIdentityConfig.endpoint(environment: environment, region: region)),
                    name: source)
            }
            if let sourceProfile = nonEmpty(profile["source_profile"]) {
                throw AWSCredentialError(
                    source: source,
                    message: "role_arn with source_profile = \(sourceProfile) (role chaining via sts:AssumeRole) is not supported "
                        + "\(where_); use static keys, web_identity_token_file, or run with credentials of the role itself")
            }
            if let credentialSource = nonEmpty(profile["credential_source"]) {
                throw AWSCredentialError(
                    source: source,
                    message: "role_arn with credential_source = \(credentialSource) is not supported \(where_)")
            }
            throw AWSCredentialError(
                source: source, message: "role_arn is set but neither web_identity_token_file nor source_profile \(where_)")
        }
        if nonEmpty(profile["credential_process"]) != nil {
            throw AWSCredentialError(source: source, message: "credential_process is not supported \(where_)")
        }
        if nonEmpty(profile["sso_session"]) != nil || nonEmpty(profile["sso_start_url"]) != nil {
            throw AWSCredentialError(
                source: source, message: "IAM Identity Center (sso_*) profiles are not supported \(where_); export static or role credentials")
        }
        return nil
    }

    static func nothingFound(_ checked: [String]) -> AWSCredentialError {
        AWSCredentialError(
            source: "chain",
            message: "no AWS credentials found; checked " + checked.joined(separator: "; ")
                + ". Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials (AWS_PROFILE), "
                + "web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), or run with an instance / task role")
    }

    func fetch(
        http: CredentialHTTP, options: DefaultCredentialChain.Options
    ) async throws(AWSCredentialError) -> (AWSCredential, Date?, String) {
        let resolved = try resolve()
        switch resolved {
        case .fixed(let credential, let name):
            return (credential, nil, name)
        case .webIdentity(let config, let name):
            let (credential, expiration) = try await WebIdentitySource.fetch(config, http: http, timeout: options.stsTimeout, source: name)
            return (credential, expiration, name)
        case .container(let config):
            let (credential, expiration) = try await ContainerSource.fetch(config, http: http, timeout: options.containerTimeout)
            return (credential, expiration, "container")
        case .imds(let config, let skipped):
            do throws(AWSCredentialError) {
                let (credential, expiration) = try await IMDSSource.fetch(config, http: http, timeout: options.imdsTimeout)
                return (credential, expiration, "imds")
            } catch {
                throw Self.nothingFound(skipped + ["imds at \(config.endpoint): \(error.message)"])
            }
        }
    }
}
