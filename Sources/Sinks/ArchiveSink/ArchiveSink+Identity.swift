public import GatewayCore

extension SinkID {
    /// The archive: the embedded default route (`local`) and the copy every archived stream gets. Slot 0.
    public static let archive = SinkID(name: "archive", slot: 0, routeName: "local")
}

extension Route {
    /// The embedded default: the log, delivered to the archive.
    public static let local = Route(sink: .archive)
}
