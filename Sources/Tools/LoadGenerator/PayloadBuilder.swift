import GatewayCore

/// Builds event payloads: a JSON object of exactly the requested number of bytes.
///
/// From 10 bytes up the payload is `{"pad":"…"}` with a pseudo-random alphanumeric pad (so it compresses roughly
/// like real text, not like a run of one letter); between 2 and 9 bytes it is `{` + spaces + `}`.
public enum PayloadBuilder {
    /// The smallest payload: `{}`.
    public static let minimumSize = 2
    static let prefix = Array(#"{"pad":""#.utf8)
    static let suffix = Array(#""}"#.utf8)
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// A JSON object of exactly `size` bytes.
    /// - Throws: ``BenchError`` when `size` is below ``minimumSize``.
    public static func payload(size: Int, seed: UInt64 = 0x5EED) throws(BenchError) -> [UInt8] {
        guard size >= minimumSize else {
            throw BenchError(.invalidOption, "payload size \(size) is too small: the smallest JSON object, {}, is 2 bytes")
        }
        let frame = prefix.count + suffix.count
        guard size >= frame else {
            return [UInt8(ascii: "{")] + [UInt8](repeating: UInt8(ascii: " "), count: size - 2) + [UInt8(ascii: "}")]
        }
        var out = prefix
        out.reserveCapacity(size)
        var state = seed | 1
        for _ in 0..<(size - frame) {
            // xorshift64*: fast, deterministic, good enough for padding.
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let value = state &* 0x2545_F491_4F6C_DD1D
            out.append(alphabet[Int((value >> 32) % UInt64(alphabet.count))])
        }
        out.append(contentsOf: suffix)
        return out
    }
}

/// One `team/app` pair events are sent for.
public struct StreamName: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The team.
    public var team: String
    /// The app.
    public var app: String

    public init(team: String, app: String) {
        self.team = team
        self.app = app
    }

    /// Parses `team/app`.
    /// - Throws: ``BenchError`` when the text is not two non-empty names separated by one `/`.
    public init(parsing text: String) throws(BenchError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw BenchError(.invalidOption, "--streams: '\(text)' is not team/app (e.g. web/clicks)")
        }
        self.init(team: String(parts[0]), app: String(parts[1]))
    }

    public var description: String { "\(team)/\(app)" }
}

/// The shape of the events a run sends.
public struct EventShape: Sendable, Equatable {
    /// Streams, used round-robin by event number.
    public var streams: [StreamName]
    /// Payload size of a normal event, in bytes.
    public var payloadSize: Int
    /// How many distinct partition keys (`user-0` … `user-(N-1)`).
    public var partitionKeys: Int
    /// The fraction of events (0…1) sent with `"large_message":true` and a ``largePayloadSize`` payload.
    public var largeFraction: Double
    /// Payload size of a large event, in bytes.
    public var largePayloadSize: Int

    public init(
        streams: [StreamName] = [StreamName(team: "web", app: "clicks")],
        payloadSize: Int = 512,
        partitionKeys: Int = 1000,
        largeFraction: Double = 0,
        largePayloadSize: Int = 1_048_576
    ) {
        self.streams = streams
        self.payloadSize = payloadSize
        self.partitionKeys = partitionKeys
        self.largeFraction = largeFraction
        self.largePayloadSize = largePayloadSize
    }

    /// Checks the ranges.
    /// - Throws: ``BenchError`` naming the bad option.
    public func validate() throws(BenchError) {
        guard !streams.isEmpty else { throw BenchError(.invalidOption, "--streams: give at least one team/app") }
        guard partitionKeys >= 1 else { throw BenchError(.invalidOption, "--partition-keys: must be at least 1") }
        guard largeFraction >= 0, largeFraction <= 1 else {
            throw BenchError(.invalidOption, "--large-fraction: \(largeFraction) is not between 0 and 1")
        }
        guard payloadSize >= PayloadBuilder.minimumSize else {
            throw BenchError(.invalidOption, "--size: \(payloadSize) is too small; the smallest JSON object payload, {}, is 2 bytes")
        }
        if largeFraction > 0, largePayloadSize < PayloadBuilder.minimumSize {
            throw BenchError(.invalidOption, "--large-size: \(largePayloadSize) is too small; the smallest is 2 bytes")
        }
    }
}

/// A pre-rendered event envelope with fixed-width slots for the event number and the partition key number, so
/// building request `i` is a copy and a few digit writes (no JSON encoding on the hot path).
public struct EnvelopeTemplate: Sendable, Equatable {
    /// The envelope bytes, with zeros in the slots.
    public let bytes: [UInt8]
    /// Where the event-number digits start, and how many there are.
    public let eventNumberOffset: Int
    /// Where the partition-key digits start.
    public let keyNumberOffset: Int
    /// Width of the partition-key number.
    public let keyDigits: Int

    /// Digits of the event number inside an event id (up to 10¹² − 1 events per run).
    public static let eventNumberDigits = 12

    /// Renders `{"team":…,"app":…,"partition_key":"user-000","event_id":"<prefix>-000000000000","large_message":…,"payload":…}`.
    public init(stream: StreamName, idPrefix: String, keyDigits: Int, isLarge: Bool, payload: [UInt8]) {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 160 + idPrefix.utf8.count)
        out.append(contentsOf: #"{"team":"#.utf8)
        EnvelopeWriter.appendJSONString(stream.team, to: &out)
        out.append(contentsOf: #","app":"#.utf8)
        EnvelopeWriter.appendJSONString(stream.app, to: &out)
        out.append(contentsOf: #","partition_key":"user-"#.utf8)
        keyNumberOffset = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: keyDigits))
        out.append(contentsOf: #"","event_id":"#.utf8)
        EnvelopeWriter.appendJSONString(idPrefix + "-", to: &out)
        out.removeLast() // the closing quote: the number follows
        eventNumberOffset = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: Self.eventNumberDigits))
        out.append(contentsOf: #"","large_message":"#.utf8)
        out.append(contentsOf: (isLarge ? "true" : "false").utf8)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(UInt8(ascii: "}"))
        self.bytes = out
        self.keyDigits = keyDigits
    }
}

/// Everything needed to render any event of a run: templates per stream and size class, and the id scheme.
public struct EventFactory: Sendable {
    /// The event shape.
    public let shape: EventShape
    /// The run's id prefix: event `n`'s id is `<prefix>-<n as 12 digits>`.
    public let idPrefix: String
    /// Templates for normal events, one per stream.
    let normal: [EnvelopeTemplate]
    /// Templates for large events, one per stream (empty when the large fraction is 0).
    let large: [EnvelopeTemplate]
    let keyDigits: Int

    /// Prepares the templates.
    /// - Throws: ``BenchError`` when the shape is invalid.
    public init(shape: EventShape, idPrefix: String) throws(BenchError) {
        try shape.validate()
        guard !idPrefix.isEmpty, idPrefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else {
            throw BenchError(.invalidOption, "--id-prefix: '\(idPrefix)' must be non-empty printable ASCII without spaces, quotes or backslashes")
        }
        self.shape = shape
        self.idPrefix = idPrefix
        let keyDigits = String(max(0, shape.partitionKeys - 1)).count
        self.keyDigits = keyDigits
        let payload = try PayloadBuilder.payload(size: shape.payloadSize)
        normal = shape.streams.map {
            EnvelopeTemplate(stream: $0, idPrefix: idPrefix, keyDigits: keyDigits, isLarge: false, payload: payload)
        }
        if shape.largeFraction > 0 {
            let largePayload = try PayloadBuilder.payload(size: shape.largePayloadSize, seed: 0x1A26E)
            large = shape.streams.map {
                EnvelopeTemplate(stream: $0, idPrefix: idPrefix, keyDigits: keyDigits, isLarge: true, payload: largePayload)
            }
        } else {
            large = []
        }
    }

    /// Event `number`'s id.
    public func eventID(_ number: Int) -> String {
        var out = Array(idPrefix.utf8)
        out.append(UInt8(ascii: "-"))
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: EnvelopeTemplate.eventNumberDigits))
        out.withUnsafeMutableBytes { Self.writeDigits(number, width: EnvelopeTemplate.eventNumberDigits, into: $0, at: start) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether event `number` is large: exactly ⌊n × fraction⌋ of the first n events are, evenly spread.
    public func isLarge(_ number: Int) -> Bool {
        guard !large.isEmpty else { return false }
        let fraction = shape.largeFraction
        return (Double(number + 1) * fraction).rounded(.down) > (Double(number) * fraction).rounded(.down)
    }

    /// Event `number`'s partition key number, spread pseudo-randomly over `0..<partitionKeys`.
    public func keyNumber(_ number: Int) -> Int {
        var mixed = UInt64(truncatingIfNeeded: number) &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        return Int(mixed % UInt64(shape.partitionKeys))
    }

    /// The template for event `number`.
    func template(for number: Int) -> EnvelopeTemplate {
        let stream = number % normal.count
        return isLarge(number) ? large[stream] : normal[stream]
    }

    /// The size of event `number`'s envelope in bytes.
    public func envelopeSize(_ number: Int) -> Int { template(for: number).bytes.count }

    /// Writes event `number`'s envelope into `buffer` at `offset` (which must have room for ``envelopeSize(_:)`` bytes).
    /// Returns the number of bytes written.
    public func render(_ number: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let template = template(for: number)
        let count = template.bytes.count
        template.bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress, let target = buffer.baseAddress else { return }
            (target + offset).copyMemory(from: base, byteCount: count)
        }
        Self.writeDigits(number, width: EnvelopeTemplate.eventNumberDigits, into: buffer, at: offset + template.eventNumberOffset)
        Self.writeDigits(keyNumber(number), width: template.keyDigits, into: buffer, at: offset + template.keyNumberOffset)
        return count
    }

    /// Event `number`'s envelope as bytes (for tests and tools; the hot path uses ``render(_:into:at:)``).
    public func envelope(_ number: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: envelopeSize(number)) { buffer, initialized in
            initialized = render(number, into: UnsafeMutableRawBufferPointer(buffer), at: 0)
        }
    }

    /// Writes `value` as exactly `width` zero-padded decimal digits (the lowest digits when it is wider).
    static func writeDigits(_ value: Int, width: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        var remaining = UInt64(max(0, value))
        var position = offset + width - 1
        while position >= offset {
            buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            position -= 1
        }
    }
}

/// The body format of a batch request.
public enum BatchFormat: String, Sendable, Equatable, CaseIterable {
    /// A JSON array of envelopes (`Content-Type: application/json`).
    case json
    /// One envelope per line (`Content-Type: application/x-ndjson`).
    case ndjson

    /// The request's media type.
    public var contentType: String { self == .json ? "application/json" : "application/x-ndjson" }
}

extension EventFactory {
    /// The size of a request body holding events `first ..< first + count`.
    public func bodySize(firstEvent first: Int, count: Int, batch: BatchFormat?) -> Int {
        var size = 0
        for number in first..<(first + count) { size += envelopeSize(number) }
        guard let batch else { return size }
        switch batch {
        case .json: return size + 2 + max(0, count - 1) // [ , , ]
        case .ndjson: return size + count // a newline after each
        }
    }

    /// Renders a request body for events `first ..< first + count` (a single envelope when `batch` is nil).
    /// `buffer` must hold exactly ``bodySize(firstEvent:count:batch:)`` bytes.
    public func renderBody(firstEvent first: Int, count: Int, batch: BatchFormat?, into buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        if batch == .json {
            buffer[offset] = UInt8(ascii: "[")
            offset += 1
        }
        for number in first..<(first + count) {
            if batch == .json, number > first {
                buffer[offset] = UInt8(ascii: ",")
                offset += 1
            }
            offset += render(number, into: buffer, at: offset)
            if batch == .ndjson {
                buffer[offset] = UInt8(ascii: "\n")
                offset += 1
            }
        }
        if batch == .json { buffer[offset] = UInt8(ascii: "]") }
    }

    /// A request body as bytes (for tests).
    public func body(firstEvent first: Int, count: Int, batch: BatchFormat?) -> [UInt8] {
        let size = bodySize(firstEvent: first, count: count, batch: batch)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            renderBody(firstEvent: first, count: count, batch: batch, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = size
        }
    }
}
