public import GatewayConfig
public import GatewayCore

/// The router's decision for one event.
public struct RouteDecision: Sendable, Equatable {
    /// The stream the event belongs to (the default stream when the request named none).
    public var stream: StreamReference
    /// Where the event goes.
    public var route: Route
    /// Whether the event is also archived (always true for the local route, whose destination is the archive).
    public var isArchived: Bool
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

/// A pure function from (event facts, configuration) to a route, precomputed per stream.
///
/// Rules (see `docs/routing.md`): an event whose payload is at most the stream's `large_message_threshold_kb`
/// and not marked `large_message: true` goes to the stream's Kinesis stream; otherwise to its Kafka topic.
/// A stream with only one backend sends everything there; a stream with neither uses the embedded default
/// (`local`: the log and the archive). A backend counts only when its config section is present.
/// If the record is too large for the preferred route, the stream's other route is tried; too large for
/// every route it may take is an error naming the limit.
public struct Router: Sendable {
    private struct StreamRoutes: Sendable {
        var reference: StreamReference
        var thresholdBytes: Int
        var kinesis: (name: String, limit: Int)?
        var kafka: (name: String, limit: Int)?
        var archivesCopies: Bool
    }

    private let streams: [StreamReference: StreamRoutes]
    private let defaultStream: StreamReference?
    private let localLimitBytes: Int

    /// Precomputes every stream's routes from a validated configuration.
    public init(configuration: Configuration) {
        var streams: [StreamReference: StreamRoutes] = [:]
        for stream in configuration.streams {
            let reference = StreamReference(team: stream.team, app: stream.app)
            let threshold = saturatingBytes(stream.largeMessageThresholdKB ?? configuration.routing.largeMessageThresholdKB, unit: 1024)
            var routes = StreamRoutes(
                reference: reference,
                thresholdBytes: threshold,
                archivesCopies: configuration.archive.enabled && stream.archive
            )
            if let name = stream.kinesisStream, let kinesis = configuration.kinesis {
                routes.kinesis = (name, saturatingBytes(kinesis.maxRecordSizeKB, unit: 1024))
            }
            if let name = stream.kafkaTopic, let kafka = configuration.kafka {
                routes.kafka = (name, kafka.messageMaxBytes)
            }
            streams[reference] = routes
        }
        self.streams = streams
        self.defaultStream = configuration.defaultStream
        self.localLimitBytes = saturatingBytes(configuration.durability.segmentSizeMB, unit: 1024 * 1024)
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
        let isLarge = largeMessage || payloadBytes > routes.thresholdBytes
        var candidates: [(Route, Int)] = []
        switch (routes.kinesis, routes.kafka) {
        case (let kinesis?, let kafka?):
            if !isLarge { candidates.append((.kinesis(stream: kinesis.name), kinesis.limit)) }
            candidates.append((.kafka(topic: kafka.name), kafka.limit))
        case (let kinesis?, nil):
            candidates.append((.kinesis(stream: kinesis.name), kinesis.limit))
        case (nil, let kafka?):
            candidates.append((.kafka(topic: kafka.name), kafka.limit))
        case (nil, nil):
            candidates.append((.local, localLimitBytes))
        }
        for (route, limit) in candidates where recordBytes <= limit {
            return RouteDecision(
                stream: reference,
                route: route,
                isArchived: route == .local || routes.archivesCopies,
                isLarge: isLarge,
                maxRecordBytes: limit
            )
        }
        let limit = candidates.map(\.1).max() ?? 0
        let names = candidates.map { $0.0.description }.joined(separator: ", ")
        throw RoutingError(
            code: .tooLarge,
            message: "the record is \(recordBytes) bytes, over the \(limit)-byte limit of every route it may take (\(names))",
            limitBytes: limit
        )
    }
}

/// `count * unit` in bytes, clamped to `0...Int.max`: the loader bounds every size, but a `Configuration` built in
/// code is not checked, and a limit must never trap.
private func saturatingBytes(_ count: Int, unit: Int) -> Int {
    guard count > 0 else { return 0 }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: unit)
    return overflow ? Int.max : bytes
}
