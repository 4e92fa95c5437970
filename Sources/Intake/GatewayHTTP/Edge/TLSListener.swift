public import GatewayConfig
import HummingbirdCore
public import Logging
import NIOCore
public import NIOSSL
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// Why the certificate or key of `server.tls` cannot be used.
public struct TLSListenerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong and what to fix.
    public let message: String

    public var description: String { message }
}

/// The TLS context new connections of the listener use (`server.tls`): built from the certificate and key files,
/// replaced as a whole by ``reload()`` (an `NIOSSLContext` is immutable). A connection keeps the context it started
/// with, so a reload never touches an open connection.
public final class ServerTLSContext: Sendable {
    /// The files the context is read from.
    public let configuration: ServerTLSConfiguration
    private let current: Mutex<NIOSSLContext>

    /// Reads the certificate chain and key and builds the first context.
    /// - Throws: ``TLSListenerError`` naming the file that is unreadable, not PEM, or not the certificate's key.
    public init(configuration: ServerTLSConfiguration) throws(TLSListenerError) {
        self.configuration = configuration
        self.current = Mutex(try Self.makeContext(configuration))
    }

    /// The context for a connection opening now.
    public var context: NIOSSLContext { current.withLock { $0 } }

    /// Reads both files again and makes the result the context of new connections. On failure the old context
    /// stays in use.
    /// - Throws: ``TLSListenerError`` as ``init(configuration:)``.
    public func reload() throws(TLSListenerError) {
        let context = try Self.makeContext(configuration)
        current.withLock { $0 = context }
    }

    /// What is wrong with the files of `configuration`, as `sluice check-config` reports it; empty when a context
    /// can be built.
    public static func problems(_ configuration: ServerTLSConfiguration?) -> [String] {
        guard let configuration else { return [] }
        do {
            _ = try makeContext(configuration)
            return []
        } catch {
            return [error.message]
        }
    }

    static func makeContext(_ files: ServerTLSConfiguration) throws(TLSListenerError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        } catch {
            throw TLSListenerError(
                message: "server.tls.certificate: cannot load '\(files.certificatePath)' as a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else {
            throw TLSListenerError(message: "server.tls.certificate: '\(files.certificatePath)' holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        } catch {
            throw TLSListenerError(
                message: "server.tls.private_key: cannot load '\(files.privateKeyPath)' as an unencrypted PEM private key (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        // HTTP/2 is not offered: the edge (EdgeGuard) reads HTTP/1 parts only (docs/http-edge.md#tls).
        tls.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw TLSListenerError(
                message: "server.tls: the private key '\(files.privateKeyPath)' does not go with the certificate "
                    + "'\(files.certificatePath)', or BoringSSL refused them (\(error))")
        }
    }

    /// `base` behind TLS with this context, or `base` itself without one.
    static func wrap<Base: ServerChildChannel>(_ base: Base, in tls: ServerTLSContext?) -> any ServerChildChannel {
        guard let tls else { return base }
        return ReloadingTLSChannel(base: base, tls: tls)
    }
}

/// A child channel with TLS in front of `base`'s handlers: the TLS handler is made per connection from the context
/// current when it opens, and it is put first in the pipeline after `base` is set up, so every handler of `base`
/// (the edge's byte observer included, which `EdgeGuard` puts first) sees decrypted bytes.
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let tls: ServerTLSContext

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = tls.context
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Reads `server.tls`'s certificate and key again on every SIGHUP (new connections use them; open ones keep theirs).
/// A reload that fails is logged, and the previous certificate keeps serving.
public struct TLSReloadService: Service {
    let tls: ServerTLSContext
    let logger: Logger

    public init(tls: ServerTLSContext, logger: Logger) {
        self.tls = tls
        self.logger = logger
    }

    public func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try tls.reload()
                logger.info(
                    "server.tls: certificate reloaded on SIGHUP",
                    metadata: ["certificate": "\(tls.configuration.certificatePath)", "private_key": "\(tls.configuration.privateKeyPath)"])
            } catch {
                logger.error("server.tls: reload on SIGHUP failed, the previous certificate keeps serving: \(error.message)")
            }
        }
    }
}
