internal import Foundation
internal import Yams

/// Turns the YAML tree into a `Configuration`, reporting every problem to its context.
struct ConfigurationDecoder {
    let context: DecodingContext

    func decode(_ root: Node?) -> Configuration {
        var configuration = Configuration()
        guard let root,
            let top = MappingReader.open(root, .root, context, expected: "a mapping of sections at the top level")
        else {
            configuration.streams = Configuration.embeddedDefault.streams
            configuration.defaultStream = Configuration.embeddedDefault.defaultStream
            return configuration
        }

        if let server = top.mapping("server") { configuration.server = decodeServer(server) }
        if let durability = top.mapping("durability") { configuration.durability = decodeDurability(durability) }
        if let routing = top.mapping("routing") { configuration.routing = decodeRouting(routing) }
        let hasKinesis = top.contains("kinesis")
        if let kinesis = top.mapping("kinesis") { configuration.kinesis = decodeKinesis(kinesis) }
        let hasKafka = top.contains("kafka")
        if let kafka = top.mapping("kafka") { configuration.kafka = decodeKafka(kafka) }
        if let archive = top.mapping("archive") { configuration.archive = decodeArchive(archive) }

        var names: [StreamReference] = []
        var usesEmbeddedStreams = true
        var allNamesKnown = true
        if let streamsNode = top.take("streams") {
            let streams = decodeStreams(streamsNode, top.path.key("streams"), hasKinesis: hasKinesis, hasKafka: hasKafka)
            configuration.streams = streams.streams
            names = streams.names
            usesEmbeddedStreams = streams.isEmpty
            allNamesKnown = streams.allNamesKnown
        }
        if usesEmbeddedStreams {
            configuration.streams = Configuration.embeddedDefault.streams
            names = configuration.streams.map { StreamReference(team: $0.team, app: $0.app) }
        }

        if let defaultNode = top.take("default_stream"), !Self.isNull(defaultNode) {
            configuration.defaultStream = decodeDefaultStream(
                defaultNode, top.path.key("default_stream"), names: names, checkMembership: allNamesKnown)
        } else if usesEmbeddedStreams {
            configuration.defaultStream = Configuration.embeddedDefault.defaultStream
        }

        if let network = top.mapping("network") { configuration.network = decodeNetwork(network) }
        if let live = top.mapping("live") {
            live.integer("max_connections", .between(1, 100_000), into: &configuration.live.maxConnections)
            live.integer("ping_interval_s", .between(1, 300), into: &configuration.live.pingIntervalSeconds)
            live.boolean("websocket", into: &configuration.live.websocket)
            live.integer("read_interval_ms", .between(0, 1000), into: &configuration.live.readIntervalMs)
            live.finish()
        }
        if let auth = top.mapping("auth") { configuration.auth = decodeAuth(auth) }
        if let idempotency = top.mapping("idempotency") {
            idempotency.integer("window_hours", .between(1, 720), into: &configuration.idempotency.windowHours)
            idempotency.integer("max_keys", .between(1, 10_000_000), into: &configuration.idempotency.maxKeys)
            idempotency.finish()
        }
        if let limitsNode = top.take("limits"), !Self.isNull(limitsNode) {
            configuration.limits = decodeRateLimit(limitsNode, top.path.key("limits"), allowShardAdmission: true)
        }
        if let subscriptionsNode = top.take("subscriptions") {
            configuration.subscriptions = decodeSubscriptions(
                subscriptionsNode, top.path.key("subscriptions"), hasKafka: hasKafka, hasKinesis: hasKinesis)
        }

        top.finish()
        return configuration
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node { return DecodingContext.isNull(scalar) }
        return false
    }

    // MARK: server, durability, routing

    // Every integer key has a closed range (see docs/configuration.md): the largest values keep every product the
    // gateway forms from them (KiB/MiB → bytes, ms/s → Duration or nanoseconds) far below `Int.max`.

    /// 1 KiB = 1024 bytes; 1 MiB = 1024 KiB.
    static let kib = 1024
    static let mib = 1024 * 1024
    /// 24 hours in milliseconds: the ceiling of most `_ms` keys.
    static let dayMs = 86_400_000

    static let bodyKB = IntegerBounds.between(1, 1_048_576) // 1 GiB
    static let thresholdKB = IntegerBounds.between(0, 1_048_576) // 1 GiB: above every body

    private func decodeServer(_ map: MappingReader) -> ServerConfiguration {
        var server = ServerConfiguration()
        map.string("host", into: &server.host)
        map.integer("port", .between(0, 65535), into: &server.port)
        let bodyValid = map.integer("max_body_kb", Self.bodyKB, into: &server.maxBodyKB)
        map.integer("confirmed_timeout_ms", .between(1, Self.dayMs), into: &server.confirmedTimeoutMs)
        map.integer("max_batch_events", .between(1, 100_000), into: &server.maxBatchEvents)
        map.integer("max_json_depth", .between(2, 100_000), into: &server.maxJSONDepth)
        map.integer("max_uri_bytes", .between(256, 1_048_576), into: &server.maxURIBytes)
        map.integer("max_header_kb", .between(1, 1024), into: &server.maxHeaderKB)
        map.integer("max_header_count", .between(1, 10_000), into: &server.maxHeaderCount)
        map.integer("read_timeout_s", .between(1, 3600), into: &server.readTimeoutSeconds)
        map.integer("idle_timeout_s", .between(1, 86_400), into: &server.idleTimeoutSeconds)
        map.integer("max_connections", .between(1, 1_000_000), into: &server.maxConnections)
        let inflightValid = map.integer("max_inflight_mb", .between(1, 65536), into: &server.maxInflightMB)
        if let cors = map.mapping("cors") { server.cors = decodeCORS(cors) }
        if let tls = map.mapping("tls") { server.tls = decodeTLS(tls) }
        if bodyValid, inflightValid, server.maxBodyKB * Self.kib > server.maxInflightMB * Self.mib {
            let key = map.contains("max_inflight_mb") ? "max_inflight_mb" : "max_body_kb"
            context.warning(
                map.path.key(key),
                "max_body_kb (\(server.maxBodyKB) KiB) is more than max_inflight_mb (\(server.maxInflightMB) MiB), the budget of all "
                    + "connections together: a body over \(server.maxInflightMB) MiB is admitted only while no other body is in flight",
                at: map.take(key)?.mark ?? map.mark
            )
        }
        map.finish()
        return server
    }

    private func decodeDurability(_ map: MappingReader) -> DurabilityConfiguration {
        var durability = DurabilityConfiguration()
        map.choice("mode", into: &durability.mode)
        map.string("dir", into: &durability.directory)
        map.choice("fsync", into: &durability.fsync)
        map.integer("fsync_interval_ms", .between(1, 60_000), into: &durability.fsyncIntervalMs)
        let diskValid = map.integer("max_disk_mb", .between(1, 16_777_216), into: &durability.maxDiskMB) // 16 TiB
        let segmentValid = map.integer("segment_size_mb", .between(1, 4096), into: &durability.segmentSizeMB) // 4 GiB
        map.integer("subscription_retention_hours", .between(0, 8760), into: &durability.subscriptionRetentionHours) // a year
        if diskValid, segmentValid, durability.segmentSizeMB > durability.maxDiskMB {
            let node = map.take("segment_size_mb") ?? map.take("max_disk_mb")
            context.error(
                map.path.key(map.contains("segment_size_mb") ? "segment_size_mb" : "max_disk_mb"),
                "segment_size_mb (\(durability.segmentSizeMB)) must not be larger than max_disk_mb (\(durability.maxDiskMB))",
                at: node?.mark ?? map.mark
            )
        }
        map.finish()
        return durability
    }

    private func decodeRouting(_ map: MappingReader) -> RoutingConfiguration {
        var routing = RoutingConfiguration()
        map.integer("large_message_threshold_kb", Self.thresholdKB, into: &routing.largeMessageThresholdKB)
        map.finish()
        return routing
    }

    // MARK: kinesis, kafka

    private func decodeKinesis(_ map: MappingReader) -> KinesisConfiguration {
        var kinesis = KinesisConfiguration()
        map.optionalString("region", into: &kinesis.region)
        map.optionalString("endpoint_url", into: &kinesis.endpointURL, validate: Self.httpURLProblems)
        map.boolean("aggregation", into: &kinesis.aggregation)
        map.integer("aggregation_max_size", .between(1, 1_048_576), into: &kinesis.aggregationMaxSize)
        map.integer("record_max_buffered_time_ms", .between(1, Self.dayMs), into: &kinesis.recordMaxBufferedTimeMs)
        map.boolean("flush_when_idle", into: &kinesis.flushWhenIdle)
        map.integer("record_ttl_ms", .between(1, Self.dayMs), into: &kinesis.recordTTLMs)
        map.integer("max_outstanding_records", .between(1, 10_000_000), into: &kinesis.maxOutstandingRecords)
        map.integer("max_outstanding_mb", .between(1, 65536), into: &kinesis.maxOutstandingMB)
        map.integer("rate_limit", .between(1, 10_000), into: &kinesis.rateLimit)
        map.boolean("fail_if_throttled", into: &kinesis.failIfThrottled)
        map.integer("max_record_size_kb", .between(1, 10_240), into: &kinesis.maxRecordSizeKB)
        map.integer("collection_max_count", .between(1, 500), into: &kinesis.collectionMaxCount)
        map.integer("collection_max_size", .between(1, 10 * 1_048_576), into: &kinesis.collectionMaxSize)
        map.integer("max_connections", .between(1, 256), into: &kinesis.maxConnections)
        map.integer("request_timeout_ms", .between(100, 600_000), into: &kinesis.requestTimeoutMs)
        map.integer("min_backoff_ms", .between(1, 3_600_000), into: &kinesis.minBackoffMs)
        map.integer("max_backoff_ms", .between(1, 3_600_000), into: &kinesis.maxBackoffMs)
        map.integer("shard_map_refresh_ms", .between(1000, Self.dayMs), into: &kinesis.shardMapRefreshMs)
        map.finish()
        return kinesis
    }

    static func httpURLProblems(_ value: String) -> [String] {
        guard let components = URLComponents(string: value),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            return ["expected an http:// or https:// url, got '\(value)'"]
        }
        return []
    }

    static let securityProtocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]
    static let saslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "AWS_MSK_IAM"]
    static let compressions = ["none", "gzip", "snappy", "lz4", "zstd"]

    private func decodeKafka(_ map: MappingReader) -> KafkaConfiguration {
        var kafka = KafkaConfiguration()
        if let servers = map.take("bootstrap_servers") {
            kafka.bootstrapServers = decodeBootstrapServers(servers, map.path.key("bootstrap_servers")) ?? ""
        } else {
            context.error(map.path.key("bootstrap_servers"), "missing (a comma-separated host:port list)", at: map.mark)
        }
        if let security = map.mapping("security") {
            kafka.security = decodeSecurity(security)
        }
        if let acks = map.take("acks"), let value = context.choice(acks, map.path.key("acks"), ["all", "-1", "0", "1"]) {
            kafka.acks = value == "-1" ? "all" : value
        }
        map.choice("compression", Self.compressions, into: &kafka.compression)
        // librdkafka's own ranges for linger.ms, batch.size and message.max.bytes.
        map.integer("linger_ms", .between(0, 900_000), into: &kafka.lingerMs)
        map.integer("batch_size", .between(1, 2_147_483_647), into: &kafka.batchSize)
        map.integer("message_max_bytes", .between(1000, 1_000_000_000), into: &kafka.messageMaxBytes)
        if let properties = map.mapping("properties") {
            for entry in properties.takeAll() {
                let path = properties.path.key(entry.key)
                let value = context.typed(entry.value, path, expected: "a string, number or boolean") { $0 }
                if let value { kafka.properties[entry.key] = value }
            }
            properties.finish()
        }
        map.finish()
        return kafka
    }

    /// A comma-separated string, or a list of `host:port` strings (joined with commas).
    private func decodeBootstrapServers(_ node: Node, _ path: ConfigPath) -> String? {
        if case .sequence(let items) = node {
            var servers: [String] = []
            for (index, item) in items.enumerated() {
                if let server = context.string(item, path.index(index), validate: nonEmpty) { servers.append(server) }
            }
            if items.isEmpty { context.error(path, "must not be empty", at: node.mark) }
            return servers.joined(separator: ",")
        }
        switch context.resolve(node, path) {
        case .null:
            context.error(path, "missing (a comma-separated host:port list)", at: node.mark)
            return nil
        case let resolution:
            return context.string(resolution, node, path) { value in
                value.trimmingCharacters(in: .whitespaces).isEmpty ? ["must not be empty"] : []
            }
        }
    }

    private func decodeSecurity(_ map: MappingReader) -> KafkaConfiguration.Security {
        var security = KafkaConfiguration.Security()
        let protocolValid = map.choice("protocol", Self.securityProtocols, into: &security.securityProtocol)
        var mechanismValid = true
        if let node = map.take("sasl_mechanism") {
            let path = map.path.key("sasl_mechanism")
            if case .null = context.resolve(node, path) {
                security.saslMechanism = nil
            } else if let value = context.choice(node, path, Self.saslMechanisms) {
                security.saslMechanism = value
            } else {
                mechanismValid = false
            }
        }
        let usernameValid = map.optionalString("username", into: &security.username)
        let passwordValid = map.optionalString("password", into: &security.password)
        map.optionalString("ca_file", into: &security.caFile)
        map.optionalString("cert_file", into: &security.certFile)
        map.optionalString("key_file", into: &security.keyFile)

        let usesSASL = security.securityProtocol.hasPrefix("sasl_")
        if protocolValid, mechanismValid {
            if usesSASL, security.saslMechanism == nil {
                context.error(
                    map.path.key("sasl_mechanism"),
                    "missing (required when protocol is '\(security.securityProtocol)'; one of "
                        + Self.saslMechanisms.map { "'\($0)'" }.joined(separator: ", ") + ")",
                    at: map.mark
                )
            } else if !usesSASL, let mechanism = security.saslMechanism {
                context.warning(
                    map.path.key("sasl_mechanism"),
                    "'\(mechanism)' has no effect: protocol '\(security.securityProtocol)' does not use SASL",
                    at: map.take("sasl_mechanism")?.mark
                )
            }
        }
        if usesSASL, let mechanism = security.saslMechanism, mechanism != "AWS_MSK_IAM" {
            if usernameValid, security.username == nil {
                context.error(map.path.key("username"), "missing (required by sasl_mechanism '\(mechanism)')", at: map.mark)
            }
            if passwordValid, security.password == nil {
                context.error(map.path.key("password"), "missing (required by sasl_mechanism '\(mechanism)')", at: map.mark)
            }
        }
        map.finish()
        return security
    }

    // MARK: archive

    static let placeholders = ["team", "app", "yyyy", "MM", "dd", "HH"]

    private func decodeArchive(_ map: MappingReader) -> ArchiveConfiguration {
        var archive = ArchiveConfiguration()
        map.boolean("enabled", into: &archive.enabled)
        map.string("url", into: &archive.url, validate: Self.archiveURLProblems)
        map.choice("format", ["ndjson_gzip"], into: &archive.format)
        if let buffer = map.mapping("buffer") {
            buffer.number("size_mb", .between(0.001, 128), into: &archive.bufferSizeMB)
            buffer.number("interval_s", .between(0.001, 900), into: &archive.bufferIntervalSeconds)
            buffer.finish()
        }
        map.string("partition_template", into: &archive.partitionTemplate, validate: Self.partitionTemplateProblems)
        map.string("error_prefix", into: &archive.errorPrefix, validate: Self.errorPrefixProblems)
        map.integer("compression_level", .between(1, 9), into: &archive.compressionLevel)
        map.finish()
        return archive
    }

    static func archiveURLProblems(_ value: String) -> [String] {
        let lowered = value.lowercased()
        if lowered.hasPrefix("s3://") {
            return ["s3 archives are not supported by this version; use a file:// url"]
        }
        if lowered.hasPrefix("file://") {
            return value.dropFirst("file://".count).isEmpty
                ? ["a file:// url needs a path (e.g. 'file://./data/archive'), got '\(value)'"] : []
        }
        return ["expected a file:// url (e.g. 'file://./data/archive'), got '\(value)'"]
    }

    static func partitionTemplateProblems(_ value: String) -> [String] {
        var problems: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            if rest[open] == "}" {
                problems.append("unmatched '}' in '\(value)'")
                rest = rest[rest.index(after: open)...]
                continue
            }
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "}") else {
                problems.append("unclosed '{' in '\(value)'")
                break
            }
            let name = String(rest[afterOpen..<close])
            if !placeholders.contains(name) {
                var message =
                    "unknown placeholder '{\(name)}' (allowed: "
                    + placeholders.map { "{\($0)}" }.joined(separator: ", ") + ")"
                if let suggestion = suggestion(for: name, among: placeholders) {
                    message += "; did you mean '{\(suggestion)}'?"
                }
                problems.append(message)
            }
            rest = rest[rest.index(after: close)...]
        }
        problems += relativePathProblems(value)
        return problems
    }

    static func errorPrefixProblems(_ value: String) -> [String] {
        value.isEmpty ? ["must not be empty"] : relativePathProblems(value)
    }

    private static func relativePathProblems(_ value: String) -> [String] {
        var problems: [String] = []
        if value.hasPrefix("/") { problems.append("must be a relative path (must not start with '/'), got '\(value)'") }
        if value.contains("..") { problems.append("must not contain '..', got '\(value)'") }
        return problems
    }

    // MARK: streams

    struct DecodedStreams {
        var streams: [StreamConfiguration] = []
        /// The team/app of every entry, in order, without repeats.
        var names: [StreamReference] = []
        /// Whether `streams` is null or an empty list (the embedded default's streams apply).
        var isEmpty = false
        /// False when some entry's team/app could not be read: `default_stream` is then not checked against
        /// `names`, so that one mistake is not reported twice.
        var allNamesKnown = true
    }

    private func decodeStreams(_ node: Node, _ path: ConfigPath, hasKinesis: Bool, hasKafka: Bool) -> DecodedStreams {
        var result = DecodedStreams()
        let items: [Node]
        switch node {
        case .sequence(let sequence):
            items = Array(sequence)
        case .scalar(let scalar) where DecodingContext.isNull(scalar):
            items = []
        default:
            context.error(path, "expected a list of streams, got \(DecodingContext.describe(node))", at: node.mark)
            result.allNamesKnown = false
            return result
        }
        result.isEmpty = items.isEmpty
        var firstIndex: [StreamReference: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path.index(index)
            guard let map = MappingReader.open(item, itemPath, context, expected: "a stream mapping (team, app, …)")
            else {
                result.allNamesKnown = false
                continue
            }
            let team = map.requiredString("team", validate: Self.directoryNameProblems)
            let app = map.requiredString("app", validate: Self.directoryNameProblems)
            var stream = StreamConfiguration(team: team ?? "", app: app ?? "")
            map.optionalString("kinesis_stream", into: &stream.kinesisStream)
            map.optionalString("kafka_topic", into: &stream.kafkaTopic)
            map.optionalInteger("large_message_threshold_kb", Self.thresholdKB, into: &stream.largeMessageThresholdKB)
            map.boolean("archive", into: &stream.archive)
            if let node = map.take("rate_limit"), !Self.isNull(node) {
                stream.rateLimit = decodeRateLimit(node, itemPath.key("rate_limit"), allowShardAdmission: false)
            }
            if let node = map.take("schema"), !Self.isNull(node) { stream.schema = decodeSchema(node, itemPath.key("schema")) }
            map.choice("on_invalid", into: &stream.onInvalid)
            if let node = map.take("errors_stream"), !Self.isNull(node) {
                if let text = context.string(node, itemPath.key("errors_stream"), validate: nonEmpty) {
                    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
                    if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
                        stream.errorsStream = StreamReference(team: String(parts[0]), app: String(parts[1]))
                    } else {
                        context.error(
                            itemPath.key("errors_stream"), "expected a stream 'team/app', got '\(DecodingContext.shorten(text))'", at: node.mark)
                    }
                }
            }
            map.finish()
            if stream.onInvalid == .deadLetter, stream.errorsStream == nil {
                context.error(itemPath.key("on_invalid"), "'dead_letter' needs 'errors_stream' (the stream that keeps refused events)", at: map.mark)
            }
            if stream.schema == nil, map.contains("on_invalid") || map.contains("errors_stream") {
                context.warning(itemPath, "'on_invalid' and 'errors_stream' apply only with a 'schema'", at: map.mark)
            }

            if stream.kinesisStream != nil, !hasKinesis {
                context.warning(
                    itemPath.key("kinesis_stream"),
                    "the kinesis backend is not configured (no 'kinesis:' section); this stream's small events go to the embedded default",
                    at: map.take("kinesis_stream")?.mark
                )
            }
            if stream.kafkaTopic != nil, !hasKafka {
                context.warning(
                    itemPath.key("kafka_topic"),
                    "the kafka backend is not configured (no 'kafka:' section); this stream's large events go to the embedded default",
                    at: map.take("kafka_topic")?.mark
                )
            }

            guard let team, let app else {
                result.allNamesKnown = false
                continue
            }
            let name = StreamReference(team: team, app: app)
            if let first = firstIndex[name] {
                context.error(
                    itemPath,
                    "duplicate stream '\(team)/\(app)' (already defined at \(path.index(first)))",
                    at: map.mark
                )
                continue
            }
            firstIndex[name] = index
            result.names.append(name)
            result.streams.append(stream)
        }
        for (index, stream) in result.streams.enumerated() {
            guard let errors = stream.errorsStream else { continue }
            let at = path.index(firstIndex[StreamReference(team: stream.team, app: stream.app)] ?? index).key("errors_stream")
            if !result.names.contains(errors) {
                context.error(at, "'\(errors.team)/\(errors.app)' is not a configured stream", at: nil)
            } else if errors == StreamReference(team: stream.team, app: stream.app) {
                context.error(at, "a stream cannot be its own errors stream", at: nil)
            } else if result.streams.first(where: { $0.team == errors.team && $0.app == errors.app })?.schema != nil {
                context.error(
                    at, "the errors stream '\(errors.team)/\(errors.app)' has a schema of its own; refused events would be refused again", at: nil)
            }
        }
        return result
    }

    /// `team` and `app` become directory names.
    static func directoryNameProblems(_ value: String) -> [String] {
        if value.isEmpty { return ["must not be empty"] }
        if value == "." || value == ".." { return ["must not be '.' or '..'"] }
        let allowed = value.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-"
        }
        return allowed ? [] : ["may contain only letters, digits, '.', '_' and '-', got '\(value)'"]
    }

    /// `{team: …, app: …}` or `"team/app"`, naming one of `names`.
    private func decodeDefaultStream(
        _ node: Node, _ path: ConfigPath, names: [StreamReference],
        checkMembership: Bool
    ) -> StreamReference? {
        var reference: StreamReference?
        switch node {
        case .mapping:
            guard let map = MappingReader.open(node, path, context) else { return nil }
            let team = map.requiredString("team")
            let app = map.requiredString("app")
            map.finish()
            if let team, let app { reference = StreamReference(team: team, app: app) }
        default:
            let text = context.typed(node, path, expected: "'team/app' or a mapping {team, app}") { $0 }
            guard let text else { return nil }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                context.error(path, "expected 'team/app' or a mapping {team, app}, got '\(text)'", at: node.mark)
                return nil
            }
            reference = StreamReference(team: String(parts[0]), app: String(parts[1]))
        }
        guard let reference else { return nil }
        guard names.contains(reference) || !checkMembership else {
            let known = names.prefix(10).map { "'\($0.team)/\($0.app)'" }.joined(separator: ", ")
            context.error(
                path,
                "no stream '\(reference.team)/\(reference.app)' in 'streams' (known: \(known)\(names.count > 10 ? ", …" : ""))",
                at: node.mark
            )
            return nil
        }
        return reference
    }
}
