public import AWSSigV4

/// Something that supplies AWS credentials for signing requests.
///
/// Implementations cache: ``credential()`` is cheap enough to call once per request and only
/// reaches the network when the cached credential is close to expiry.
public protocol AWSCredentialProvider: Sendable {
    /// Current credentials; refreshed before they expire, single-flight, never per request.
    func credential() async throws(AWSCredentialError) -> AWSCredential
}

/// Why credentials could not be obtained: which source failed (`source`, e.g. `"web-identity"`
/// or `"profile:prod"`) and what to fix (`message`). `code` carries the service's error code when
/// one was returned (e.g. STS `InvalidIdentityToken`).
public struct AWSCredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The credential source that failed: `"environment"`, `"profile:NAME"`, `"web-identity"`,
    /// `"container"`, `"imds"`, `"chain"` (nothing configured), or a caller-chosen name.
    public var source: String
    /// What went wrong and, where possible, what to change.
    public var message: String
    /// The error code returned by the remote service, when there was one.
    public var code: String?

    public init(source: String, message: String, code: String? = nil) {
        self.source = source
        self.message = message
        self.code = code
    }

    public var description: String {
        if let code { return "AWS credentials (\(source)): \(code): \(message)" }
        return "AWS credentials (\(source)): \(message)"
    }
}

/// A provider that always returns the same credential (e.g. from configuration or tests).
public struct StaticCredentialProvider: AWSCredentialProvider {
    public let value: AWSCredential

    public init(_ credential: AWSCredential) {
        self.value = credential
    }

    public func credential() async throws(AWSCredentialError) -> AWSCredential {
        value
    }
}
