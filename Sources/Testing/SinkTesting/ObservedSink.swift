import GatewayCore
import Synchronization

/// Wraps the sink under test and records what the dispatcher gave it and what it reported back, passing everything
/// through unchanged (the dispatcher still makes every decision).
final class ObservedSink: Sink {
    struct Snapshot: Sendable {
        /// Receipts per sequence, in report order.
        var accepted: [UInt64: [Receipt]] = [:]
        /// How often each sequence was released.
        var released: [UInt64: Int] = [:]
        var rejected: [UInt64: DeliveryFailure] = [:]
        var lost: [DeliveryFailure] = []
        /// Sequences released before they were accepted.
        var releasedBeforeAccepted: [UInt64] = []
        /// Records handed to `write`, and how many `write` calls returned.
        var written: [UInt64] = []
        var writesStarted = 0
        var writesFinished = 0
        var flushes = 0

        /// Whether a `write` call is suspended in the sink (the dispatcher is held back).
        var isWriting: Bool { writesStarted > writesFinished }
    }

    let inner: any Sink
    private let state = Mutex(Snapshot())

    init(_ inner: any Sink) {
        self.inner = inner
    }

    var id: SinkID { inner.id }
    var problem: String? { inner.problem }
    var snapshot: Snapshot { state.withLock { $0 } }

    func write(_ records: [SinkRecord], reporter: SinkReporter) async {
        state.withLock { state in
            state.writesStarted += 1
            state.written.append(contentsOf: records.map(\.sequence))
        }
        await inner.write(records, reporter: observing(reporter))
        state.withLock { $0.writesFinished += 1 }
    }

    func tick(reporter: SinkReporter) async {
        await inner.tick(reporter: observing(reporter))
    }

    func flush(reporter: SinkReporter) async {
        await inner.flush(reporter: observing(reporter))
        state.withLock { $0.flushes += 1 }
    }

    /// The dispatcher's reporter, recording each report after passing it on.
    private func observing(_ reporter: SinkReporter) -> SinkReporter {
        SinkReporter(
            .init(
                accepted: { [self] record, receipt, attempts in
                    reporter.accepted(record, receipt: receipt, attempts: attempts)
                    self.state.withLock { $0.accepted[record.sequence, default: []].append(receipt) }
                },
                released: { [self] sequences in
                    state.withLock { state in
                        for sequence in sequences {
                            state.released[sequence, default: 0] += 1
                            if state.accepted[sequence] == nil { state.releasedBeforeAccepted.append(sequence) }
                        }
                    }
                    reporter.released(sequences)
                },
                rejected: { [self] record, failure in
                    self.state.withLock { $0.rejected[record.sequence] = failure }
                    reporter.rejected(record, failure: failure)
                },
                lostUnreleased: { [self] failure in
                    self.state.withLock { $0.lost.append(failure) }
                    reporter.lostUnreleased(failure)
                }
            )
        )
    }
}
