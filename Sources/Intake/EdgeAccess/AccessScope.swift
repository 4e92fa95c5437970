/// What a credential may do on a stream (`scopes:` in `auth:`); each endpoint needs exactly one (docs/edge.md).
public enum AccessScope: String, Sendable, Hashable, CaseIterable {
    /// `POST /v1/events` and `POST /v1/events/batch`.
    case ingest
    /// `POST /v1/events/confirmed` (the request waits for the backend's receipt).
    case confirmed
    /// The stream list, `GET /v1/streams/{team}/{app}/events` and the live streams (SSE and WebSocket).
    case read
    /// `/metrics`, `/dashboard` and the subscription endpoints; granted on any stream pattern, it applies to all.
    case admin
}

/// A `streams:` entry of a grant: `team/app`, `team/*` or `*`.
public struct StreamPattern: Sendable, Hashable, CustomStringConvertible {
    /// The team, `nil` for `*`.
    public let team: String?
    /// The app, `nil` for `team/*` and `*`.
    public let app: String?

    /// Parses `team/app`, `team/*` or `*`; `nil` for anything else (the configuration reports those).
    public init?(_ text: String) {
        if text == "*" {
            team = nil
            app = nil
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != "*" else { return nil }
        team = String(parts[0])
        app = parts[1] == "*" ? nil : String(parts[1])
        if let app, app.contains("*") { return nil }
    }

    /// Whether the stream `team/app` matches.
    public func matches(team: String, app: String) -> Bool {
        guard let ownTeam = self.team else { return true }
        guard ownTeam == team else { return false }
        return self.app.map { $0 == app } ?? true
    }

    public var description: String {
        guard let team else { return "*" }
        return "\(team)/\(app ?? "*")"
    }
}

/// Stream patterns and scopes: what one API key (or anonymous access) is allowed.
public struct AccessGrant: Sendable, Equatable {
    public var streams: [StreamPattern]
    public var scopes: Set<AccessScope>

    public init(streams: [StreamPattern], scopes: Set<AccessScope>) {
        self.streams = streams
        self.scopes = scopes
    }

    /// Nothing at all.
    public static let none = AccessGrant(streams: [], scopes: [])

    /// Whether `scope` is granted on `team/app`.
    public func allows(_ scope: AccessScope, team: String, app: String) -> Bool {
        scopes.contains(scope) && streams.contains { $0.matches(team: team, app: app) }
    }

    /// Whether `scope` is granted on any stream (`admin`, and the stream list).
    public func allowsAnywhere(_ scope: AccessScope) -> Bool {
        scopes.contains(scope) && !streams.isEmpty
    }
}
