import GatewayCore

/// Writes the `--plot` SVG: two panels, the latency percentile spectrum (x on a "nines" scale: 0, 90, 99, 99.9 …;
/// y in ms) and throughput per second over time. Self-contained SVG 1.1, no scripts or external resources.
public struct SVGPlot: Sendable {
    /// The title over both panels.
    public var title: String
    /// The spectrum's points.
    public var spectrum: [SpectrumPoint]
    /// Events acknowledged in each second of the measurement.
    public var eventsPerSecond: [Int]
    /// Requests that failed in each second (drawn when any).
    public var errorsPerSecond: [Int]
    /// The open-loop target rate, drawn as a dashed line.
    public var targetRate: Double?

    static let width = 900.0
    static let panelHeight = 340.0
    static let margin = (left: 80.0, right: 30.0, top: 50.0, bottom: 50.0)

    public init(title: String, spectrum: [SpectrumPoint], eventsPerSecond: [Int], errorsPerSecond: [Int] = [], targetRate: Double? = nil) {
        self.title = title
        self.spectrum = spectrum
        self.eventsPerSecond = eventsPerSecond
        self.errorsPerSecond = errorsPerSecond
        self.targetRate = targetRate
    }

    /// The plot of a finished run.
    public init(result: BenchResult) {
        var target: Double?
        if case .openLoop(let rate) = result.configuration.mode { target = rate }
        // Seconds of the measured duration only: responses that arrive while draining after the end would
        // show as a misleading partial second.
        let nanos = max(1, result.configuration.duration.nanoseconds)
        let seconds = Int((nanos + 999_999_999) / 1_000_000_000)
        let buckets = Array(result.recorder.perSecond.prefix(seconds))
        self.init(
            title: "sluice bench: " + result.configuration.summary,
            spectrum: result.recorder.latency.spectrum(),
            eventsPerSecond: buckets.map(\.events),
            errorsPerSecond: buckets.map(\.errors),
            targetRate: target
        )
    }

    /// The SVG document.
    public func render() -> String {
        let height = Self.panelHeight * 2 + 40
        var svg = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        svg +=
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(num(Self.width))" height="\#(num(height))" viewBox="0 0 \#(num(Self.width)) \#(num(height))" font-family="sans-serif" font-size="12">"#
            + "\n"
        svg += #"<rect width="100%" height="100%" fill="white"/>"# + "\n"
        svg +=
            #"<text x="\#(num(Self.width / 2))" y="22" text-anchor="middle" font-size="12" font-weight="bold">\#(Self.escape(shortTitle))</text>"#
            + "\n"
        svg += spectrumPanel(top: 30)
        svg += throughputPanel(top: 30 + Self.panelHeight)
        svg += "</svg>\n"
        return svg
    }

    /// The title, cut to fit the width.
    var shortTitle: String {
        title.count <= 118 ? title : String(title.prefix(117)) + "…"
    }

    // MARK: Panels

    func spectrumPanel(top: Double) -> String {
        let frame = Frame(top: top)
        var out = #"<g id="latency-spectrum">"# + "\n"
        out += #"<text x="\#(num(frame.left))" y="\#(num(top + 28))" font-size="13" font-weight="bold">Latency by percentile</text>"# + "\n"
        let finite = spectrum.filter { $0.percentile < 100 }
        let maxNines = max(1, (finite.map(\.nines).max() ?? 1).rounded(.up))
        let maxMillis = niceCeiling(Double(spectrum.map(\.micros).max() ?? 0) / 1000)
        out += frame.axes(xLabel: "percentile", yLabel: "latency (ms)")
        // x ticks at whole nines.
        for nines in 0...Int(maxNines) {
            let x = frame.x(Double(nines) / maxNines)
            out += frame.verticalTick(x: x, label: Self.ninesLabel(nines))
        }
        for (value, y) in yTicks(maximum: maxMillis, frame: frame) {
            out += frame.horizontalTick(y: y, label: Formatting.decimal(value, digits: 3))
        }
        if finite.isEmpty {
            out += frame.emptyNote("no latency samples")
        } else {
            var points: [String] = []
            for point in finite {
                let x = frame.x(point.nines / maxNines)
                let y = frame.y(Double(point.micros) / 1000 / maxMillis)
                points.append("\(num(x)),\(num(y))")
            }
            if let last = spectrum.last, last.percentile >= 100 {
                // The maximum, drawn at the right edge.
                points.append("\(num(frame.right)),\(num(frame.y(Double(last.micros) / 1000 / maxMillis)))")
            }
            out += #"<polyline fill="none" stroke="rgb(31,119,180)" stroke-width="2" points="\#(points.joined(separator: " "))"/>"# + "\n"
        }
        out += "</g>\n"
        return out
    }

    func throughputPanel(top: Double) -> String {
        let frame = Frame(top: top)
        var out = #"<g id="throughput">"# + "\n"
        out +=
            #"<text x="\#(num(frame.left))" y="\#(num(top + 28))" font-size="13" font-weight="bold">Throughput per second (events acknowledged)</text>"#
            + "\n"
        let seconds = max(1, eventsPerSecond.count)
        let peak = Double(max(eventsPerSecond.max() ?? 0, errorsPerSecond.max() ?? 0))
        let maxRate = niceCeiling(max(peak, (targetRate ?? 0) * 1.05))
        out += frame.axes(xLabel: "time (s)", yLabel: "events/s")
        let step = max(1, Int(niceCeiling(Double(seconds) / 10)))
        for second in stride(from: 0, through: seconds, by: step) {
            out += frame.verticalTick(x: frame.x(Double(second) / Double(seconds)), label: "\(second)")
        }
        for (value, y) in yTicks(maximum: maxRate, frame: frame) {
            out += frame.horizontalTick(y: y, label: Formatting.decimal(value, digits: 1))
        }
        if eventsPerSecond.isEmpty {
            out += frame.emptyNote("no completed requests")
        } else {
            out += polyline(eventsPerSecond, seconds: seconds, maximum: maxRate, frame: frame, color: "rgb(44,160,44)")
            if errorsPerSecond.contains(where: { $0 > 0 }) {
                out += polyline(errorsPerSecond, seconds: seconds, maximum: maxRate, frame: frame, color: "rgb(214,39,40)")
                out +=
                    #"<text x="\#(num(frame.right - 4))" y="\#(num(frame.top + 14))" text-anchor="end" fill="rgb(214,39,40)">errors/s</text>"# + "\n"
            }
        }
        if let targetRate {
            let y = frame.y(targetRate / maxRate)
            out +=
                #"<line x1="\#(num(frame.left))" y1="\#(num(y))" x2="\#(num(frame.right))" y2="\#(num(y))" stroke="rgb(255,127,14)" stroke-dasharray="6,4"/>"#
                + "\n"
            out +=
                #"<text x="\#(num(frame.right - 4))" y="\#(num(y - 4))" text-anchor="end" fill="rgb(255,127,14)">target \#(Formatting.decimal(targetRate, digits: 1))/s</text>"#
                + "\n"
        }
        out += "</g>\n"
        return out
    }

    func polyline(_ values: [Int], seconds: Int, maximum: Double, frame: Frame, color: String) -> String {
        // Each second's count is drawn at the middle of its second.
        let points = values.enumerated().map { second, value in
            "\(num(frame.x((Double(second) + 0.5) / Double(seconds)))),\(num(frame.y(Double(value) / maximum)))"
        }
        return #"<polyline fill="none" stroke="\#(color)" stroke-width="2" points="\#(points.joined(separator: " "))"/>"# + "\n"
    }

    func yTicks(maximum: Double, frame: Frame) -> [(Double, Double)] {
        (0...5).map { index in
            let value = maximum * Double(index) / 5
            return (value, frame.y(Double(index) / 5))
        }
    }

    // MARK: Helpers

    /// `0%`, `90%`, `99%`, `99.9%` … for 0, 1, 2, 3 … nines.
    static func ninesLabel(_ nines: Int) -> String {
        if nines == 0 { return "0%" }
        if nines == 1 { return "90%" }
        if nines == 2 { return "99%" }
        return "99." + String(repeating: "9", count: nines - 2) + "%"
    }

    /// Escapes text for XML content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value): out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A panel's plotting area.
struct Frame {
    let top: Double
    var left: Double { SVGPlot.margin.left }
    var right: Double { SVGPlot.width - SVGPlot.margin.right }
    var plotTop: Double { top + SVGPlot.margin.top }
    var bottom: Double { top + SVGPlot.panelHeight - SVGPlot.margin.bottom }

    /// x for a fraction 0…1 of the width.
    func x(_ fraction: Double) -> Double { left + (right - left) * clamp(fraction) }
    /// y for a fraction 0…1 of the height (0 at the bottom).
    func y(_ fraction: Double) -> Double { bottom - (bottom - plotTop) * clamp(fraction) }

    func clamp(_ value: Double) -> Double { value.isFinite ? min(1, max(0, value)) : 0 }

    func axes(xLabel: String, yLabel: String) -> String {
        var out =
            #"<rect x="\#(num(left))" y="\#(num(plotTop))" width="\#(num(right - left))" height="\#(num(bottom - plotTop))" fill="none" stroke="rgb(68,68,68)"/>"#
            + "\n"
        out += #"<text x="\#(num((left + right) / 2))" y="\#(num(bottom + 36))" text-anchor="middle">\#(SVGPlot.escape(xLabel))</text>"# + "\n"
        let middle = (plotTop + bottom) / 2
        out +=
            #"<text x="18" y="\#(num(middle))" text-anchor="middle" transform="rotate(-90 18 \#(num(middle)))">\#(SVGPlot.escape(yLabel))</text>"#
            + "\n"
        return out
    }

    func verticalTick(x: Double, label: String) -> String {
        var out = #"<line x1="\#(num(x))" y1="\#(num(plotTop))" x2="\#(num(x))" y2="\#(num(bottom))" stroke="rgb(221,221,221)"/>"# + "\n"
        out += #"<text x="\#(num(x))" y="\#(num(bottom + 16))" text-anchor="middle">\#(SVGPlot.escape(label))</text>"# + "\n"
        return out
    }

    func horizontalTick(y: Double, label: String) -> String {
        var out = #"<line x1="\#(num(left))" y1="\#(num(y))" x2="\#(num(right))" y2="\#(num(y))" stroke="rgb(221,221,221)"/>"# + "\n"
        out += #"<text x="\#(num(left - 6))" y="\#(num(y + 4))" text-anchor="end">\#(SVGPlot.escape(label))</text>"# + "\n"
        return out
    }

    func emptyNote(_ text: String) -> String {
        #"<text x="\#(num((left + right) / 2))" y="\#(num((plotTop + bottom) / 2))" text-anchor="middle" fill="rgb(136,136,136)">\#(SVGPlot.escape(text))</text>"#
            + "\n"
    }
}

/// A coordinate with at most one decimal.
func num(_ value: Double) -> String { Formatting.decimal(value, digits: 1) }

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (at least 1e-3).
func niceCeiling(_ value: Double) -> Double {
    guard value.isFinite, value > 1e-3 else { return 1e-3 }
    var magnitude = 1.0
    while magnitude * 10 <= value { magnitude *= 10 }
    while magnitude > value { magnitude /= 10 }
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where magnitude * factor >= value { return magnitude * factor }
    return magnitude * 10
}
