/// Envelope fields extracted from one event object by ``EnvelopeScanner/scanEnvelope(_:maxDepth:)``.
///
/// String fields are decoded (escapes resolved). `payload` is not decoded at all: it is the
/// byte range of the payload value in the scanned buffer, so the caller forwards those bytes as received.
public struct ScannedEnvelope: Sendable, Equatable {
    /// The `team` member; `nil` when absent or JSON `null`.
    public var team: String?
    /// The `app` member; `nil` when absent or JSON `null`.
    public var app: String?
    /// The `partition_key` member; `nil` when absent or JSON `null`.
    public var partitionKey: String?
    /// The `event_id` member; `nil` when absent or JSON `null`.
    public var eventID: String?
    /// The `large_message` member; `nil` when absent or JSON `null`.
    public var largeMessage: Bool?
    /// Byte offsets of the `payload` value in the input: exactly the value's bytes, without surrounding whitespace.
    public var payload: Range<Int>

    /// Creates an envelope value (the scanner is the usual source of these; tests build expected values with it).
    /// - Parameters:
    ///   - team: The decoded `team` string.
    ///   - app: The decoded `app` string.
    ///   - partitionKey: The decoded `partition_key` string.
    ///   - eventID: The decoded `event_id` string.
    ///   - largeMessage: The `large_message` flag.
    ///   - payload: The byte range of the payload value.
    public init(
        team: String? = nil,
        app: String? = nil,
        partitionKey: String? = nil,
        eventID: String? = nil,
        largeMessage: Bool? = nil,
        payload: Range<Int>
    ) {
        self.team = team
        self.app = app
        self.partitionKey = partitionKey
        self.eventID = eventID
        self.largeMessage = largeMessage
        self.payload = payload
    }
}
