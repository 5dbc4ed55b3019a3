import Foundation
import SyncActivity

/// Two small bar charts of the last syncs, oldest on the left: how long each took and how many
/// texts it sent to the embedding service. Inline SVG, so it needs no script and no asset.
struct SyncChart {
    struct Bar {
        let label: String
        let duration: Double
        let embedded: Int
        let failed: Bool
    }

    let bars: [Bar]

    init(runs: [SyncActivity.Run]) {
        bars = runs.reversed().map { run in
            Bar(label: run.finishedAt.formatted(.iso8601), duration: max(0, run.finishedAt.timeIntervalSince(run.startedAt)),
                embedded: run.embeddedTexts, failed: run.outcome == .failed)
        }
    }

    func render(_ text: PageText) -> HTML {
        var html = HTML()
        html.markup("<div class=\"charts\">")
        html.append(panel(title: text.chartDuration, largestLabel: text.chartLargest, values: bars.map(\.duration), format: { String(format: "%.2f", $0) }))
        html.append(panel(title: text.chartEmbedded, largestLabel: text.chartLargest, values: bars.map { Double($0.embedded) }, format: { String(Int($0)) }))
        html.markup("</div>")
        return html
    }

    private static let width = 320.0, height = 120.0, top = 14.0, bottom = 4.0

    private func panel(title: String, largestLabel: String, values: [Double], format: (Double) -> String) -> HTML {
        var html = HTML()
        let largest = values.max() ?? 0
        html.markup("<figure><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"320\" height=\"120\" viewBox=\"0 0 320 120\"><title>")
        html.text(title)
        html.markup("</title><text x=\"0\" y=\"10\" class=\"axis\">")
        html.text(largestLabel + " " + format(largest))
        html.markup("</text><line x1=\"0\" y1=\"116\" x2=\"320\" y2=\"116\" class=\"baseline\"/>")
        let slot = Self.width / Double(max(values.count, 1))
        let usable = Self.height - Self.top - Self.bottom
        for (index, value) in values.enumerated() {
            let barHeight = largest > 0 ? max(1, usable * value / largest) : 1
            let x = Double(index) * slot + slot * 0.15
            html.markup("<rect class=\"")
            html.text(bars[index].failed ? "bar failed" : "bar")
            html.markup("\" x=\"")
            html.text(String(format: "%.1f", x))
            html.markup("\" y=\"")
            html.text(String(format: "%.1f", Self.height - Self.bottom - barHeight))
            html.markup("\" width=\"")
            html.text(String(format: "%.1f", slot * 0.7))
            html.markup("\" height=\"")
            html.text(String(format: "%.1f", barHeight))
            html.markup("\"><title>")
            html.text("\(bars[index].label): \(format(value))")
            html.markup("</title></rect>")
        }
        html.markup("</svg><figcaption>")
        html.text(title)
        html.markup("</figcaption></figure>")
        return html
    }
}
