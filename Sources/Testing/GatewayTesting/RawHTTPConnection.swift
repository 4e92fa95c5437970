import Foundation
import GatewayCore

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 response read off a ``RawHTTPConnection``, as the bytes said (test support).
public struct RawHTTPResponse: Sendable, CustomStringConvertible {
    /// The status code (1xx included: an interim response is returned like any other).
    public var status: Int
    /// The header fields in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body (de-chunked).
    public var body: [UInt8]

    /// The first value of the header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text (lossy).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// `type` of a JSON body, nil if the body is not a JSON object with a string `type`.
    public var problemType: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return object["type"] as? String
    }

    /// Whether `Content-Type` is `application/problem+json`.
    public var isProblemJSON: Bool {
        header("Content-Type")?.lowercased().hasPrefix("application/problem+json") ?? false
    }

    /// `413 content-type=… retry-after=… body=…` (the body cut at 300 bytes), for failure messages.
    public var description: String {
        let shown = ["content-type", "retry-after", "connection", "x-network-latency"].compactMap { name in
            header(name).map { "\(name)=\($0)" }
        }
        return "\(status) [\(shown.joined(separator: " "))] body=\(bodyText.prefix(300))"
    }
}

/// What came back when a test waited for a response.
public enum RawReadOutcome: Sendable, CustomStringConvertible {
    /// A complete response.
    case response(RawHTTPResponse)
    /// The server closed (or reset) the connection before a complete response; `partial` is what it sent first.
    case closed(partial: [UInt8])
    /// Nothing complete within the time allowed; `partial` is what arrived.
    case timedOut(partial: [UInt8])

    /// The response, if one came.
    public var response: RawHTTPResponse? {
        if case .response(let response) = self { return response }
        return nil
    }

    /// Whether the server closed the connection without a complete response.
    public var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .response(let response): "response \(response)"
        case .closed(let partial): "connection closed after \(partial.count) bytes \(Self.show(partial))"
        case .timedOut(let partial): "no complete response in time (\(partial.count) bytes: \(Self.show(partial)))"
        }
    }

    static func show(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "" : "'" + String(decoding: bytes.prefix(200), as: UTF8.self) + "'"
    }
}

/// A raw connection could not be made.
public struct RawHTTPError: Error, CustomStringConvertible {
    /// What failed.
    public var message: String
    public var description: String { message }
}

/// A blocking TCP connection to `127.0.0.1` that sends exactly the bytes a test gives it and parses what comes back,
/// for framing and timing cases no HTTP client library would produce. Use it off the cooperative pool
/// (``offCooperativePool(_:)``): every call blocks its thread, bounded by the timeout it is given.
public final class RawHTTPConnection: @unchecked Sendable {
    // @unchecked: one test thread owns each connection; nothing is shared.
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Whether the server closed or reset the connection (seen by a read or a write).
    public private(set) var peerClosed = false

    /// Connects to `127.0.0.1:port`. `sendBufferBytes` shrinks `SO_SNDBUF`, so a server that stops reading stops
    /// the sender quickly.
    public init(port: Int, sendBufferBytes: Int? = nil) throws(RawHTTPError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError(message: "socket() failed: errno \(errno)") }
        if var size = sendBufferBytes.map(Int32.init(clamping:)) {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw RawHTTPError(message: "connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
        self.fd = fd
    }

    deinit { close() }

    /// Closes the connection (idempotent).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends every byte, blocking; false when the server closed or reset the connection first.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + sent }, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                peerClosed = true
                return false
            }
            sent += n
        }
        return true
    }

    /// Sends the UTF-8 bytes of `text`.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends what the socket takes now without blocking: the number of bytes taken, 0 when it would block, nil when
    /// the connection is closed or reset.
    public func trySend(_ bytes: ArraySlice<UInt8>) -> Int? {
        let n = bytes.withUnsafeBytes { raw in
            Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return 0 }
        peerClosed = true
        return nil
    }

    /// Waits until the socket can be written to (or `timeout` passes).
    public func waitWritable(timeout: Duration) -> Bool { poll(events: Int16(POLLOUT), timeout: timeout) }

    /// Whether bytes (or the end of the stream) can be read within `timeout`; already-buffered bytes count.
    public func waitReadable(timeout: Duration) -> Bool {
        buffer.isEmpty ? poll(events: Int16(POLLIN), timeout: timeout) : true
    }

    private func poll(events: Int16, timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let millis = Int32(clamping: timeout.nanoseconds / 1_000_000)
        while true {
            let result = Glibc.poll(&entry, 1, millis)
            if result < 0 && errno == EINTR { continue }
            return result > 0
        }
    }

    /// Buffers whatever has already arrived, without blocking (a client that reads while it sends).
    public func readAvailable() {
        while !peerClosed && poll(events: Int16(POLLIN), timeout: .zero) {
            guard fill(timeout: .zero) == true else { break }
        }
    }

    /// Reads once (blocking until something arrives or `timeout`): false at end of stream, reset, or timeout.
    private func fill(timeout: Duration) -> Bool? {
        guard poll(events: Int16(POLLIN), timeout: timeout) else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            peerClosed = true
            return false
        }
    }

    /// Reads one response within `timeout`. Bytes after it stay buffered for the next call (pipelining).
    public func readResponse(timeout: Duration) -> RawReadOutcome {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let (response, used) = Self.parse(buffer, atEndOfStream: peerClosed) {
                buffer.removeFirst(used)
                return .response(response)
            }
            if peerClosed { return .closed(partial: buffer) }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return .timedOut(partial: buffer) }
            switch fill(timeout: remaining) {
            case nil: return .timedOut(partial: buffer)
            case true?, false?: continue
            }
        }
    }

    /// Waits up to `timeout` for the server to close the connection; returns whether it did and every byte that
    /// arrived before (buffered bytes included).
    public func waitForClose(timeout: Duration) -> (closed: Bool, bytes: [UInt8]) {
        let deadline = ContinuousClock.now + timeout
        while !peerClosed {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            if fill(timeout: remaining) == nil { break }
        }
        let bytes = buffer
        buffer.removeAll()
        return (peerClosed, bytes)
    }

    /// Parses one response from the front of `bytes`: the response and the number of bytes it used, or nil when more
    /// bytes are needed.
    static func parse(_ bytes: [UInt8], atEndOfStream: Bool) -> (RawHTTPResponse, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = firstIndex(of: separator, in: bytes, from: 0) else { return nil }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            // Not HTTP: report what came as a pseudo-response with status 0 so the failure message shows it.
            return (RawHTTPResponse(status: 0, headers: [], body: Array(bytes)), bytes.count)
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = RawHTTPResponse(status: status, headers: headers, body: [])
        let bodyStart = headEnd + 4
        if (100..<200).contains(status) || status == 204 || status == 304 { return (response, bodyStart) }
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            var index = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = firstIndex(of: [13, 10], in: bytes, from: index) else { return nil }
                let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    response.body = Array(bytes[bodyStart...])
                    return (response, bytes.count)
                }
                let dataStart = lineEnd + 2
                if size == 0 {
                    guard let end = firstIndex(of: separator, in: bytes, from: lineEnd) else { return nil }
                    response.body = body
                    return (response, min(bytes.count, end + 4))
                }
                guard bytes.count >= dataStart + size + 2 else { return nil }
                body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
                index = dataStart + size + 2
            }
        }
        if let lengthText = response.header("Content-Length"), let length = Int(lengthText), length >= 0 {
            guard bytes.count >= bodyStart + length else { return atEndOfStream ? (truncated(response, bytes, bodyStart), bytes.count) : nil }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            return (response, bodyStart + length)
        }
        // No length: the body runs to the end of the stream.
        guard atEndOfStream else { return nil }
        return (truncated(response, bytes, bodyStart), bytes.count)
    }

    private static func truncated(_ response: RawHTTPResponse, _ bytes: [UInt8], _ start: Int) -> RawHTTPResponse {
        var response = response
        response.body = Array(bytes[start...])
        return response
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0] && Array(bytes[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}

/// Runs blocking `body` on a thread of its own, so blocking sockets and process waits never hold a thread of the
/// cooperative pool. The one way test support leaves the pool: a thread per call rather than a bounded pool, because
/// tests hold many blocking sockets open at once and a pool would queue one behind another.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// The peak resident set size (`VmHWM`) of process `pid` in KiB, nil once it has exited.
public func peakResidentKiB(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}
