import GatewayCore

/// A compiled `archive.partition_template`, e.g. `team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/`.
///
/// Placeholders: `{team}`, `{app}`, `{yyyy}`, `{MM}`, `{dd}`, `{HH}` (UTC, from the event's received-at time).
public struct PartitionTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case literal(String)
        case team, app, year, month, day, hour
    }

    let pieces: [Piece]

    /// Compiles a template.
    /// - Throws: ``ArchiveError`` naming an unknown placeholder.
    public init(_ template: String) throws(ArchiveError) {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw ArchiveError(code: .invalidConfiguration, message: "partition template has an unclosed '{': \(template)")
            }
            let name = rest[rest.index(after: open)..<close]
            let piece: Piece
            switch name {
            case "team": piece = .team
            case "app": piece = .app
            case "yyyy": piece = .year
            case "MM": piece = .month
            case "dd": piece = .day
            case "HH": piece = .hour
            default:
                throw ArchiveError(code: .invalidConfiguration, message: "partition template has an unknown placeholder '{\(name)}'")
            }
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = ""
            pieces.append(piece)
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// The partition's relative directory for an event of `team`/`app` received at `millis`, always ending in `/`.
    public func render(team: String, app: String, millis: Int64) -> String {
        let civil = Timestamp.civil(millis: millis)
        var out: [UInt8] = []
        for piece in pieces {
            switch piece {
            case .literal(let text): out.append(contentsOf: text.utf8)
            case .team: out.append(contentsOf: team.utf8)
            case .app: out.append(contentsOf: app.utf8)
            case .year: Timestamp.appendDigits(civil.year, width: 4, to: &out)
            case .month: Timestamp.appendDigits(civil.month, width: 2, to: &out)
            case .day: Timestamp.appendDigits(civil.day, width: 2, to: &out)
            case .hour: Timestamp.appendDigits(civil.hour, width: 2, to: &out)
            }
        }
        if out.last != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
    }
}
