/// Log metadata keys, declared once: lowercase, dotted, namespaced.
public enum LoggingKeys {
    public static let requestID = "sluice.request_id"
    public static let eventID = "sluice.event_id"
    public static let route = "sluice.route"
    public static let stream = "sluice.stream"
    public static let sink = "sluice.sink"
    public static let error = "sluice.error"
    public static let path = "sluice.path"
    public static let sequence = "sluice.sequence"
}
