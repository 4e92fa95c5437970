/// AWS credentials used for signing.
public struct AWSCredential: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Temporary-credential session token; when set it is sent (and signed) as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension AWSCredential: CustomStringConvertible {
    /// Never prints the secret or the token.
    public var description: String {
        "AWSCredential(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "nil" : "<redacted>"))"
    }
}
