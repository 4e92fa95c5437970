import Foundation
import GatewayCore
import Testing

@testable import Subscriptions
@testable import WebhookHandler

@Suite("Webhook: address policy, answers, formats")
struct WebhookHandlerTests {
    func address(_ text: String) throws -> [UInt8] { try #require(WebhookAddressPolicy.parseAddress(text)) }

    @Test(
        "loopback, private, link-local, metadata and mapped addresses are refused unless listed",
        arguments: [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::ffff:127.0.0.1",
            "fd00:ec2::254", "fe80::1", "224.0.0.1",
        ])
    func refused(_ text: String) throws {
        #expect(!WebhookAddressPolicy(allowed: []).permits(host: "h", address: try address(text)))
    }

    @Test("public addresses pass; a listed CIDR or host name allows exactly what it names")
    func allowed() throws {
        let none = WebhookAddressPolicy(allowed: [])
        #expect(none.permits(host: "example.com", address: try address("93.184.216.34")))
        #expect(none.permits(host: "example.com", address: try address("2606:4700::6810:84e5")))
        let listed = WebhookAddressPolicy(allowed: ["127.0.0.1/32", "hooks.internal", "fd00::/8"])
        #expect(listed.permits(host: "x", address: try address("127.0.0.1")))
        #expect(!listed.permits(host: "x", address: try address("127.0.0.2")))
        #expect(listed.permits(host: "HOOKS.internal", address: try address("10.9.9.9")))
        #expect(listed.permits(host: "x", address: try address("fd12::1")))
        #expect(listed.permits(host: "x", address: try address("::ffff:127.0.0.1")), "the mapped form of a listed address")
        #expect(!listed.permits(host: "x", address: try address("169.254.169.254")))
    }

    let batch = records(3..<8)

    @Test("2xx answers: no report, an empty list or null is success; the lowest failed identifier is the checkpoint")
    func answers() {
        for body in ["", "ok", "{}", #"{"batchItemFailures":[]}"#, #"{"batchItemFailures":null}"#] {
            #expect(
                WebhookHandler.interpret(status: 200, retryAfter: nil, body: Array(body.utf8), records: batch, reportBatchItemFailures: true)
                    == .success)
        }
        let partial = WebhookHandler.interpret(
            status: 200, retryAfter: nil, body: Array(#"{"batchItemFailures":[{"itemIdentifier":"6"},{"itemIdentifier":5}]}"#.utf8),
            records: batch, reportBatchItemFailures: true)
        guard case .partialFailure(let index, _) = partial else {
            Issue.record("expected a partial failure, got \(partial)")
            return
        }
        #expect(index == 2, "sequence 5 is the third record")
        let ignored = WebhookHandler.interpret(
            status: 200, retryAfter: nil, body: Array(#"{"batchItemFailures":[{"itemIdentifier":"6"}]}"#.utf8), records: batch,
            reportBatchItemFailures: false)
        #expect(ignored == .success, "report_batch_item_failures: false ignores the body")
    }

    @Test(
        "a malformed report fails the whole batch",
        arguments: [
            #"{"batchItemFailures":[{"id":"5"}]}"#, #"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            #"{"batchItemFailures":[{"itemIdentifier":"99"}]}"#,
            #"{"batchItemFailures":"5"}"#,
        ])
    func malformedReport(_ body: String) {
        let result = WebhookHandler.interpret(status: 200, retryAfter: nil, body: Array(body.utf8), records: batch, reportBatchItemFailures: true)
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(failure.kind == .invalidResponse)
    }

    @Test("429 and 503 throttle with Retry-After; other statuses are function errors with a bounded excerpt")
    func statuses() {
        let throttled = WebhookHandler.interpret(status: 429, retryAfter: "3", body: [], records: batch, reportBatchItemFailures: true)
        #expect(
            throttled == .failure(HandlerFailure(kind: .throttled, status: 429, message: "the webhook asked to slow down", retryAfter: .seconds(3))))
        let error = WebhookHandler.interpret(
            status: 500, retryAfter: nil, body: Array(String(repeating: "e", count: 5000).utf8), records: batch, reportBatchItemFailures: true)
        guard case .failure(let failure) = error else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == .functionError)
        #expect(failure.status == 500)
        #expect(failure.bodyExcerpt?.utf8.count == HandlerFailure.excerptLimit)
    }

    @Test("the lambda format is the Kinesis event shape, data the base64 of the envelope")
    func lambdaShape() throws {
        let body = WebhookPayload.lambdaKinesis(records(41..<43, receivedAt: 1_545_084_650_987), region: "eu-west-1")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let items = try #require(object["Records"] as? [[String: Any]])
        #expect(items.count == 2)
        let kinesis = try #require(items.first?["kinesis"] as? [String: Any])
        #expect(kinesis["sequenceNumber"] as? String == "41")
        #expect(kinesis["partitionKey"] as? String == "k0")
        #expect(kinesis["approximateArrivalTimestamp"] as? Double == 1_545_084_650.987)
        let data = try #require(Data(base64Encoded: kinesis["data"] as? String ?? ""))
        #expect(String(decoding: data, as: UTF8.self) == #"{"v":1,"event_id":"e-41","payload":{}}"#)
        #expect(items.first?["eventID"] as? String == "shardId-000000000000:41")
        #expect(items.first?["eventSource"] as? String == "aws:kinesis")
        #expect(items.first?["awsRegion"] as? String == "eu-west-1")
        let sluice = try #require(try JSONSerialization.jsonObject(with: Data(WebhookPayload.sluice(records(1..<2)))) as? [[String: Any]])
        #expect((sluice.first?["position"] as? [String: Any])?["sequence"] as? String == "1")
        #expect((sluice.first?["event"] as? [String: Any])?["event_id"] as? String == "e-1")
    }

    @Test("the signature is HMAC-SHA256 over 't.body', hex, as a receiver recomputes it")
    func signature() {
        // Key "Jefe" over "0.what do ya want for nothing?"; the expected value is Python's
        // hmac.new(b"Jefe", b"0.what do ya want for nothing?", hashlib.sha256).hexdigest().
        let header = WebhookSignature.header(secret: "Jefe", timestamp: 0, body: Array("what do ya want for nothing?".utf8))
        #expect(header == "t=0,v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc")
        #expect(header.hasPrefix("t=0,v1="))
        #expect(header.count == "t=0,v1=".count + 64)
        let other = WebhookSignature.header(secret: "Jefe", timestamp: 1, body: Array("what do ya want for nothing?".utf8))
        #expect(header.dropFirst(7) != other.dropFirst(7), "the timestamp is signed")
    }

    @Test("from Kafka: the Lambda MSK event keyed by topic-partition, and Lambda's object identifiers in partial answers")
    func kafkaShapes() throws {
        let origin = SubscriptionRecord.KafkaOrigin(
            topic: "orders", partition: 2, key: Array("k1".utf8), headers: [.init(name: "h", value: [104, 105])])
        let records = [15, 16].map { offset in
            SubscriptionRecord(
                sequence: UInt64(offset), eventID: "e", team: "", app: "", partitionKey: "k1", receivedAtMillis: 1_545_084_650_987,
                envelope: Array("{\"payload\":1}".utf8), kafka: origin)
        }
        let body = WebhookPayload.lambdaKafka(records, region: "eu-west-1", bootstrapServers: "b-1:9092")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["eventSource"] as? String == "aws:kafka")
        #expect(object["bootstrapServers"] as? String == "b-1:9092")
        let group = try #require((object["records"] as? [String: Any])?["orders-2"] as? [[String: Any]])
        #expect(group.map { $0["offset"] as? Int } == [15, 16])
        #expect(group.first?["key"] as? String == Data("k1".utf8).base64EncodedString())
        #expect(group.first?["timestamp"] as? Int == 1_545_084_650_987)
        #expect((group.first?["headers"] as? [[String: [Int]]])?.first?["h"] == [104, 105])
        #expect(records[1].itemIdentifier == "orders-2:16")
        let answer = #"{"batchItemFailures":[{"itemIdentifier":{"topic-partition":"orders-2","offset":16}}]}"#
        let result = WebhookHandler.interpret(status: 200, retryAfter: nil, body: Array(answer.utf8), records: records, reportBatchItemFailures: true)
        guard case .partialFailure(let index, _) = result else {
            Issue.record("expected a partial failure, got \(result)")
            return
        }
        #expect(index == 1)
        let sluice = try #require(try JSONSerialization.jsonObject(with: Data(WebhookPayload.sluice(records))) as? [[String: Any]])
        #expect((sluice.first?["position"] as? [String: Any])?["offset"] as? Int == 15)
        #expect((sluice.first?["event"] as? [String: Any])?["payload"] as? Int == 1)
    }
}
