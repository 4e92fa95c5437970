import MetricsTestKit
import Testing

@testable import KafkaSink

/// The statistics JSON → gauges mapping (no broker needed).
@Suite struct MetricsTests {
    @Test func statisticsFeedBrokerRTTAndQueueGauges() throws {
        let metrics = TestMetrics()
        let sinkMetrics = KafkaSinkMetrics(factory: metrics)
        let json = """
            {"name":"rdkafka#producer-1","type":"producer","msg_cnt":42,"msg_size":1000,
             "brokers":{
               "127.0.0.1:9092/1":{"name":"127.0.0.1:9092/1","nodeid":1,"rtt":{"min":100,"max":5000,"avg":2500,"cnt":3}},
               "GroupCoordinator":{"name":"GroupCoordinator","nodeid":-1,"rtt":{"avg":0}}
             },
             "topics":{}}
            """
        sinkMetrics.statistics(json)
        #expect(try metrics.expectGauge("sluice_kafka_queue_messages").lastValue == 42)
        let rtt = try metrics.expectGauge("sluice_kafka_broker_rtt_seconds", [("broker", "127.0.0.1:9092/1")])
        #expect(rtt.lastValue == 0.0025)
        #expect(throws: (any Error).self) {
            _ = try metrics.expectGauge("sluice_kafka_broker_rtt_seconds", [("broker", "GroupCoordinator")])
        }
        sinkMetrics.statistics("not json") // ignored
        #expect(try metrics.expectGauge("sluice_kafka_queue_messages").lastValue == 42)
    }
}
