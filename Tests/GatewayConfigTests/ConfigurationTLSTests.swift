import Foundation
import GatewayConfig
import Testing

@Suite("server.tls:")
struct ConfigurationTLSTests {
    /// A directory with `server.crt` and `server.key` holding PEM blocks (their contents are checked at start-up,
    /// not here), and `notes.txt` with no PEM block.
    static func files() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try TestFiles.write("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", to: directory + "/server.crt")
        try TestFiles.write("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", to: directory + "/server.key")
        try TestFiles.write("not a certificate\n", to: directory + "/notes.txt")
        return directory
    }

    static func problems(_ yaml: String) -> [String] {
        Configuration.load(yaml: yaml, environment: [:]).errors.map { "\($0.path): \($0.message)" }
    }

    @Test("certificate and private_key are read; absent, the listener is plain HTTP")
    func decoded() throws {
        let directory = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = Configuration.load(
            yaml: "server: {tls: {certificate: \(directory)/server.crt, private_key: \(directory)/server.key}}", environment: [:])
        #expect(report.errors == [])
        #expect(
            report.configuration?.server.tls
                == ServerTLSConfiguration(certificatePath: directory + "/server.crt", privateKeyPath: directory + "/server.key"))
        #expect(Configuration.load(yaml: "server: {port: 8443}", environment: [:]).configuration?.server.tls == nil)
    }

    @Test("a missing key file is named with its path")
    func missingKeyFile() throws {
        let directory = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let found = Self.problems("server: {tls: {certificate: \(directory)/server.crt, private_key: \(directory)/absent.key}}")
        #expect(found == ["server.tls.private_key: the private key file '\(directory)/absent.key' does not exist"])
    }

    @Test("a missing private_key, a missing certificate and an unknown key are reported with their paths")
    func missingKeys() throws {
        let directory = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Self.problems("server: {tls: {certificate: \(directory)/server.crt}}") == ["server.tls.private_key: missing"])
        #expect(
            Self.problems("server: {tls: {private_key: \(directory)/server.key, ca: x}}") == [
                "server.tls.certificate: missing", "server.tls.ca: unknown key",
            ])
        #expect(Self.problems("server: {tls: {}}").sorted() == ["server.tls.certificate: missing", "server.tls.private_key: missing"])
    }

    @Test("a file that is not PEM, or a directory, is refused")
    func notPEM() throws {
        let directory = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(
            Self.problems("server: {tls: {certificate: \(directory)/notes.txt, private_key: \(directory)}}") == [
                "server.tls.certificate: the certificate file '\(directory)/notes.txt' is not PEM (no '-----BEGIN CERTIFICATE-----' block)",
                "server.tls.private_key: '\(directory)' is a directory, not a PEM private key file",
            ])
        // The certificate where the key should be: no private key block.
        #expect(
            Self.problems("server: {tls: {certificate: \(directory)/server.crt, private_key: \(directory)/server.crt}}") == [
                "server.tls.private_key: the private key file '\(directory)/server.crt' is not PEM (no '-----BEGIN PRIVATE KEY-----' block)"
            ])
    }
}
