internal import Foundation

extension DeadLetter {
    /// `{"count":total,"dead_letters":[…]}`: what the HTTP API and `sluice dlq` show (`letters` may be the first
    /// `limit` of `total`).
    public static func listJSON(_ letters: [DeadLetter], total: Int? = nil) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let items = letters.compactMap { try? encoder.encode($0) }
        var out = Array(#"{"count":"#.utf8) + Array(String(total ?? letters.count).utf8) + Array(#","dead_letters":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += item
        }
        out += Array("]}".utf8)
        return out
    }

    /// One dead letter's JSON (as stored).
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map(Array.init) ?? Array("{}".utf8)
    }
}
