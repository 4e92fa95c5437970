import Foundation
import GatewayTesting
import Testing

// `server.tls` through the built binary: HTTPS with a certificate from a test CA made with openssl, the edge's limits
// over TLS, plain HTTP refused, and the certificate reloaded on SIGHUP (python3's `ssl` is the client).

/// A certificate authority and server certificates it signs for 127.0.0.1 and localhost, made with the openssl CLI
/// (as `PostgresServer` does for its TLS tests).
private struct TestCertificates {
    let directory: URL

    init(in directory: URL) throws {
        self.directory = directory
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sluice test CA", "-keyout", path("ca.key"), "-out",
            path("ca.pem"),
        ])
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: directory.appendingPathComponent("san.ext"))
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `name.crt` and `name.key`: a new key and a certificate with `serial`, signed by the CA.
    func issue(_ name: String, serial: Int) throws {
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost/O=\(name)", "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
        ])
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-set_serial", String(serial), "-days", "2",
            "-extfile", path("san.ext"), "-out", path("\(name).crt"),
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let completion = try TestProcess.run(TestProcess.Command("openssl", arguments), timeout: .seconds(60), mergingErrors: true)
        guard completion.status == 0 else { throw TestProcessError(message: "openssl \(arguments.first ?? "") failed: \(completion.output)") }
    }
}

/// The client side, in python3 (urllib, http.client, ssl and raw sockets), one subcommand a check; prints one line.
private let probeScript = #"""
    import http.client, json, os, signal, socket, ssl, sys, time, urllib.request

    def context(ca):
        return ssl.create_default_context(cafile=ca)

    def serial(port, ca):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context(ca).wrap_socket(raw, server_hostname="localhost") as tls:
                return int(tls.getpeercert()["serialNumber"], 16)

    def until(deadline_s, check):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return False

    command, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if command == "get":
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{sys.argv[4]}", context=context(ca), timeout=10) as response:
            print(json.dumps({"status": response.status, "body": response.read().decode()}))
    elif command == "post":
        request = urllib.request.Request(f"https://localhost:{port}/v1/events", data=sys.argv[4].encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=context(ca), timeout=10) as response:
            print(json.dumps({"status": response.status, "body": response.read().decode()}))
    elif command == "too-large":
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context(ca), timeout=10)
        connection.putrequest("POST", "/v1/events")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(64 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        print(json.dumps({"status": response.status, "type": response.getheader("Content-Type"), "body": response.read().decode()}))
    elif command == "plain":
        # A plain HTTP request to the TLS port: whatever comes back before the gateway closes.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            try:
                while chunk := raw.recv(4096):
                    received += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            print(json.dumps({"received": received.decode("latin-1")}))
    elif command == "websocket":
        # The upgrade of a live stream over TLS, then a ping frame (masked, empty) that the server must answer with a pong.
        with context(ca).wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as tls:
            tls.sendall(b"GET /v1/streams/web/clicks/live HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += tls.recv(1)
            tls.sendall(bytes([0x89, 0x80, 1, 2, 3, 4]))
            frame = b""
            while len(frame) < 2:
                frame += tls.recv(2 - len(frame))
            print(json.dumps({"status_line": head.split(b"\r\n")[0].decode(), "frame": frame.hex()}))
    elif command == "reload":
        # SIGHUP with a new certificate in place, then with a broken key; an open connection lives through both.
        pid, log, certificate, key, new_certificate, new_key = int(sys.argv[4]), *sys.argv[5:10]
        result = {"before": serial(port, ca)}
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=context(ca), timeout=10)
        kept.request("GET", "/health")
        response = kept.getresponse(); response.read()
        result["kept_first"] = response.status
        os.replace(new_certificate, certificate)
        os.replace(new_key, key)
        os.kill(pid, signal.SIGHUP)
        result["switched"] = until(30, lambda: serial(port, ca) != result["before"])
        result["after"] = serial(port, ca)
        kept.request("GET", "/health")
        response = kept.getresponse(); response.read()
        result["kept_second"] = response.status
        result["kept_serial"] = int(kept.sock.getpeercert()["serialNumber"], 16)
        with open(key, "w") as broken:
            broken.write("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        os.kill(pid, signal.SIGHUP)
        result["failure_logged"] = until(30, lambda: "reload on SIGHUP failed" in open(log).read())
        result["after_broken"] = serial(port, ca)
        print(json.dumps(result))
    """#

@Suite("server.tls: HTTPS on the listener, through the binary", .serialized)
struct TLSListenerTests {
    /// A gateway on TLS with `first.crt` as `server.crt`, and the certificates' directory (also its working directory).
    private static func start(extra: String = "") throws -> (SluiceProcess, TestCertificates) {
        let directory = try makeTemporaryDirectory("sluice-tls")
        let certificates = try TestCertificates(in: directory)
        try certificates.issue("first", serial: 1001)
        try FileManager.default.copyItem(atPath: certificates.path("first.crt"), toPath: certificates.path("server.crt"))
        try FileManager.default.copyItem(atPath: certificates.path("first.key"), toPath: certificates.path("server.key"))
        try Data(probeScript.utf8).write(to: directory.appendingPathComponent("tls_probe.py"))
        let config = testConfig(
            extra: """
                server:
                  max_body_kb: 64
                  tls: {certificate: server.crt, private_key: server.key}
                \(extra)
                """)
        return (try SluiceProcess(directory: directory, config: config), certificates)
    }

    /// Runs a probe subcommand against the gateway and returns its JSON line.
    private static func probe(_ process: SluiceProcess, _ arguments: [String]) throws -> [String: Any] {
        let completion = try TestProcess.run(
            TestProcess.Command(
                "python3", ["tls_probe.py", arguments[0], String(process.port), "ca.pem"] + arguments.dropFirst(), directory: process.directory),
            timeout: .seconds(120))
        guard completion.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(completion.output.utf8)) as? [String: Any]
        else {
            throw TestProcessError(
                message: "tls_probe.py \(arguments[0]) failed (\(completion.status ?? -1)): \(completion.errors)\(completion.output)")
        }
        return object
    }

    @Test("/health and a POST of an event are answered over TLS; plain HTTP gets no answer; the edge's limits still apply")
    func servesHTTPS() throws {
        let (process, _) = try Self.start()
        defer {
            process.terminate()
            try? FileManager.default.removeItem(at: process.directory)
        }

        let health = try Self.probe(process, ["get", "/health"])
        #expect(health["status"] as? Int == 200)
        #expect((health["body"] as? String)?.contains("\"ok\":true") == true)

        let posted = try Self.probe(process, ["post", eventBody("tls-1")])
        #expect(posted["status"] as? Int == 202)

        let plain = try Self.probe(process, ["plain"])
        let received = try #require(plain["received"] as? String)
        #expect(!received.hasPrefix("HTTP/1.1 2"), "plain HTTP was answered: \(received.prefix(200))")
        #expect(!received.contains("\"ok\""))

        let tooLarge = try Self.probe(process, ["too-large"])
        #expect(tooLarge["status"] as? Int == 413)
        #expect(tooLarge["type"] as? String == "application/problem+json")
        #expect((tooLarge["body"] as? String)?.contains("body-too-large") == true)
        #expect(process.isRunning)
    }

    @Test("SIGHUP: new connections get the new certificate, an open one keeps working; a broken key keeps the old one")
    func reloadsOnSIGHUP() throws {
        let (process, certificates) = try Self.start()
        defer {
            process.terminate()
            try? FileManager.default.removeItem(at: process.directory)
        }
        try certificates.issue("second", serial: 2002)

        let result = try Self.probe(
            process,
            [
                "reload", String(process.pid), process.logFile.path, certificates.path("server.crt"), certificates.path("server.key"),
                certificates.path("second.crt"), certificates.path("second.key"),
            ])
        #expect(result["before"] as? Int == 1001)
        #expect(result["switched"] as? Bool == true)
        #expect(result["after"] as? Int == 2002)
        #expect(result["kept_first"] as? Int == 200)
        #expect(result["kept_second"] as? Int == 200, "the connection opened before the reload was dropped")
        #expect(result["kept_serial"] as? Int == 1001)
        #expect(result["failure_logged"] as? Bool == true)
        #expect(result["after_broken"] as? Int == 2002)
        #expect(process.isRunning)
        #expect(process.log.contains("server.tls: certificate reloaded on SIGHUP"))
    }

    @Test("with live.websocket, the upgrade and the frames go over TLS too")
    func webSocketOverTLS() throws {
        let (process, _) = try Self.start(extra: "live: {websocket: true}")
        defer {
            process.terminate()
            try? FileManager.default.removeItem(at: process.directory)
        }
        let result = try Self.probe(process, ["websocket"])
        #expect(result["status_line"] as? String == "HTTP/1.1 101 Switching Protocols")
        #expect(result["frame"] as? String == "8a00", "expected an empty pong")
        #expect(try Self.probe(process, ["get", "/health"])["status"] as? Int == 200)
    }

    @Test("check-config and serve name a key that does not go with the certificate")
    func mismatchedKey() throws {
        let directory = try makeTemporaryDirectory("sluice-tls-check")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(in: directory)
        try certificates.issue("first", serial: 1001)
        try testConfig(extra: "server: {tls: {certificate: first.crt, private_key: ca.key}}")
            .write(to: directory.appendingPathComponent("tls.yaml"), atomically: true, encoding: .utf8)
        let check = try SluiceProcess.run(["check-config", "tls.yaml"], in: directory)
        #expect(check.status == 1)
        #expect(check.output.contains("server.tls: the private key 'ca.key' does not go with the certificate 'first.crt'"), "\(check.output)")
        let serve = try TestProcess.run(
            SluiceProcess.command(["serve", "--config", "tls.yaml", "--port", "0", "--host", "127.0.0.1"], in: directory), timeout: .seconds(60),
            mergingErrors: true)
        #expect(serve.status != nil && serve.status != 0)
        #expect(serve.output.contains("does not go with the certificate"), "\(serve.output)")
    }
}
