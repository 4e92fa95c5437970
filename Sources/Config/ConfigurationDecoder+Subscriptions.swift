internal import Foundation
internal import Yams

// `subscriptions:` and `network:` (see docs/subscriptions.md and docs/configuration.md).
extension ConfigurationDecoder {
    /// Sources and handlers of ARCHITECTURE.md §3 that a later version builds; named so the error says so.
    static let plannedSources = ["kinesis"]
    static let plannedHandlers = ["postgres"]

    func decodeNetwork(_ map: MappingReader) -> NetworkConfiguration {
        var network = NetworkConfiguration()
        if let node = map.take("allowed_webhook_hosts") {
            let path = map.path.key("allowed_webhook_hosts")
            if case .sequence(let items) = node {
                for (index, item) in items.enumerated() {
                    if let host = context.string(item, path.index(index), validate: Self.allowedHostProblems) {
                        network.allowedWebhookHosts.append(host)
                    }
                }
            } else if !Self.isNull(node) {
                context.error(path, "expected a list of host names and CIDR blocks, got \(DecodingContext.describe(node))", at: node.mark)
            }
        }
        map.finish()
        return network
    }

    /// A host name, an IP address, or `address/prefix`.
    static func allowedHostProblems(_ value: String) -> [String] {
        if value.isEmpty { return ["must not be empty"] }
        if let slash = value.firstIndex(of: "/") {
            let prefix = value[value.index(after: slash)...]
            guard let bits = Int(prefix), bits >= 0, bits <= (value.contains(":") ? 128 : 32) else {
                return ["expected a CIDR block such as '10.0.0.0/8', got '\(value)'"]
            }
        }
        return []
    }

    func decodeSubscriptions(_ node: Node, _ path: ConfigPath, hasKafka: Bool, hasKinesis: Bool) -> [SubscriptionConfiguration] {
        let items: [Node]
        switch node {
        case .sequence(let sequence):
            items = Array(sequence)
        case .scalar(let scalar) where DecodingContext.isNull(scalar):
            return []
        default:
            context.error(path, "expected a list of subscriptions, got \(DecodingContext.describe(node))", at: node.mark)
            return []
        }
        var subscriptions: [SubscriptionConfiguration] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path.index(index)
            guard let map = MappingReader.open(item, itemPath, context, expected: "a subscription mapping (name, source, handler, …)")
            else { continue }
            guard let subscription = decodeSubscription(map, itemPath, hasKafka: hasKafka, hasKinesis: hasKinesis) else { continue }
            if let first = firstIndex[subscription.name] {
                context.error(
                    itemPath.key("name"), "duplicate subscription '\(subscription.name)' (already defined at \(path.index(first)))",
                    at: map.mark)
                continue
            }
            firstIndex[subscription.name] = index
            subscriptions.append(subscription)
        }
        return subscriptions
    }

    private func decodeSubscription(_ map: MappingReader, _ path: ConfigPath, hasKafka: Bool, hasKinesis: Bool) -> SubscriptionConfiguration? {
        let name = map.requiredString("name", validate: Self.subscriptionNameProblems)
        var source: SubscriptionConfiguration.Source?
        if let node = map.take("source") {
            source = decodeSource(node, path.key("source"), hasKafka: hasKafka)
        } else {
            context.error(path.key("source"), "missing (e.g. {log: {streams: [\"team/app\"]}})", at: map.mark)
        }
        var handler: SubscriptionConfiguration.Handler?
        if let node = map.take("handler") {
            handler = decodeHandler(node, path.key("handler"))
        } else {
            context.error(path.key("handler"), "missing (e.g. {webhook: {url: \"https://…\"}})", at: map.mark)
        }
        var policy = SubscriptionConfiguration(
            name: "", source: .log(.init(streams: [])), handler: .webhook(.init(url: "")))
        map.integer("batch_size", .between(1, 10_000), into: &policy.batchSize)
        map.number("maximum_batching_window_seconds", .between(0, 300), into: &policy.maximumBatchingWindowSeconds)
        if let node = map.take("maximum_retry_attempts") {
            let key = path.key("maximum_retry_attempts")
            if let value = context.integer(node, key, .between(-1, 10_000)) { policy.maximumRetryAttempts = value }
        }
        if let node = map.take("maximum_record_age_seconds") {
            let key = path.key("maximum_record_age_seconds")
            if let value = context.integer(node, key, .between(-1, 604_800)) {
                if value != -1, value < 60 {
                    context.error(key, "must be -1 (no limit) or 60…604800 (Lambda's range), got \(value)", at: node.mark)
                } else {
                    policy.maximumRecordAgeSeconds = value
                }
            }
        }
        map.boolean("bisect_batch_on_function_error", into: &policy.bisectBatchOnFunctionError)
        map.boolean("report_batch_item_failures", into: &policy.reportBatchItemFailures)
        map.integer("parallelization_factor", .between(1, 10), into: &policy.parallelizationFactor)
        if let node = map.take("on_failure") {
            if let destination = decodeDeadLetterDestination(node, path.key("on_failure"), hasKafka: hasKafka, hasKinesis: hasKinesis) {
                policy.onFailure = destination
            }
        }
        map.finish()
        guard let name, let source, let handler else { return nil }
        policy.name = name
        policy.source = source
        policy.handler = handler
        return policy
    }

    /// A Kinesis stream name, as Kinesis accepts it: 1…128 of `a-z A-Z 0-9 _ . -`.
    static func kinesisStreamNameProblems(_ value: String) -> [String] {
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        guard !value.isEmpty, value.utf8.count <= 128, allowed else {
            return ["'\(value)' is not a Kinesis stream name (1…128 of a-z, A-Z, 0-9, '_', '.', '-')"]
        }
        return []
    }

    /// A subscription's name names files, metrics and URL paths.
    static func subscriptionNameProblems(_ value: String) -> [String] {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first else { return ["must not be empty"] }
        func isLowerAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        let valid =
            scalars.count <= 63 && isLowerAlphanumeric(first)
            && scalars.allSatisfy { isLowerAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
        return valid
            ? [] : ["must be 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '\(value)'"]
    }

    /// Exactly one key naming the kind, whose value is that kind's mapping.
    private func singleKind(_ node: Node, _ path: ConfigPath, kinds: [String], planned: [String], example: String)
        -> (kind: String, map: MappingReader)?
    {
        guard let outer = MappingReader.open(node, path, context, expected: "a mapping with one key, e.g. \(example)") else { return nil }
        let entries = outer.takeAll()
        guard entries.count == 1, let entry = entries.first else {
            context.error(
                path, "expected exactly one of " + kinds.map { "'\($0)'" }.joined(separator: ", ") + ", e.g. \(example)",
                at: outer.mark)
            return nil
        }
        guard kinds.contains(entry.key) else {
            if planned.contains(entry.key) {
                context.error(path.key(entry.key), "'\(entry.key)' is not supported by this version", at: entry.keyMark)
            } else {
                var message = "unknown kind '\(entry.key)' (expected " + kinds.map { "'\($0)'" }.joined(separator: ", ") + ")"
                if let suggestion = suggestion(for: entry.key, among: kinds + planned) { message += "; did you mean '\(suggestion)'?" }
                context.error(path.key(entry.key), message, at: entry.keyMark)
            }
            return nil
        }
        guard let inner = MappingReader.open(entry.value, path.key(entry.key), context) else { return nil }
        return (entry.key, inner)
    }

    private func decodeSource(_ node: Node, _ path: ConfigPath, hasKafka: Bool) -> SubscriptionConfiguration.Source? {
        guard
            let (kind, map) = singleKind(
                node, path, kinds: ["log", "kafka"], planned: Self.plannedSources, example: "{log: {streams: [\"team/app\"]}}")
        else { return nil }
        if kind == "kafka" {
            if !hasKafka {
                context.error(path.key("kafka"), "a kafka source needs the 'kafka:' section (bootstrap_servers, security)", at: map.mark)
            }
            return decodeKafkaSource(map)
        }
        var streams: [String] = []
        var streamsValid = true
        if let node = map.take("streams") {
            let streamsPath = map.path.key("streams")
            if case .sequence(let items) = node, !items.isEmpty {
                for (index, item) in items.enumerated() {
                    if let pattern = context.string(item, streamsPath.index(index), validate: Self.streamPatternProblems) {
                        streams.append(pattern)
                    } else {
                        streamsValid = false
                    }
                }
            } else {
                context.error(streamsPath, "expected a non-empty list of 'team/app' or 'team/*' patterns", at: node.mark)
                streamsValid = false
            }
        } else {
            context.error(map.path.key("streams"), "missing (a list of 'team/app' or 'team/*' patterns)", at: map.mark)
            streamsValid = false
        }
        var source = SubscriptionConfiguration.LogSource(streams: streams)
        map.choice("starting_position", into: &source.startingPosition)
        if let node = map.take("timestamp") {
            let timestampPath = map.path.key("timestamp")
            if let text = context.string(node, timestampPath, validate: nonEmpty) {
                if let millis = RFC3339.parseMillis(text) {
                    source.timestampMillis = millis
                } else {
                    context.error(timestampPath, "expected an RFC 3339 timestamp such as '2026-12-01T10:00:00Z', got '\(text)'", at: node.mark)
                }
            }
        }
        if source.startingPosition == .atTimestamp, source.timestampMillis == nil, !map.contains("timestamp") {
            context.error(map.path.key("timestamp"), "missing (required by starting_position 'at_timestamp')", at: map.mark)
        }
        map.finish()
        return streamsValid ? .log(source) : nil
    }

    private func decodeKafkaSource(_ map: MappingReader) -> SubscriptionConfiguration.Source? {
        let topic = map.requiredString("topic")
        let group = map.requiredString("group_id")
        var source = SubscriptionConfiguration.KafkaSource(topic: topic ?? "", groupID: group ?? "")
        if let node = map.take("starting_position") {
            let path = map.path.key("starting_position")
            if let value = context.choice(node, path, ["trim_horizon", "latest"]),
                let position = SubscriptionConfiguration.StartingPosition(rawValue: value)
            {
                source.startingPosition = position
            }
        }
        if let properties = map.mapping("properties") {
            for entry in properties.takeAll() {
                let value = context.typed(entry.value, properties.path.key(entry.key), expected: "a string, number or boolean") { $0 }
                if let value { source.properties[entry.key] = value }
            }
            properties.finish()
        }
        map.finish()
        guard topic != nil, group != nil else { return nil }
        return .kafka(source)
    }

    /// `team/app` or `team/*`.
    static func streamPatternProblems(_ value: String) -> [String] {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return ["expected 'team/app' or 'team/*', got '\(value)'"] }
        var problems = directoryNameProblems(String(parts[0])).map { "team " + $0 }
        if parts[1] != "*" { problems += directoryNameProblems(String(parts[1])).map { "app " + $0 } }
        return problems
    }

    private func decodeHandler(_ node: Node, _ path: ConfigPath) -> SubscriptionConfiguration.Handler? {
        guard
            let (_, map) = singleKind(
                node, path, kinds: ["webhook"], planned: Self.plannedHandlers, example: "{webhook: {url: \"https://…\"}}")
        else { return nil }
        let url = map.requiredString("url", validate: Self.httpURLProblems)
        var webhook = SubscriptionConfiguration.Webhook(url: url ?? "")
        map.choice("format", into: &webhook.format)
        map.number("timeout_s", .between(0.001, 900), into: &webhook.timeoutSeconds)
        map.optionalString("signing_secret", into: &webhook.signingSecret)
        if let headers = map.mapping("headers") {
            for entry in headers.takeAll() {
                let headerPath = headers.path.key(entry.key)
                if !Self.isHeaderName(entry.key) {
                    context.error(headerPath, "'\(entry.key)' is not a valid HTTP header name", at: entry.keyMark)
                    continue
                }
                if let value = context.string(entry.value, headerPath, validate: Self.headerValueProblems) {
                    webhook.headers[entry.key] = value
                }
            }
            headers.finish()
        }
        map.finish()
        return url == nil ? nil : .webhook(webhook)
    }

    /// RFC 9110 token characters.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
            }
    }

    static func headerValueProblems(_ value: String) -> [String] {
        value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" } ? ["must not contain CR, LF or NUL"] : []
    }

    private func decodeDeadLetterDestination(_ node: Node, _ path: ConfigPath, hasKafka: Bool, hasKinesis: Bool)
        -> SubscriptionConfiguration.DeadLetterDestination?
    {
        guard
            let (kind, map) = singleKind(
                node, path, kinds: ["log", "archive", "kafka", "kinesis"], planned: [], example: "{log: {}}")
        else { return nil }
        defer { map.finish() }
        switch kind {
        case "archive":
            return .archive
        case "kafka":
            if !hasKafka {
                context.error(path.key("kafka"), "a kafka dead-letter topic needs the 'kafka:' section (bootstrap_servers, security)", at: map.mark)
            }
            return map.requiredString("topic").map { .kafka(topic: $0) }
        case "kinesis":
            if !hasKinesis {
                context.error(path.key("kinesis"), "a kinesis dead-letter stream needs the 'kinesis:' section (region, endpoint_url)", at: map.mark)
            }
            return map.requiredString("stream", validate: Self.kinesisStreamNameProblems).map { .kinesis(stream: $0) }
        default:
            return .log
        }
    }
}
