import EnvelopeScanner
import Foundation
import GatewayCore
public import Subscriptions

/// The request bodies of the two webhook formats.
public enum WebhookPayload {
    /// `sluice`: a JSON array of `{"position":{"sequence":"N"},"event":<envelope>}`, the envelope byte for byte.
    /// From Kafka the position is `{"topic","partition","offset"}`, with `"key"` (base64 or null), and a value that
    /// is not JSON comes as `"value_base64"` instead of `"event"`.
    public static func sluice(_ records: [SubscriptionRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.reduce(2) { $0 + $1.envelope.count + 48 })
        out.append(UInt8(ascii: "["))
        for (index, record) in records.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let kafka = record.kafka else {
                out.append(contentsOf: #"{"position":{"sequence":""#.utf8)
                out.append(contentsOf: String(record.sequence).utf8)
                out.append(contentsOf: #""},"event":"#.utf8)
                out.append(contentsOf: record.envelope)
                out.append(UInt8(ascii: "}"))
                continue
            }
            out.append(contentsOf: #"{"position":{"topic":"#.utf8)
            EnvelopeWriter.appendJSONString(kafka.topic, to: &out)
            out.append(contentsOf: ",\"partition\":\(kafka.partition),\"offset\":\(record.sequence)},\"key\":".utf8)
            if let key = kafka.key {
                EnvelopeWriter.appendJSONString(Data(key).base64EncodedString(), to: &out)
            } else {
                out.append(contentsOf: "null".utf8)
            }
            if (try? EnvelopeScanner.validate(record.envelope)) != nil {
                out.append(contentsOf: #","event":"#.utf8)
                out.append(contentsOf: record.envelope)
            } else {
                out.append(contentsOf: #","value_base64":"#.utf8)
                EnvelopeWriter.appendJSONString(Data(record.envelope).base64EncodedString(), to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// `lambda` for a Kafka source: the AWS Lambda MSK event, records keyed by `topic-partition`, key and value in
    /// base64, header values as arrays of byte values.
    public static func lambdaKafka(_ records: [SubscriptionRecord], region: String, bootstrapServers: String) -> [UInt8] {
        var groups: [(String, [SubscriptionRecord])] = []
        for record in records {
            let key = record.kafka?.topicPartition ?? ""
            if let index = groups.firstIndex(where: { $0.0 == key }) {
                groups[index].1.append(record)
            } else {
                groups.append((key, [record]))
            }
        }
        var out: [UInt8] = []
        out.append(contentsOf: #"{"eventSource":"aws:kafka","eventSourceArn":"#.utf8)
        EnvelopeWriter.appendJSONString("arn:aws:kafka:\(region):000000000000:cluster/sluice/0", to: &out)
        out.append(contentsOf: #","bootstrapServers":"#.utf8)
        EnvelopeWriter.appendJSONString(bootstrapServers, to: &out)
        out.append(contentsOf: #","records":{"#.utf8)
        for (groupIndex, (topicPartition, members)) in groups.enumerated() {
            if groupIndex > 0 { out.append(UInt8(ascii: ",")) }
            EnvelopeWriter.appendJSONString(topicPartition, to: &out)
            out.append(contentsOf: ":[".utf8)
            for (index, record) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                let kafka = record.kafka
                out.append(contentsOf: #"{"topic":"#.utf8)
                EnvelopeWriter.appendJSONString(kafka?.topic ?? "", to: &out)
                out.append(
                    contentsOf: ",\"partition\":\(kafka?.partition ?? 0),\"offset\":\(record.sequence),\"timestamp\":\(record.receivedAtMillis)".utf8)
                out.append(contentsOf: #","timestampType":"#.utf8)
                EnvelopeWriter.appendJSONString(kafka?.timestampType ?? "CREATE_TIME", to: &out)
                if let key = kafka?.key {
                    out.append(contentsOf: #","key":"#.utf8)
                    EnvelopeWriter.appendJSONString(Data(key).base64EncodedString(), to: &out)
                }
                out.append(contentsOf: #","value":"#.utf8)
                EnvelopeWriter.appendJSONString(Data(record.envelope).base64EncodedString(), to: &out)
                out.append(contentsOf: #","headers":["#.utf8)
                for (headerIndex, header) in (kafka?.headers ?? []).enumerated() {
                    if headerIndex > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(UInt8(ascii: "{"))
                    EnvelopeWriter.appendJSONString(header.name, to: &out)
                    out.append(contentsOf: ":[".utf8)
                    out.append(contentsOf: header.value.map(String.init).joined(separator: ",").utf8)
                    out.append(contentsOf: "]}".utf8)
                }
                out.append(contentsOf: "]}".utf8)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// The stream ARN the `lambda` format names for the gateway's log.
    public static func logStreamARN(region: String) -> String {
        "arn:aws:kinesis:\(region):000000000000:stream/sluice-log"
    }

    /// `lambda`: the AWS Lambda Kinesis event (`Records[].kinesis.{data,partitionKey,sequenceNumber,…}`), `data`
    /// being the base64 of the envelope, so a function written for a Kinesis trigger runs unchanged.
    public static func lambdaKinesis(_ records: [SubscriptionRecord], region: String) -> [UInt8] {
        let arn = logStreamARN(region: region)
        var out: [UInt8] = []
        out.append(contentsOf: #"{"Records":["#.utf8)
        for (index, record) in records.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            let sequence = String(record.sequence)
            out.append(contentsOf: #"{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"#.utf8)
            EnvelopeWriter.appendJSONString(record.partitionKey, to: &out)
            out.append(contentsOf: #","sequenceNumber":""#.utf8)
            out.append(contentsOf: sequence.utf8)
            out.append(contentsOf: #"","data":""#.utf8)
            out.append(contentsOf: Data(record.envelope).base64EncodedString().utf8)
            out.append(contentsOf: #"","approximateArrivalTimestamp":"#.utf8)
            out.append(contentsOf: approximateArrival(record.receivedAtMillis).utf8)
            out.append(contentsOf: #"},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:"#.utf8)
            out.append(contentsOf: sequence.utf8)
            out.append(
                contentsOf: #"","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::000000000000:role/sluice","awsRegion":"#.utf8)
            EnvelopeWriter.appendJSONString(region, to: &out)
            out.append(contentsOf: #","eventSourceARN":"#.utf8)
            EnvelopeWriter.appendJSONString(arn, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// Seconds with three decimals, as Lambda writes `approximateArrivalTimestamp`.
    static func approximateArrival(_ millis: Int64) -> String {
        let seconds = millis / 1000
        let fraction = Int(abs(millis % 1000))
        let digits = String(fraction)
        return "\(seconds)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
