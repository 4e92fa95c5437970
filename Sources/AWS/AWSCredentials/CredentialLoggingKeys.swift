/// The credential chain's log metadata keys, declared once (this module depends on nothing of the gateway's, so it
/// cannot use `LoggingKeys`; the names follow the same `sluice.` namespace).
enum CredentialLoggingKeys {
    static let error = "sluice.error"
    static let source = "sluice.credential_source"
    static let accessKeyID = "sluice.access_key_id"
    static let expiration = "sluice.expiration"
    static let expiresInSeconds = "sluice.expires_in_s"
}
