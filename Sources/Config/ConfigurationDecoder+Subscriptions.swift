internal import Foundation
internal import Yams

// `subscriptions:` and `network:` (see docs/subscriptions.md and docs/configuration.md).
extension ConfigurationDecoder {
    /// Sources and handlers of ARCHITECTURE.md §3 that a later version builds; named so the error says so.
    static let plannedSources = ["kinesis"]
    static let plannedHandlers: [String] = []

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
            let (kind, map) = singleKind(
                node, path, kinds: ["webhook", "postgres"], planned: Self.plannedHandlers, example: "{webhook: {url: \"https://…\"}}")
        else { return nil }
        if kind == "postgres" { return decodePostgresHandler(map) }
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

    private func decodePostgresHandler(_ map: MappingReader) -> SubscriptionConfiguration.Handler? {
        let url = map.requiredString("url", validate: Self.postgresURLProblems)
        let table = map.requiredString("table", validate: Self.postgresTableProblems)
        var postgres = SubscriptionConfiguration.Postgres(url: url ?? "", table: table ?? "")
        map.choice("mode", into: &postgres.mode)
        map.boolean("create_table", into: &postgres.createTable)
        map.choice("tls", into: &postgres.tls)
        map.optionalString("ca_file", into: &postgres.caFile)
        map.integer("max_connections", .between(1, 100), into: &postgres.maxConnections)
        map.number("timeout_s", .between(0.001, 900), into: &postgres.timeoutSeconds)
        var valid = url != nil && table != nil
        var keyMark = map.mark
        if let node = map.take("key") {
            keyMark = node.mark
            let keyPath = map.path.key("key")
            switch node {
            case .sequence(let items) where !items.isEmpty:
                for (index, item) in items.enumerated() {
                    if let name = context.string(item, keyPath.index(index), validate: Self.postgresIdentifierProblems) {
                        postgres.key.append(name)
                    } else {
                        valid = false
                    }
                }
            case .scalar:
                if let name = context.string(node, keyPath, validate: Self.postgresIdentifierProblems) {
                    postgres.key = [name]
                } else {
                    valid = false
                }
            default:
                context.error(keyPath, "expected a column name or a non-empty list of column names", at: node.mark)
                valid = false
            }
        }
        let columnsPath = map.path.key("columns")
        if let node = map.take("columns") {
            if case .sequence(let items) = node, !items.isEmpty {
                var seen: [String: Int] = [:]
                for (index, item) in items.enumerated() {
                    let itemPath = columnsPath.index(index)
                    guard let column = MappingReader.open(item, itemPath, context, expected: "a mapping {name, from, type}") else {
                        valid = false
                        continue
                    }
                    let name = column.requiredString("name", validate: Self.postgresIdentifierProblems)
                    let from = column.requiredString("from", validate: Self.postgresColumnSourceProblems)
                    var type: String?
                    column.optionalString("type", into: &type, validate: Self.postgresTypeProblems)
                    column.finish()
                    guard let name, let from else {
                        valid = false
                        continue
                    }
                    if let first = seen[name] {
                        context.error(itemPath.key("name"), "duplicate column '\(name)' (already \(columnsPath.index(first)))", at: item.mark)
                        valid = false
                    }
                    seen[name] = seen[name] ?? index
                    postgres.columns.append(.init(name: name, from: from, type: type))
                }
            } else {
                context.error(columnsPath, "expected a non-empty list of columns, e.g. [{name: event_id, from: event_id}]", at: node.mark)
                valid = false
            }
        } else {
            context.error(
                columnsPath, "missing (a list of columns, e.g. [{name: event_id, from: event_id}, {name: body, from: payload}])", at: map.mark)
            valid = false
        }
        let keyPath = map.path.key("key")
        switch postgres.mode {
        case .insert:
            if !postgres.key.isEmpty {
                context.error(keyPath, "applies to mode 'upsert' only (insert mode is keyed by the event id's column)", at: keyMark)
                valid = false
            }
            if !postgres.columns.isEmpty, !postgres.columns.contains(where: { $0.from == "event_id" }) {
                context.error(
                    columnsPath, "mode 'insert' is idempotent by event id: add a column {name: event_id, from: event_id}", at: map.mark)
                valid = false
            }
        case .upsert:
            if postgres.key.isEmpty {
                context.error(keyPath, "missing (mode 'upsert' keeps one row per key: name its column(s), e.g. key: [order_id])", at: map.mark)
                valid = false
            }
            for name in postgres.key where !postgres.columns.contains(where: { $0.name == name }) {
                context.error(keyPath, "'\(name)' is not one of the columns", at: keyMark)
                valid = false
            }
            for column in postgres.columns where column.name == "sluice_received_at" || column.name == "sluice_sequence" {
                context.error(columnsPath, "'\(column.name)' is the handler's own column in upsert mode: choose another name", at: map.mark)
                valid = false
            }
        }
        map.finish()
        return valid ? .postgres(postgres) : nil
    }

    static func postgresURLProblems(_ value: String) -> [String] {
        let lower = value.lowercased()
        guard lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") else {
            return ["expected a postgres:// URL (postgres://user:password@host:5432/database)"]
        }
        return []
    }

    /// An identifier the handler quotes: 1…63 of letters, digits and `_`, not starting with a digit.
    static func postgresIdentifierProblems(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_") }
        guard let first = bytes.first, bytes.count <= 63, isLetter(first),
            bytes.allSatisfy({ isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) })
        else { return ["'\(value)' is not a column or table name (1…63 of letters, digits and '_', not starting with a digit)"] }
        return []
    }

    static func postgresTableProblems(_ value: String) -> [String] {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return ["expected 'table' or 'schema.table', got '\(value)'"] }
        return parts.flatMap { postgresIdentifierProblems(String($0)) }
    }

    static func postgresColumnSourceProblems(_ value: String) -> [String] {
        let names = ["event_id", "received_at", "partition_key", "team", "app", "payload", "sequence"]
        guard names.contains(value) || value.hasPrefix("/") else {
            var message = "expected one of " + names.map { "'\($0)'" }.joined(separator: ", ") + " or a JSON pointer such as '/order/id'"
            if let suggestion = suggestion(for: value, among: names) { message += "; did you mean '\(suggestion)'?" }
            return [message]
        }
        return []
    }

    /// A SQL type name as the handler writes it into statements: words, an optional `(precision[, scale])` and `[]`
    /// (no quotes, semicolons or comments can pass).
    static func postgresTypeProblems(_ value: String) -> [String] {
        var rest = Substring(value.lowercased())
        if rest.hasSuffix("[]") { rest = rest.dropLast(2) }
        if rest.hasSuffix(")"), let open = rest.firstIndex(of: "(") {
            let inside = rest[rest.index(after: open)..<rest.index(before: rest.endIndex)]
            guard !inside.isEmpty, inside.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "," || $0 == " ") }) else {
                return ["'\(value)' is not a SQL type name (e.g. text, bigint, numeric(12,2), jsonb, timestamptz, text[])"]
            }
            rest = rest[..<open]
        }
        let words = rest.split(separator: " ")
        guard !words.isEmpty, words.count <= 3, rest.count <= 40,
            words.allSatisfy({ word in word.first?.isLetter == true && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } })
        else { return ["'\(value)' is not a SQL type name (e.g. text, bigint, numeric(12,2), jsonb, timestamptz, text[])"] }
        return []
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
