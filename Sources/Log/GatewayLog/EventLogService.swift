public import ServiceLifecycle

/// Keeps the log open while the gateway runs and closes it (final sync, cursors persisted) at shutdown.
/// It is the first service, so it is shut down last: after the HTTP server and every dispatcher have drained.
public struct EventLogService: Service {
    let log: any EventLog

    public init(log: any EventLog) {
        self.log = log
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await log.close()
    }
}
