public import GatewayConfig
public import GatewayCore

/// The router's decision for one event.
public struct RouteDecision: Sendable, Equatable {
    /// The stream the event belongs to (the default stream when the request named none).
    public var stream: StreamReference
    /// Where the event goes.
    public var route: Route
    /// The other sinks that get a copy (the archive, unless it is the route itself).
    public var copies: SinkSet
    /// Whether the event took the large-message path (payload over the threshold, or `large_message: true`).
    public var isLarge: Bool
    /// The chosen route's maximum record size in bytes.
    public var maxRecordBytes: Int
}

/// Why an event cannot be routed.
public struct RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem: an opaque code, so new ones break no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case unknownStream, missingStream, tooLarge }
        private let value: Value
        /// `team`/`app` name no configured stream (HTTP 404).
        public static let unknownStream = Code(value: .unknownStream)
        /// The request named no stream and there is no `default_stream`, or named only one of team/app (HTTP 400).
        public static let missingStream = Code(value: .missingStream)
        /// The record is larger than every route it may take (HTTP 413).
        public static let tooLarge = Code(value: .tooLarge)
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    /// For ``Code/tooLarge``: the largest limit among the routes the event could take, in bytes.
    public var limitBytes: Int?

    public var description: String { message }
}

/// Where one stream's events may go, in order of preference, as the wiring maps the configuration onto the
/// registered sinks (see `makeRouter(configuration:sinks:)` in GatewayApp).
public struct StreamRoutes: Sendable {
    /// One route an event of the stream may take.
    public struct Candidate: Sendable, Equatable {
        /// The route.
        public var route: Route
        /// The largest record the route takes, in bytes.
        public var maxRecordBytes: Int
        /// Whether large events (over the threshold, or `large_message: true`) may take it.
        public var takesLargeEvents: Bool

        public init(route: Route, maxRecordBytes: Int, takesLargeEvents: Bool) {
            self.route = route
            self.maxRecordBytes = maxRecordBytes
            self.takesLargeEvents = takesLargeEvents
        }
    }

    /// The stream.
    public var stream: StreamReference
    /// Payloads over this many bytes are large.
    public var largeThresholdBytes: Int
    /// The routes to try, first that fits wins.
    public var candidates: [Candidate]
    /// The sinks that get a copy of every event of the stream, whatever its route (the archive).
    public var copies: SinkSet

    public init(stream: StreamReference, largeThresholdBytes: Int, candidates: [Candidate], copies: SinkSet) {
        self.stream = stream
        self.largeThresholdBytes = largeThresholdBytes
        self.candidates = candidates
        self.copies = copies
    }
}

/// A pure function from (event facts, the streams' routes) to a route.
///
/// Rules (see `docs/routing.md`): an event takes the first of its stream's candidates that accepts its size class
/// (large: payload over the stream's threshold or `large_message: true`) and whose limit its record fits. Too large
/// for every route it may take is an error naming the limit. Which sinks a stream's candidates name is the wiring's
/// business: the router knows no sink.
public struct Router: Sendable {
    private let streams: [StreamReference: StreamRoutes]
    private let defaultStream: StreamReference?

    /// Precomputed routes per stream, and the stream a request naming none belongs to.
    public init(streams: [StreamRoutes], defaultStream: StreamReference?) {
        var table: [StreamReference: StreamRoutes] = [:]
        for routes in streams { table[routes.stream] = routes }
        self.streams = table
        self.defaultStream = defaultStream
    }

    /// Resolves the stream a request names (or the default stream).
    /// - Throws: ``RoutingError`` with ``RoutingError/Code/missingStream`` or ``RoutingError/Code/unknownStream``.
    public func stream(team: String?, app: String?) throws(RoutingError) -> StreamReference {
        let reference: StreamReference
        switch (team, app) {
        case (nil, nil):
            guard let defaultStream else {
                throw RoutingError(
                    code: .missingStream,
                    message: "the event names no stream: give 'team' and 'app' (no default_stream is configured)"
                )
            }
            reference = defaultStream
        case (let team?, let app?):
            reference = StreamReference(team: team, app: app)
        case (nil, _):
            throw RoutingError(code: .missingStream, message: "'app' is given without 'team': give both or neither")
        case (_, nil):
            throw RoutingError(code: .missingStream, message: "'team' is given without 'app': give both or neither")
        }
        guard streams[reference] != nil else {
            throw RoutingError(
                code: .unknownStream,
                message: "no stream is configured for team '\(reference.team)' and app '\(reference.app)'"
            )
        }
        return reference
    }

    /// Decides the route of one event.
    /// - Parameters:
    ///   - stream: the resolved stream (from ``stream(team:app:)``).
    ///   - payloadBytes: the payload's size as received; compared with the large-message threshold.
    ///   - recordBytes: the size of the record sent to the backend (the versioned envelope); compared with each route's limit.
    ///   - largeMessage: the envelope's `large_message` flag.
    /// - Throws: ``RoutingError`` when the stream is unknown or the record fits no route.
    public func decide(
        stream reference: StreamReference,
        payloadBytes: Int,
        recordBytes: Int,
        largeMessage: Bool
    ) throws(RoutingError) -> RouteDecision {
        guard let routes = streams[reference] else {
            throw RoutingError(
                code: .unknownStream,
                message: "no stream is configured for team '\(reference.team)' and app '\(reference.app)'"
            )
        }
        let isLarge = largeMessage || payloadBytes > routes.largeThresholdBytes
        // The hot path allocates nothing: the candidates are scanned in place; only the error builds lists.
        for candidate in routes.candidates where (!isLarge || candidate.takesLargeEvents) && recordBytes <= candidate.maxRecordBytes {
            var copies = routes.copies
            copies.rawValue &= ~candidate.route.sink.bit
            return RouteDecision(
                stream: reference,
                route: candidate.route,
                copies: copies,
                isLarge: isLarge,
                maxRecordBytes: candidate.maxRecordBytes
            )
        }
        let candidates = routes.candidates.filter { !isLarge || $0.takesLargeEvents }
        let limit = candidates.map(\.maxRecordBytes).max() ?? 0
        let names = candidates.map { $0.route.description }.joined(separator: ", ")
        throw RoutingError(
            code: .tooLarge,
            message: "the record is \(recordBytes) bytes, over the \(limit)-byte limit of every route it may take (\(names))",
            limitBytes: limit
        )
    }
}
