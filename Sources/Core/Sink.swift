/// A record handed to a sink: the event plus its place in the log.
public struct SinkRecord: Sendable, Equatable {
    /// The record's position in the log (sequence, segment, offset).
    public var position: LogPosition
    /// The event.
    public var event: EventRecord

    public init(position: LogPosition, event: EventRecord) {
        self.position = position
        self.event = event
    }

    /// The record's sequence number in the log.
    public var sequence: UInt64 { position.sequence }
}

/// A backend that records are delivered to. Every sink reads the log through its own cursor.
///
/// The dispatcher calls ``write(_:)``, ``tick()`` and ``flush()`` from one task, never concurrently, in log order.
/// A sink reports what happened to records through the ``SinkReporter`` it was given:
/// - ``SinkReporter/accepted(_:receipt:attempts:)`` when the backend took a record (this is the confirmed receipt);
/// - ``SinkReporter/released(_:)`` when records are durable at the destination, so the log may forget them;
/// - ``SinkReporter/rejected(_:failure:)`` when the backend refused a record for good;
/// - ``SinkReporter/lostUnreleased(_:)`` when the sink lost everything it held unreleased (the dispatcher
///   backs off and redelivers those records from the log).
public protocol Sink: Sendable {
    /// Which sink this is; also names its cursor in the log.
    var id: SinkID { get }
    /// Takes a batch of records.
    func write(_ records: [SinkRecord], reporter: SinkReporter) async
    /// Called about every 100 ms, so time-based buffers can flush.
    func tick(reporter: SinkReporter) async
    /// Pushes everything buffered to the destination (graceful shutdown, or a probe after a failure).
    func flush(reporter: SinkReporter) async
    /// Why the destination cannot take records right now (for example every broker is down), nil when it can;
    /// `/ready` and `/health` show it.
    var problem: String? { get }
}

extension Sink {
    /// Sinks whose failures surface only through their reports have no problem of their own to show.
    public var problem: String? { nil }
}

/// Receives what a sink did with the records it was given. Implemented by the dispatcher.
public struct SinkReporter: Sendable {
    /// Callbacks behind a reporter.
    public struct Handlers: Sendable {
        public var accepted: @Sendable (SinkRecord, Receipt, Int) -> Void
        public var released: @Sendable ([UInt64]) -> Void
        public var rejected: @Sendable (SinkRecord, DeliveryFailure) -> Void
        public var lostUnreleased: @Sendable (DeliveryFailure) -> Void

        public init(
            accepted: @escaping @Sendable (SinkRecord, Receipt, Int) -> Void,
            released: @escaping @Sendable ([UInt64]) -> Void,
            rejected: @escaping @Sendable (SinkRecord, DeliveryFailure) -> Void,
            lostUnreleased: @escaping @Sendable (DeliveryFailure) -> Void
        ) {
            self.accepted = accepted
            self.released = released
            self.rejected = rejected
            self.lostUnreleased = lostUnreleased
        }
    }

    private let handlers: Handlers

    public init(_ handlers: Handlers) {
        self.handlers = handlers
    }

    /// The backend took `record`; `receipt` is what a confirmed request receives.
    public func accepted(_ record: SinkRecord, receipt: Receipt, attempts: Int) {
        handlers.accepted(record, receipt, attempts)
    }

    /// These records are durable at the destination.
    public func released(_ sequences: [UInt64]) {
        handlers.released(sequences)
    }

    /// The backend refused `record` for good; it goes to the archive's error prefix and is released.
    public func rejected(_ record: SinkRecord, failure: DeliveryFailure) {
        handlers.rejected(record, failure)
    }

    /// The sink dropped every record it had not released yet (for example an archive file failed to publish).
    public func lostUnreleased(_ failure: DeliveryFailure) {
        handlers.lostUnreleased(failure)
    }
}

/// Where records that a sink rejected for good are kept, with the reason (the archive's error prefix).
public protocol DeadLetterDestination: Sendable {
    /// Stores `record` with its failure. Throws when it could not be stored; the caller keeps the record and retries.
    func storeRejected(_ record: SinkRecord, failure: DeliveryFailure, sink: SinkID) async throws
}
