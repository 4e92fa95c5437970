internal import Foundation
internal import Yams

/// `server.tls:` (docs/http-edge.md#tls).
extension ConfigurationDecoder {
    /// The most bytes a certificate or key file may have.
    static let maxPEMFileBytes = 1 << 20

    /// `tls: {certificate: PATH, private_key: PATH}`: both required, both readable PEM files. Whether BoringSSL
    /// accepts them (and whether the key is the certificate's) is checked at start-up, where NIO SSL is.
    func decodeTLS(_ map: MappingReader) -> ServerTLSConfiguration? {
        let certificate = map.requiredString("certificate")
        let privateKey = map.requiredString("private_key")
        map.finish()
        var valid = certificate != nil && privateKey != nil
        if let certificate, let problem = Self.pemProblem(certificate, kind: "certificate", markers: ["CERTIFICATE"]) {
            context.error(map.path.key("certificate"), problem, at: map.mark)
            valid = false
        }
        if let privateKey, let problem = Self.pemProblem(privateKey, kind: "private key", markers: ["PRIVATE KEY"]) {
            context.error(map.path.key("private_key"), problem, at: map.mark)
            valid = false
        }
        guard valid, let certificate, let privateKey else { return nil }
        return ServerTLSConfiguration(certificatePath: certificate, privateKeyPath: privateKey)
    }

    /// Why `path` is not a readable PEM file holding a `-----BEGIN … <marker>-----` block; nil when it is.
    static func pemProblem(_ path: String, kind: String, markers: [String]) -> String? {
        let shown = DecodingContext.shorten(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "the \(kind) file '\(shown)' does not exist"
        }
        guard !isDirectory.boolValue else { return "'\(shown)' is a directory, not a PEM \(kind) file" }
        guard let data = FileManager.default.contents(atPath: path) else {
            return "cannot read the \(kind) file '\(shown)' (check its permissions)"
        }
        guard data.count <= maxPEMFileBytes else { return "the \(kind) file '\(shown)' is larger than 1 MiB" }
        let text = String(decoding: data, as: UTF8.self)
        let hasBlock = text.components(separatedBy: "-----BEGIN ").dropFirst().contains { block in
            guard let end = block.range(of: "-----") else { return false }
            let label = block[..<end.lowerBound]
            return markers.contains { label.hasSuffix($0) }
        }
        guard hasBlock else {
            return "the \(kind) file '\(shown)' is not PEM (no '-----BEGIN \(markers[0])-----' block)"
        }
        return nil
    }
}
