import Foundation
import LoadGenerator
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("Latency histogram and report")
struct ReportTests {
    @Test("percentiles of 1…1000 µs are exact (unit resolution below 2048)")
    func uniform() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(micros: UInt64(value)) }
        let summary = histogram.summary()
        #expect(summary.count == 1000)
        #expect(summary.min == 1)
        #expect(summary.p50 == 500)
        #expect(summary.p90 == 900)
        #expect(summary.p99 == 990)
        #expect(summary.p999 == 999)
        #expect(summary.max == 1000)
        #expect(abs(summary.mean - 500.5) < 0.01)
    }

    @Test("a long tail: 99% at 1 ms, 1% at 100 ms")
    func tail() {
        var histogram = LatencyHistogram()
        for _ in 0..<9900 { histogram.record(nanos: 1_000_000) }
        for _ in 0..<100 { histogram.record(nanos: 100_000_000) }
        let summary = histogram.summary()
        #expect(summary.p50 == 1000)
        #expect(summary.p99 == 1000)
        // 100 ms is recorded at 3 significant digits: within 0.1%.
        #expect(summary.p999 >= 100_000 && summary.p999 <= 100_100)
        #expect(summary.max == 100_000)
    }

    @Test("merging histograms equals recording everything in one")
    func merge() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        var all = LatencyHistogram()
        for value in 1...5000 {
            if value % 3 == 0 { a.record(micros: UInt64(value)) } else { b.record(micros: UInt64(value)) }
            all.record(micros: UInt64(value))
        }
        a.add(b)
        #expect(a.summary() == all.summary())
    }

    @Test("values beyond an hour are clamped and counted")
    func clamp() {
        var histogram = LatencyHistogram()
        histogram.record(micros: LatencyHistogram.highestTrackableMicros * 2)
        #expect(histogram.clampedCount == 1)
        #expect(histogram.summary().max == LatencyHistogram.highestTrackableMicros)
    }

    @Test("an empty histogram reports zeros")
    func empty() {
        #expect(LatencyHistogram().summary() == LatencySummary())
        #expect(LatencyHistogram().spectrum().isEmpty)
    }

    @Test("the spectrum is monotonic, on the nines scale, and ends at the maximum")
    func spectrum() {
        var histogram = LatencyHistogram()
        for value in 1...10_000 { histogram.record(micros: UInt64(value)) }
        let points = histogram.spectrum()
        #expect(points.first?.percentile == 0)
        #expect(points.last == SpectrumPoint(percentile: 100, micros: 10_000))
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.micros <= $1.micros && $0.percentile < $1.percentile })
        let p90 = points.first { abs($0.nines - 1) < 1e-9 }
        #expect(p90 != nil)
        #expect(p90.map { abs($0.percentile - 90) < 1e-9 } == true)
        // 10^4 samples: 4 nines of resolution.
        #expect(points.dropLast().last.map { abs($0.nines - 4) < 1e-9 } == true)
    }

    @Test("X-Processing-Latency values")
    func processingLatency() {
        #expect(parseProcessingLatency("1.84ms") == 1840)
        #expect(parseProcessingLatency("250us") == 250)
        #expect(parseProcessingLatency("0.2s") == 200_000)
        #expect(parseProcessingLatency("12ms") == 12_000)
        #expect(parseProcessingLatency("fast") == nil)
        #expect(parseProcessingLatency("12 parsecs") == nil)
    }

    @Test("per-item statuses of a 207 batch response")
    func batchResponse() {
        let body =
            #"{"accepted":2,"rejected":1,"results":[{"index":0,"status":202,"event_id":"a","log":{"sequence":1}},{"index":1,"status":400,"error":{"type":"invalid-envelope","status":400,"detail":"index 7"}},{"index":2,"line":3,"status":202,"event_id":"c"}]}"#
        let accepted = Array(body.utf8).withUnsafeBytes { BatchResponse.acceptedIndexes($0) }
        #expect(accepted == [0, 2])
        let garbage = Array("{not json".utf8).withUnsafeBytes { BatchResponse.acceptedIndexes($0) }
        #expect(garbage.isEmpty)
    }

    @Test("number formatting")
    func formatting() {
        #expect(Formatting.fixed(1.005, digits: 2) == "1.01" || Formatting.fixed(1.005, digits: 2) == "1.00")
        #expect(Formatting.fixed(2, digits: 2) == "2.00")
        #expect(Formatting.fixed(-0.5, digits: 1) == "-0.5")
        #expect(Formatting.decimal(1.500, digits: 3) == "1.5")
        #expect(Formatting.milliseconds(micros: 1840) == "1.84")
        #expect(Formatting.bytes(1536) == "1.5 KiB")
        #expect(Formatting.bytes(100) == "100 B")
    }
}

@Suite("SVG plot")
struct SVGPlotTests {
    /// Collects element names and checks the document parses.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var ids: [String] = []
        var texts: [String] = []
        var current = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append(elementName)
            if let id = attributes["id"] { ids.append(id) }
            current = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if elementName == "text" { texts.append(current) }
            current = ""
        }
    }

    func parse(_ svg: String) -> (ok: Bool, collector: Collector, error: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse()
        return (ok, collector, parser.parserError.map { "\($0)" } ?? "")
    }

    @Test("a plot with data is well-formed XML with both panels")
    func wellFormed() {
        var histogram = LatencyHistogram()
        for value in 1...20_000 { histogram.record(micros: UInt64(value % 997 + 100)) }
        let plot = SVGPlot(
            title: "sluice bench: http://127.0.0.1:8080/v1/events <open loop> & \"quotes\"",
            spectrum: histogram.spectrum(),
            eventsPerSecond: [1990, 2001, 2000, 1999, 2010],
            errorsPerSecond: [0, 3, 0, 0, 0],
            targetRate: 2000
        )
        let svg = plot.render()
        let (ok, collector, error) = parse(svg)
        #expect(ok, "\(error)")
        #expect(collector.elements.first == "svg")
        #expect(collector.ids.contains("latency-spectrum"))
        #expect(collector.ids.contains("throughput"))
        #expect(collector.elements.filter { $0 == "polyline" }.count >= 3)
        #expect(collector.texts.contains("Latency by percentile"))
        #expect(collector.texts.contains { $0.hasPrefix("Throughput per second") })
        for label in ["0%", "90%", "99%", "99.9%", "99.99%"] { #expect(collector.texts.contains(label), "missing tick \(label)") }
        #expect(collector.texts.contains { $0.contains("<open loop> & \"quotes\"") })
    }

    @Test("an empty run still renders both panels")
    func empty() {
        let svg = SVGPlot(title: "nothing", spectrum: [], eventsPerSecond: []).render()
        let (ok, collector, error) = parse(svg)
        #expect(ok, "\(error)")
        #expect(collector.ids == ["latency-spectrum", "throughput"])
    }
}
