/// An accepted event as it travels from the gateway through the log to the sinks.
///
/// `envelope` is the versioned JSON envelope sent to every backend, one line without a newline:
/// `{"v":1,"event_id":…,"team":…,"app":…,"partition_key":…,"received_at":…,"payload":…}`.
/// The other fields repeat what sinks need without re-parsing it.
///
/// The record keeps one buffer, ``body``: the envelope followed by a small trailer with the routing fields. That is
/// exactly what the log stores, so appending shares the buffer and reading back slices it: the envelope is copied
/// once on the way in (from the request) and not again until a sink writes it out.
public struct EventRecord: Sendable, Equatable {
    /// The client's `event_id`, or a generated UUIDv7.
    public let eventID: String
    /// The stream's team.
    public let team: String
    /// The stream's app.
    public let app: String
    /// The partition key (defaults to the event id).
    public let partitionKey: String
    /// When the gateway received the event, in Unix epoch milliseconds.
    public let receivedAtMillis: Int64
    /// The route the router chose; its sink's acknowledgement is the event's receipt.
    public let route: Route
    /// The sinks that also get a copy of the event (the archive, for a stream with `archive: true`).
    public let copies: SinkSet
    /// A process-local token naming a confirmed request waiting for this record's receipt; 0 when nobody waits.
    public let waiterToken: UInt64
    /// The envelope followed by the routing trailer: what the log stores (see ``encodedBody()``).
    public let body: [UInt8]
    /// How many leading bytes of ``body`` are the envelope.
    let envelopeCount: Int

    /// The versioned JSON envelope bytes.
    public var envelope: ArraySlice<UInt8> { body[0..<envelopeCount] }

    /// Creates a record, taking `envelope` as the start of its buffer (appending the trailer in place when the
    /// caller reserved room and holds the only reference).
    public init(
        eventID: String,
        team: String,
        app: String,
        partitionKey: String,
        receivedAtMillis: Int64,
        route: Route,
        copies: SinkSet = .empty,
        waiterToken: UInt64 = 0,
        envelope: consuming [UInt8]
    ) {
        var buffer = envelope
        let envelopeCount = buffer.count
        Self.appendTrailer(
            to: &buffer, route: route, copies: copies, waiterToken: waiterToken,
            team: team, app: app, partitionKey: partitionKey
        )
        self.init(
            eventID: eventID, team: team, app: app, partitionKey: partitionKey, receivedAtMillis: receivedAtMillis,
            route: route, copies: copies, waiterToken: waiterToken, body: buffer, envelopeCount: envelopeCount
        )
    }

    init(
        eventID: String, team: String, app: String, partitionKey: String, receivedAtMillis: Int64, route: Route,
        copies: SinkSet, waiterToken: UInt64, body: [UInt8], envelopeCount: Int
    ) {
        self.eventID = eventID
        self.team = team
        self.app = app
        self.partitionKey = partitionKey
        self.receivedAtMillis = receivedAtMillis
        self.route = route
        self.copies = copies
        self.waiterToken = waiterToken
        self.body = body
        self.envelopeCount = envelopeCount
    }

    /// Bytes to reserve after an envelope so the trailer fits without reallocating.
    public static func trailerCapacity(team: String, app: String, partitionKey: String, destination: String) -> Int {
        40 + team.utf8.count + app.utf8.count + partitionKey.utf8.count + destination.utf8.count
    }

    /// Every sink this record goes to: the route's sink and the copies.
    public var sinks: SinkSet {
        var sinks = copies
        sinks.insert(route.sink)
        return sinks
    }
}
