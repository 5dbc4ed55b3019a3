import Foundation
import Testing
import TestSupport

/// README.md's figures are the benchmarks' own: the table is what `faqsync-bench readme` renders
/// from docs/figures.json, where full benchmark runs record them, and every row names the
/// benchmark that measures it and the day it did.
@Suite("README figures")
struct FiguresTableTests {
    @Test func theTableIsDocsFiguresJSONRendered() throws {
        let readme = try String(contentsOf: HeadlineFigures.readme, encoding: .utf8)
        let figures = try HeadlineFigures.load()
        #expect(try HeadlineFigures.render(readme, figures: figures) == readme,
                "regenerate it: swift build -c release --product faqsync-bench && .build/release/faqsync-bench readme")
        #expect(Set(figures.map(\.key)).count == figures.count, "a figure recorded twice")
        let benchmarks = ["sync", "stores", "snapshot", "providers", "model", "daemon", "page", "readers"].map { "faqsync-bench \($0)" }
        for figure in figures {
            #expect(benchmarks.contains(figure.bench), "\(figure.key): measured by \(figure.bench), which is not a benchmark")
            #expect(figure.measured.wholeMatch(of: /20\d\d-\d\d-\d\d/) != nil, "\(figure.key): measured on \(figure.measured)")
            #expect(Int(figure.n) ?? 0 > 0, "\(figure.key): N is \(figure.n)")
        }
    }

    @Test func recordingReplacesOneFigureAndKeepsTheOthersInOrder() throws {
        let scratch = try TemporaryDirectory("figures")
        defer { scratch.remove() }
        let file = scratch.file("figures.json")
        try HeadlineFigures.record(.init(key: "a", what: "A", figure: "1 ms", n: "5", bench: "faqsync-bench sync", measured: "2026-01-01"), in: file)
        try HeadlineFigures.record(.init(key: "b", what: "B", figure: "2 ms", n: "5", bench: "faqsync-bench sync", measured: "2026-01-01"), in: file)
        try HeadlineFigures.record(.init(key: "a", what: "A", figure: "3 ms", n: "10", bench: "faqsync-bench sync", measured: "2026-01-02"), in: file)
        let figures = try HeadlineFigures.load(from: file)
        #expect(figures.map(\.key) == ["a", "b"])
        #expect(figures[0].figure == "3 ms" && figures[0].n == "10" && figures[0].measured == "2026-01-02")
        let readme = "intro\n\(HeadlineFigures.begin)\nold table\n\(HeadlineFigures.end)\nrest\n"
        let rendered = try HeadlineFigures.render(readme, figures: figures)
        #expect(rendered.contains("| A | 3 ms | 10 | `faqsync-bench sync` | 2026-01-02 |"))
        #expect(!rendered.contains("old table") && rendered.hasPrefix("intro\n") && rendered.hasSuffix("\(HeadlineFigures.end)\nrest\n"))
        #expect(throws: (any Error).self) { try HeadlineFigures.render("no markers", figures: figures) }
    }
}
