import GatewayCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// A live view of a run, for the progress line.
public struct ProgressSnapshot: Sendable {
    /// Seconds since sending started (warm-up included).
    public var elapsedSeconds: Double
    /// Whether the warm-up is still going.
    public var warmingUp: Bool
    /// Requests completed (any status, any phase) since the last snapshot, per second.
    public var requestsPerSecond: Double
    /// Events acknowledged since the last snapshot, per second.
    public var eventsPerSecond: Double
    /// Recorded errors so far (non-2xx and connection errors).
    public var errors: Int
    /// Recorded latency so far, in microseconds.
    public var p50: UInt64
    public var p99: UInt64
}

/// Runs `sluice bench`: opens the connections, drives them from one driver per event loop, collects the results.
public enum BenchRunner {
    /// Runs one benchmark.
    /// - Parameter progress: called about every second while the run lasts (from a background task).
    /// - Throws: ``BenchError`` when the options are invalid or no connection could be opened.
    public static func run(
        _ configuration: BenchConfiguration,
        progress: (@Sendable (ProgressSnapshot) -> Void)? = nil
    ) async throws(BenchError) -> BenchResult {
        try configuration.validate()
        let factory = try EventFactory(shape: configuration.shape, idPrefix: configuration.idPrefix)
        let threads = max(1, min(configuration.threads, configuration.connections))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            let result = try await run(configuration, factory: factory, group: group, threads: threads, progress: progress)
            try? await group.shutdownGracefully()
            return result
        } catch let error as BenchError {
            try? await group.shutdownGracefully()
            throw error
        } catch {
            try? await group.shutdownGracefully()
            throw BenchError(.runtime, "the load generator failed: \(error)")
        }
    }

    static func run(
        _ configuration: BenchConfiguration,
        factory: EventFactory,
        group: MultiThreadedEventLoopGroup,
        threads: Int,
        progress: (@Sendable (ProgressSnapshot) -> Void)?
    ) async throws -> BenchResult {
        let contentType = configuration.endpoint == .batch ? configuration.batchFormat.contentType : "application/json"
        let path = configuration.target.basePath + configuration.endpoint.path
        var prefix = "POST \(path) HTTP/1.1\r\nHost: \(configuration.target.hostHeader)\r\nUser-Agent: sluice-bench\r\n"
        prefix += "Content-Type: \(contentType)\r\nContent-Length: "
        let plan = RunPlan(
            configuration: configuration,
            factory: factory,
            path: path,
            requestPrefix: Array(prefix.utf8),
            observedHead: HTTPRequestHead(version: .http1_1, method: .POST, uri: path),
            loopCount: threads
        )
        let loops = Array(group.makeIterator())
        var drivers: [NIOLoopBound<LoopDriver>] = []
        for (index, loop) in loops.enumerated() {
            let share = configuration.connections / threads + (index < configuration.connections % threads ? 1 : 0)
            let schedule: OpenLoopSchedule? =
                switch configuration.mode {
                case .closedLoop: nil
                case .openLoop(let rate): try OpenLoopSchedule(startNanos: 0, eventsPerSecond: rate, eventsPerRequest: configuration.eventsPerRequest)
                }
            let driver = try await loop.submit {
                NIOLoopBound(LoopDriver(loop: loop, index: index, plan: plan, connections: share, schedule: schedule), eventLoop: loop)
            }.get()
            drivers.append(driver)
        }

        // Connect everything first, so connection set-up is not measured.
        var connected = 0
        var firstError: String?
        for driver in drivers {
            let outcome = try await driver.eventLoop.flatSubmit { driver.value.connectAll() }.get()
            connected += outcome.connected
            if firstError == nil { firstError = outcome.firstError }
        }
        guard connected > 0 else {
            for driver in drivers { try? await driver.eventLoop.submit { driver.value.shutdown() }.get() }
            throw BenchError(
                .unreachable,
                "cannot connect to \(configuration.target): \(firstError ?? "no connection opened"); is the gateway running and is --url right?"
            )
        }

        // A common start slightly in the future, so every loop starts on the same schedule.
        let start = LoopDriver.now() + 20_000_000
        let measureStart = start + UInt64(configuration.warmup.nanoseconds)
        let end = measureStart + UInt64(configuration.duration.nanoseconds)
        let timing = RunTiming(
            start: start, measureStart: measureStart, end: end, drainDeadline: end + UInt64(max(0, configuration.drainTimeout.nanoseconds)))
        for driver in drivers {
            let schedule: OpenLoopSchedule? =
                switch configuration.mode {
                case .closedLoop: nil
                case .openLoop(let rate):
                    try OpenLoopSchedule(startNanos: start, eventsPerSecond: rate, eventsPerRequest: configuration.eventsPerRequest)
                }
            try await driver.eventLoop.submit {
                driver.value.startWith(schedule: schedule, timing: timing)
            }.get()
        }

        let allDrivers = drivers
        let progressTask: Task<Void, Never>? = progress.map { report in
            Task {
                await reportProgress(drivers: allDrivers, timing: timing, report: report)
            }
        }
        for driver in drivers {
            try await driver.eventLoop.flatSubmit { driver.value.finished.futureResult }.get()
        }
        progressTask?.cancel()
        await progressTask?.value

        var recorder = LoopRecorder()
        for driver in drivers {
            let part = try await driver.eventLoop.submit { () -> LoopRecorder in
                let recorder = driver.value.recorder
                driver.value.shutdown()
                return recorder
            }.get()
            recorder.merge(part)
        }
        let measuredNanos = max(UInt64(configuration.duration.nanoseconds), recorder.lastCompletionOffset)
        return BenchResult(
            configuration: configuration,
            connectionsOpened: connected,
            firstConnectError: connected < configuration.connections ? firstError : nil,
            recorder: recorder,
            measuredSeconds: Double(measuredNanos) / 1e9,
            factory: factory
        )
    }

    static func reportProgress(
        drivers: [NIOLoopBound<LoopDriver>], timing: RunTiming, report: @Sendable (ProgressSnapshot) -> Void
    ) async {
        var lastRequests = 0
        var lastEvents = 0
        var lastTime = LoopDriver.now()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { return }
            var latency = LatencyHistogram()
            var requests = 0
            var events = 0
            var errors = 0
            for driver in drivers {
                guard
                    let part = try? await driver.eventLoop.submit({ () -> (LatencyHistogram, Int, Int, Int) in
                        let recorder = driver.value.recorder
                        let completed = recorder.requests + recorder.warmupRequests
                        return (
                            recorder.latency, completed, recorder.eventsAcknowledged + recorder.warmupEventsAcknowledged,
                            recorder.errorResponses + recorder.connectionErrors
                        )
                    }).get()
                else { return }
                latency.add(part.0)
                requests += part.1
                events += part.2
                errors += part.3
            }
            let now = LoopDriver.now()
            let seconds = max(1e-3, Double(now - lastTime) / 1e9)
            report(
                ProgressSnapshot(
                    elapsedSeconds: Double(now &- timing.start) / 1e9,
                    warmingUp: now < timing.measureStart,
                    requestsPerSecond: Double(requests - lastRequests) / seconds,
                    eventsPerSecond: Double(max(0, events - lastEvents)) / seconds,
                    errors: errors,
                    p50: latency.value(atPercentile: 50),
                    p99: latency.value(atPercentile: 99)
                )
            )
            lastRequests = requests
            lastEvents = events
            lastTime = now
        }
    }
}

extension LoopDriver {
    /// Starts the run with the schedule anchored at the common start time.
    func startWith(schedule: OpenLoopSchedule?, timing: RunTiming) {
        self.schedule = schedule
        start(timing: timing)
    }
}
