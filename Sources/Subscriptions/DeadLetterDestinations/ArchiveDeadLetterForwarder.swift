public import ArchiveSink
public import Subscriptions

/// `on_failure: {archive: {}}`: each dead letter, as its JSON, published as a file under the archive's error prefix
/// (``ArchiveSink/storeSubscriptionDeadLetter(_:subscription:condition:id:millis:)``), where the sinks' rejected
/// records also go.
public struct ArchiveDeadLetterForwarder<C: Clock>: DeadLetterForwarder where C.Duration == Duration {
    let archive: ArchiveSink<C>
    let root: String

    /// - Parameter root: the archive's directory, for logs.
    public init(archive: ArchiveSink<C>, root: String) {
        self.archive = archive
        self.root = root
    }

    public var destination: String { "the archive's error prefix in \(root)" }

    public func forward(_ letter: DeadLetter) async throws {
        try await archive.storeSubscriptionDeadLetter(
            letter.json, subscription: letter.subscription, condition: letter.condition.rawValue, id: letter.id,
            millis: letter.deadLetteredAtMillis)
    }
}
