import LoadGenerator
import Testing

@Suite("Open-loop schedule")
struct OpenLoopScheduleTests {
    @Test("request i is intended at start + i/R, exactly")
    func exactTimes() throws {
        let schedule = try OpenLoopSchedule(startNanos: 1_000, eventsPerSecond: 2000)
        #expect(schedule.intendedNanos(forRequest: 0) == 1_000)
        #expect(schedule.intendedNanos(forRequest: 1) == 1_000 + 500_000)
        #expect(schedule.intendedNanos(forRequest: 2000) == 1_000 + 1_000_000_000)
        #expect(schedule.intendedNanos(forRequest: 1_000_000) == 1_000 + 500_000_000_000)
    }

    @Test("no drift at i = 10^6 with an interval that is not a whole number of nanoseconds")
    func noDrift() throws {
        // 3 events/s: the interval is 333_333_333.33… ns. Accumulating a rounded interval would drift by 0.33 ms
        // after 10^6 requests; the schedule computes ⌊i × 10^9 / 3⌋ directly.
        let start: UInt64 = 123_456_789
        let schedule = try OpenLoopSchedule(startNanos: start, eventsPerSecond: 3)
        #expect(schedule.intendedNanos(forRequest: 1_000_000) == start + 333_333_333_333_333)
        #expect(schedule.intendedNanos(forRequest: 3_000_000) == start + 1_000_000_000_000_000)
        // 7000 events/s: ⌊10^6 × 10^9 / 7000⌋.
        let seven = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 7000)
        #expect(seven.intendedNanos(forRequest: 1_000_000) == 142_857_142_857)
        #expect(seven.intendedNanos(forRequest: 7_000_000) == 1_000_000_000_000)
        // A fractional rate.
        let half = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 0.5)
        #expect(half.intendedNanos(forRequest: 1_000_000) == 2_000_000_000_000_000)
    }

    @Test("consecutive gaps differ by at most one nanosecond and never accumulate")
    func gapsAreUniform() throws {
        let schedule = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 3)
        for index in [0, 1, 999_999, 1_000_000, 5_000_000] {
            let gap = schedule.intendedNanos(forRequest: index + 1) - schedule.intendedNanos(forRequest: index)
            #expect(gap == 333_333_333 || gap == 333_333_334)
        }
    }

    @Test("the rate changes only the spacing: start, monotonicity and proportionality stay")
    func rateChangesNothingElse() throws {
        let start: UInt64 = 42
        for rate in [1.0, 10, 333, 1000, 2000, 12_345, 1_000_000] {
            let schedule = try OpenLoopSchedule(startNanos: start, eventsPerSecond: rate)
            let double = try OpenLoopSchedule(startNanos: start, eventsPerSecond: rate * 2)
            #expect(schedule.intendedNanos(forRequest: 0) == start)
            #expect(double.intendedNanos(forRequest: 0) == start)
            // Request 2i at twice the rate is intended exactly when request i is at the base rate.
            for index in [1, 7, 1000, 1_000_000] {
                #expect(double.intendedNanos(forRequest: 2 * index) == schedule.intendedNanos(forRequest: index))
                #expect(schedule.intendedNanos(forRequest: index) > schedule.intendedNanos(forRequest: index - 1))
            }
        }
    }

    @Test("batches: the rate is in events, so requests are spaced by batch-size / rate")
    func batches() throws {
        let schedule = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 1000, eventsPerRequest: 100)
        #expect(schedule.intendedNanos(forRequest: 1) == 100_000_000)
        #expect(schedule.intendedNanos(forRequest: 1_000_000) == 100_000_000_000_000)
        #expect(schedule.requestsPerSecond == 10)
    }

    @Test("request count before a time matches the intended times")
    func requestCount() throws {
        let schedule = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 3)
        #expect(schedule.requestCount(before: 0) == 0)
        #expect(schedule.requestCount(before: 1) == 1)
        #expect(schedule.requestCount(before: 1_000_000_000) == 3)
        #expect(schedule.requestCount(before: 1_000_000_001) == 4)
        let fast = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 2000)
        #expect(fast.requestCount(before: 30_000_000_000) == 60_000)
        for count in [1, 2, 999, 60_000] {
            let end = fast.intendedNanos(forRequest: count)
            #expect(fast.requestCount(before: end) == count)
        }
    }

    @Test("rates out of range are refused with the option's name")
    func badRates() {
        for rate in [0.0, -1, .infinity, .nan, 1e12] {
            #expect(throws: BenchError.self) { try OpenLoopSchedule(startNanos: 0, eventsPerSecond: rate) }
        }
        do {
            _ = try OpenLoopSchedule(startNanos: 0, eventsPerSecond: 0)
            Issue.record("a zero rate was accepted")
        } catch {
            #expect(error.message.contains("--rate"))
        }
    }
}

@Suite("Duration parsing")
struct DurationParsingTests {
    @Test(
        "accepted durations",
        arguments: [
            ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
            ("1.5s", .milliseconds(1500)), ("0", .zero), ("0s", .zero), ("250us", .microseconds(250)), ("10ns", .nanoseconds(10)),
            (" 5s ", .seconds(5)), ("0.25m", .seconds(15)),
        ]
    )
    func good(text: String, expected: Duration) throws {
        #expect(try DurationParser.parse(text) == expected)
    }

    @Test("refused durations say why", arguments: ["", "30", "abc", "-5s", "5 s", "5sec", "1.2.3s", ".5s", "5.s", "s", "1e3s", "30S"])
    func bad(text: String) {
        #expect(throws: DurationParser.ParseError.self) { try DurationParser.parse(text) }
        do {
            _ = try DurationParser.parse(text)
        } catch {
            #expect(error.description.contains("e.g. 500ms"))
        }
    }

    @Test("a missing unit is named")
    func missingUnit() {
        do {
            _ = try DurationParser.parse("30")
            Issue.record("accepted")
        } catch {
            #expect(error.reason == "it has no unit")
        }
    }

    @Test("formatting round-trips")
    func format() throws {
        for text in ["500ms", "30s", "2m", "1h", "1.5s", "250us", "0s"] {
            #expect(DurationParser.format(try DurationParser.parse(text)) == text)
        }
    }

    @Test("sizes")
    func sizes() throws {
        #expect(try ByteSizeParser.parse("5000", option: "--size") == 5000)
        #expect(try ByteSizeParser.parse("4KiB", option: "--size") == 4096)
        #expect(try ByteSizeParser.parse("1MiB", option: "--size") == 1_048_576)
        #expect(try ByteSizeParser.parse("2KB", option: "--size") == 2000)
        #expect(throws: BenchError.self) { try ByteSizeParser.parse("lots", option: "--size") }
        #expect(throws: BenchError.self) { try ByteSizeParser.parse("-1", option: "--size") }
    }
}
