/// `server.tls:` — the listener speaks TLS (1.2 and later) with this certificate and key (docs/http-edge.md#tls).
/// Absent: plain HTTP. Both files are read again on SIGHUP; new connections use the new pair.
public struct ServerTLSConfiguration: Sendable, Equatable {
    /// `certificate`: a PEM file with the server's certificate, followed by any intermediates.
    public var certificatePath: String
    /// `private_key`: a PEM file with the certificate's private key (not encrypted).
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}
