internal import CRDKafka
internal import Logging
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Handlers a client calls back into; shared by the producer (and a future consumer).
///
/// Every handler runs on the client's poll thread (the delivery-report, statistics and
/// OAUTHBEARER ones from inside `rd_kafka_poll`), except the error handler, which librdkafka may
/// call from its own threads, the delivery reports collected during `flush()`, which arrive on the
/// flushing thread, and at `close()` a last batch of delivery reports, which arrives on the
/// closing thread after the poll thread stopped. The delivery report handler may therefore run
/// on two threads at once. Handlers must return quickly and must not
/// call `close()` on the client that called them.
public struct KafkaClientHandlers: Sendable {
    /// Called with every delivery report collected during one `rd_kafka_poll` call.
    public var deliveryReports: @Sendable ([KafkaDeliveryReport]) -> Void
    /// Called with librdkafka's statistics JSON every `statistics.interval.ms` (when that
    /// property is set and non-zero).
    public var statistics: (@Sendable (String) -> Void)?
    /// Called with client-level errors (`error_cb`: brokers down, authentication failures, fatal
    /// errors). These are also logged.
    public var error: (@Sendable (KafkaError) -> Void)?
    /// Called when SASL/OAUTHBEARER needs a (new) token, with the value of
    /// `sasl.oauthbearer.config` (nil when unset). Only used with `sasl.mechanism=OAUTHBEARER`.
    public var oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)?

    /// Creates a set of handlers; only `deliveryReports` is required.
    public init(
        deliveryReports: @escaping @Sendable ([KafkaDeliveryReport]) -> Void,
        statistics: (@Sendable (String) -> Void)? = nil,
        error: (@Sendable (KafkaError) -> Void)? = nil,
        oauthBearerToken: (@Sendable (String?) -> Result<KafkaOAuthBearerToken, KafkaOAuthBearerTokenError>)? = nil
    ) {
        self.deliveryReports = deliveryReports
        self.statistics = statistics
        self.error = error
        self.oauthBearerToken = oauthBearerToken
    }
}

/// A librdkafka pointer that is safe to share: librdkafka's handle functions are thread safe, and
/// the owner guarantees the pointer outlives every user.
struct KafkaPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The object librdkafka's callbacks reach through the configuration opaque. It outlives the
/// `rd_kafka_t` handle (released only after `rd_kafka_destroy`).
final class KafkaClientContext: Sendable {
    let logger: Logger
    let handlers: KafkaClientHandlers
    /// Delivery reports collected by `dr_msg_cb` and not yet handed to the handler.
    private let pending = Mutex<[KafkaDeliveryReport]>([])
    /// Outcome of the last OAUTHBEARER refresh (nil before the first): for diagnostics and tests.
    let lastTokenRefresh = Mutex<Result<Int64, KafkaOAuthBearerTokenError>?>(nil)

    init(logger: Logger, handlers: KafkaClientHandlers) {
        self.logger = logger
        self.handlers = handlers
    }

    /// Called from `dr_msg_cb` (inside `rd_kafka_poll`/`rd_kafka_flush`, on whichever thread polls).
    func collect(_ report: KafkaDeliveryReport) {
        pending.withLock { $0.append(report) }
    }

    /// Hands everything collected so far to the delivery report handler (one call, if any).
    func deliverPending() {
        let batch = pending.withLock { pending -> [KafkaDeliveryReport] in
            if pending.isEmpty { return [] }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            return batch
        }
        if !batch.isEmpty { handlers.deliveryReports(batch) }
    }

    /// Recovers the context from a callback's opaque pointer.
    static func from(_ opaque: UnsafeMutableRawPointer?) -> KafkaClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Builds an `rd_kafka_conf_t` from string properties and installs the context's callbacks.
/// Shared by every client kind.
enum KafkaConfigurationBuilder {
    /// Returns a new `rd_kafka_conf_t *`; the caller owns it (pass it to `rd_kafka_new` or
    /// destroy it). Properties are applied in sorted order so the outcome never depends on
    /// dictionary order.
    static func make(
        properties: [String: String],
        context: KafkaClientContext,
        opaque: UnsafeMutableRawPointer
    ) throws(KafkaConfigurationError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaConfigurationError(property: nil, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                var message = KafkaError.string(errstr)
                if message.isEmpty {
                    message = result == RD_KAFKA_CONF_UNKNOWN ? "unknown configuration property" : "invalid value"
                }
                throw KafkaConfigurationError(property: name, message: message)
            }
        }
        rd_kafka_conf_set_opaque(conf, opaque)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_dr_msg_cb(conf, kafkaDeliveryReportCallback)
        if context.handlers.statistics != nil {
            rd_kafka_conf_set_stats_cb(conf, kafkaStatisticsCallback)
        }
        if context.handlers.oauthBearerToken != nil {
            rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, kafkaTokenRefreshCallback)
        }
        return conf
    }
}

/// Creates `rd_kafka_t` handles with a ``KafkaClientContext`` installed: shared by the producer and the reader.
enum KafkaClientFactory {
    /// A new handle of `type`; the context's retain is owned by the caller (release it after `rd_kafka_destroy`).
    static func make(
        type: rd_kafka_type_t, properties: [String: String], context: KafkaClientContext
    ) throws(KafkaConfigurationError) -> (handle: KafkaPointer, opaque: KafkaRawOpaque) {
        let opaque = Unmanaged.passRetained(context).toOpaque()
        let conf: OpaquePointer
        do {
            conf = try KafkaConfigurationBuilder.make(properties: properties, context: context, opaque: opaque)
        } catch {
            Unmanaged<KafkaClientContext>.fromOpaque(opaque).release()
            throw error
        }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf) // not taken over on failure
            Unmanaged<KafkaClientContext>.fromOpaque(opaque).release()
            throw KafkaConfigurationError(property: nil, message: KafkaError.string(errstr))
        }
        return (KafkaPointer(pointer: rk), KafkaRawOpaque(pointer: opaque))
    }
}

// MARK: - C callbacks (no captures: everything goes through the configuration opaque)

private let kafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    rk, level, facility, buffer in
    guard let rk, let context = KafkaClientContext.from(rd_kafka_opaque(rk)) else { return }
    let logLevel: Logger.Level
    switch level {
    case ...2: logLevel = .critical
    case 3: logLevel = .error
    case 4: logLevel = .warning
    case 5: logLevel = .notice
    case 6: logLevel = .info
    default: logLevel = .debug
    }
    let text = buffer.map { String(cString: $0) } ?? ""
    let fac = facility.map { String(cString: $0) } ?? ""
    context.logger.log(level: logLevel, "\(text)", metadata: [KafkaLoggingKeys.facility: "\(fac)"])
}

private let kafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    rk, err, reason, opaque in
    guard let context = KafkaClientContext.from(opaque) else { return }
    let error = KafkaError(code: rd_kafka_resp_err_t(err), detail: reason.map { String(cString: $0) }, handle: rk)
    context.logger.log(level: error.isFatal ? .critical : .warning, "librdkafka error: \(error)")
    context.handlers.error?(error)
}

private let kafkaDeliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    rk, message, opaque in
    guard let message, let context = KafkaClientContext.from(opaque) else { return }
    let msg = message.pointee
    var error: KafkaError?
    if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
        // Not rd_kafka_message_errstr: for a produced message it returns the payload (not
        // NUL-terminated) instead of an error string. The code's description is what there is.
        error = KafkaError(code: msg.err, handle: rk)
    }
    let topic = msg.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""
    let micros = rd_kafka_message_latency(message)
    context.collect(
        KafkaDeliveryReport(
            tag: UInt64(UInt(bitPattern: msg._private)),
            topic: topic,
            partition: msg.partition,
            offset: error == nil ? msg.offset : (msg.offset >= 0 ? msg.offset : KafkaDeliveryReport.invalidOffset),
            error: error,
            latency: micros >= 0 ? .microseconds(micros) : nil
        ))
}

private let kafkaStatisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, json, length, opaque in
    guard let json, let context = KafkaClientContext.from(opaque), let handler = context.handlers.statistics else {
        return 0
    }
    let text = UnsafeRawBufferPointer(start: json, count: length).withMemoryRebound(to: UInt8.self) {
        String(decoding: $0, as: UTF8.self)
    }
    handler(text)
    return 0 // librdkafka frees the JSON buffer
}

private let kafkaTokenRefreshCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    rk, config, opaque in
    guard let rk, let context = KafkaClientContext.from(opaque), let provider = context.handlers.oauthBearerToken else {
        return
    }
    switch provider(config.map { String(cString: $0) }) {
    case .success(let token):
        var errstr = [CChar](repeating: 0, count: 512)
        let extensions = token.extensions.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
        let cStrings: [UnsafeMutablePointer<CChar>?] = extensions.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { pointers in
            rd_kafka_oauthbearer_set_token(
                rk, token.value, token.lifetimeMs, token.principal,
                pointers.count == 0 ? nil : UnsafeMutablePointer(mutating: pointers.baseAddress),
                pointers.count, &errstr, errstr.count)
        }
        if result == RD_KAFKA_RESP_ERR_NO_ERROR {
            context.lastTokenRefresh.withLock { $0 = .success(token.lifetimeMs) }
            context.logger.debug("OAUTHBEARER token set", metadata: [KafkaLoggingKeys.tokenLifetimeMillis: "\(token.lifetimeMs)"])
        } else {
            let failure = KafkaOAuthBearerTokenError(
                "rd_kafka_oauthbearer_set_token: \(String(cString: rd_kafka_err2name(result))): \(KafkaError.string(errstr))")
            context.lastTokenRefresh.withLock { $0 = .failure(failure) }
            context.logger.error("\(failure)")
            _ = rd_kafka_oauthbearer_set_token_failure(rk, failure.message)
        }
    case .failure(let failure):
        context.lastTokenRefresh.withLock { $0 = .failure(failure) }
        context.logger.error("OAUTHBEARER token refresh failed: \(failure.message)")
        _ = rd_kafka_oauthbearer_set_token_failure(rk, failure.message)
    }
}
