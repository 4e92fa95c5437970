import Delivery
import GatewayCore
import GatewayTesting
import Testing

@Suite("Batcher")
struct BatcherTests {
    let clock = ManualClock()

    func batcher(maxEvents: Int = .max, maxBytes: Int = .max, maxAge: Duration = .seconds(1)) -> Batcher<Int, ManualClock> {
        Batcher(limits: BatchLimits(maxEvents: maxEvents, maxBytes: maxBytes, maxAge: maxAge), clock: clock)
    }

    @Test("a batch closes when it reaches the event limit")
    func countLimit() {
        var batcher = batcher(maxEvents: 3)
        #expect(batcher.append(1, bytes: 10).isEmpty)
        #expect(batcher.append(2, bytes: 10).isEmpty)
        let closed = batcher.append(3, bytes: 10)
        #expect(closed.map(\.items) == [[1, 2, 3]])
        #expect(closed.first?.bytes == 30)
        #expect(batcher.isEmpty)
        #expect(batcher.deadline == nil)
    }

    @Test("an item that does not fit closes the open batch first; a batch that fills exactly closes at once")
    func byteLimit() {
        var batcher = batcher(maxBytes: 100)
        #expect(batcher.append(1, bytes: 40).isEmpty)
        #expect(batcher.append(2, bytes: 40).isEmpty)
        // 40 + 40 + 30 > 100: the open batch closes, 3 opens the next one.
        #expect(batcher.append(3, bytes: 30).map(\.items) == [[1, 2]])
        #expect(batcher.count == 1)
        #expect(batcher.byteCount == 30)
        // 30 + 70 == 100: full, closes with the item in it.
        #expect(batcher.append(4, bytes: 70).map(\.items) == [[3, 4]])
        #expect(batcher.isEmpty)
    }

    @Test("a single item over the byte limit forms its own batch, after closing the open one")
    func oversizeItem() {
        var batcher = batcher(maxBytes: 100)
        #expect(batcher.append(1, bytes: 10).isEmpty)
        let closed = batcher.append(2, bytes: 500)
        #expect(closed.map(\.items) == [[1], [2]])
        #expect(closed.map(\.bytes) == [10, 500])
        #expect(batcher.isEmpty)
        // Alone, too.
        #expect(batcher.append(3, bytes: 101).map(\.items) == [[3]])
    }

    @Test("a batch expires at its deadline, measured from its first item on the injected clock")
    func ageLimit() {
        var batcher = batcher(maxAge: .seconds(5))
        #expect(batcher.takeIfExpired() == nil)
        _ = batcher.append(1, bytes: 1)
        #expect(batcher.deadline == ManualClock.Instant(offset: .seconds(5)))
        clock.advance(by: .seconds(3))
        _ = batcher.append(2, bytes: 1)
        #expect(batcher.deadline == ManualClock.Instant(offset: .seconds(5)))
        clock.advance(by: .milliseconds(1999))
        #expect(batcher.takeIfExpired() == nil)
        clock.advance(by: .milliseconds(1))
        #expect(batcher.takeIfExpired()?.items == [1, 2])
        #expect(batcher.deadline == nil)
        _ = batcher.append(3, bytes: 1)
        #expect(batcher.deadline == ManualClock.Instant(offset: .seconds(10)))
    }

    @Test("an item arriving after the deadline closes the expired batch and opens a new one")
    func appendAfterDeadline() {
        var batcher = batcher(maxAge: .seconds(1))
        _ = batcher.append(1, bytes: 1)
        clock.advance(by: .seconds(2))
        #expect(batcher.append(2, bytes: 1).map(\.items) == [[1]])
        #expect(batcher.deadline == ManualClock.Instant(offset: .seconds(3)))
    }

    @Test("takeAll closes the open batch whatever its state, and nothing when empty")
    func takeAll() {
        var batcher = batcher()
        #expect(batcher.takeAll() == nil)
        _ = batcher.append(1, bytes: 1)
        _ = batcher.append(2, bytes: 1)
        #expect(batcher.takeAll()?.items == [1, 2])
        #expect(batcher.takeAll() == nil)
    }
}
