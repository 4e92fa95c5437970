/// What one event loop measured; merged into a ``BenchResult`` at the end. Only touched on its own loop.
public struct LoopRecorder: Sendable {
    /// Latency of recorded requests (from intended send time in open loop, from the actual send in closed loop).
    public var latency = LatencyHistogram()
    /// The gateway's own `X-Processing-Latency` of recorded requests.
    public var serverLatency = LatencyHistogram()
    /// Open loop: how late each recorded request was sent compared to its intended time.
    public var sendLag = LatencyHistogram()
    /// Recorded requests that completed with a response, by status code.
    public var statusCounts: [Int: Int] = [:]
    /// Recorded requests that completed with a response.
    public var requests = 0
    /// Events in recorded requests.
    public var events = 0
    /// Events in recorded requests that the gateway acknowledged (2xx, or per-item 202 in a batch).
    public var eventsAcknowledged = 0
    /// Request body bytes of recorded requests.
    public var bytesSent = 0
    /// Requests (any phase) lost to a connection error before their response.
    public var connectionErrors = 0
    /// Connection attempts that failed during the run (reconnects).
    public var connectFailures = 0
    /// Requests that completed during the warm-up.
    public var warmupRequests = 0
    /// Events acknowledged during the warm-up.
    public var warmupEventsAcknowledged = 0
    /// Open loop: recorded requests that had to wait for a free connection.
    public var waitedForConnection = 0
    /// Requests still waiting for a response when the drain timeout expired.
    public var unfinished = 0
    /// Open loop: requests intended before the end that were never sent.
    public var unsent = 0
    /// Per-second counts, by second since the measurement started.
    public var perSecond: [SecondCounts] = []
    /// The completion time of the last recorded request, in nanoseconds since the measurement started.
    public var lastCompletionOffset: UInt64 = 0
    /// Numbers of every acknowledged event (warm-up included), when ids are collected.
    public var acknowledgedEvents: [Int] = []
    /// The first few error responses, for the report.
    public var errorSamples: [String] = []

    public init() {}

    /// Adds a request's outcome to second `second`.
    mutating func addSecond(_ second: Int, requests: Int, events: Int, errors: Int) {
        guard second >= 0, second < 1_000_000 else { return }
        if perSecond.count <= second {
            perSecond.append(contentsOf: repeatElement(SecondCounts(), count: second + 1 - perSecond.count))
        }
        perSecond[second].requests += requests
        perSecond[second].events += events
        perSecond[second].errors += errors
    }

    /// Folds `other` into this recorder.
    public mutating func merge(_ other: LoopRecorder) {
        latency.add(other.latency)
        serverLatency.add(other.serverLatency)
        sendLag.add(other.sendLag)
        statusCounts.merge(other.statusCounts, uniquingKeysWith: +)
        requests += other.requests
        events += other.events
        eventsAcknowledged += other.eventsAcknowledged
        bytesSent += other.bytesSent
        connectionErrors += other.connectionErrors
        connectFailures += other.connectFailures
        warmupRequests += other.warmupRequests
        warmupEventsAcknowledged += other.warmupEventsAcknowledged
        waitedForConnection += other.waitedForConnection
        unfinished += other.unfinished
        unsent += other.unsent
        for (second, counts) in other.perSecond.enumerated() {
            addSecond(second, requests: counts.requests, events: counts.events, errors: counts.errors)
        }
        lastCompletionOffset = max(lastCompletionOffset, other.lastCompletionOffset)
        acknowledgedEvents.append(contentsOf: other.acknowledgedEvents)
        for sample in other.errorSamples where errorSamples.count < 5 && !errorSamples.contains(sample) {
            errorSamples.append(sample)
        }
    }

    /// Requests that got a non-2xx status.
    public var errorResponses: Int {
        statusCounts.reduce(0) { $0 + ((200..<300).contains($1.key) ? 0 : $1.value) }
    }
}

/// Completions within one second of the measurement.
public struct SecondCounts: Sendable, Equatable, Codable {
    /// Requests completed (any status).
    public var requests = 0
    /// Events acknowledged.
    public var events = 0
    /// Requests that failed (non-2xx or connection error).
    public var errors = 0

    public init(requests: Int = 0, events: Int = 0, errors: Int = 0) {
        self.requests = requests
        self.events = events
        self.errors = errors
    }
}

/// Parses an `X-Processing-Latency` value (`1.84ms`, `250us`, `0.2s`) into microseconds.
public func parseProcessingLatency(_ text: Substring) -> UInt64? {
    var value: UInt64 = 0
    var fractionDigits = 0
    var seenDot = false
    var index = text.utf8.startIndex
    let utf8 = text.utf8
    while index < utf8.endIndex {
        let byte = utf8[index]
        if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            guard value < UInt64.max / 20 else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            if seenDot { fractionDigits += 1 }
        } else if byte == UInt8(ascii: "."), !seenDot {
            seenDot = true
        } else {
            break
        }
        index = utf8.index(after: index)
    }
    guard index != utf8.startIndex else { return nil }
    let unit = String(text[index...]).trimmingSpaces
    let scale: Double
    switch unit {
    case "ms": scale = 1000
    case "us", "µs": scale = 1
    case "s": scale = 1_000_000
    case "ns": scale = 0.001
    default: return nil
    }
    var divisor = 1.0
    for _ in 0..<fractionDigits { divisor *= 10 }
    return UInt64((Double(value) / divisor * scale).rounded())
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
