import Foundation
import GatewayCore
public import Subscriptions

/// The request bodies of the two webhook formats.
public enum WebhookPayload {
    /// `sluice`: a JSON array of `{"position":{"sequence":"N"},"event":<envelope>}`, the envelope byte for byte.
    public static func sluice(_ records: [SubscriptionRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.reduce(2) { $0 + $1.envelope.count + 48 })
        out.append(UInt8(ascii: "["))
        for (index, record) in records.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"position":{"sequence":""#.utf8)
            out.append(contentsOf: String(record.sequence).utf8)
            out.append(contentsOf: #""},"event":"#.utf8)
            out.append(contentsOf: record.envelope)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
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
