import Embedding
import Foundation
import Logging
import SpreadsheetReading
import SyncEngine
import PostgresStore
import SQLiteStore
import TemplateStore
import TestSupport

/// Parsing and sync timings.
enum SyncBenchmarks {
    struct Case {
        let label: String
        let url: URL
    }

    static func run(directory benchDirectory: URL, quick: Bool) async throws {


        var cases = [Case(label: "fixture (201)", url: Fixtures.faq)]
        for count in quick ? [10_000] : [10_000, 100_000] {
            let url = benchDirectory.appendingPathComponent("generated-\(count).xlsx")
            if !FileManager.default.fileExists(atPath: url.path) {
                try GeneratedFAQ(count: count).writeXLSX(to: url)
            }
            cases.append(Case(label: "generated (\(count / 1000)k)", url: url))
        }


        print("faqsync-bench on \(ProcessInfo.processInfo.activeProcessorCount) cores, \(quick ? "quick" : "full") run\n")
        print("Parsing (fresh process per run; median of N; peak RSS of the process)")
        print("case              | templates | file MiB | N | median s | peak RSS MiB")
        for item in cases {
            let runs = 5
            var times: [Double] = []
            var rss: [Double] = []
            var rows = 0
            for _ in 0..<runs {
                let result = try parseInChild(item.url)
                times.append(result.seconds)
                rss.append(result.rssMiB)
                rows = result.rows
            }
            let size = Double((try FileManager.default.attributesOfItem(atPath: item.url.path)[.size] as? Int) ?? 0) / 1_048_576
            print(item.label.padding(toLength: 17, withPad: " ", startingAt: 0)
                  + String(format: " | %9d | %8.2f | %d | %8.3f | %12.1f", rows, size, runs, median(times), median(rss)))
            if rows == 10_000, !quick {
                try HeadlineFigures.record(.init(key: "sheet-read-10000", what: "reading the 10,000-template sheet",
                                                 figure: String(format: "%.3f s", median(times)), n: "\(runs)", bench: "faqsync-bench sync"))
            }
        }

        print("\nSync on SQLite with the local embedder (1024 dimensions); no-op = nothing changed; median of N")
        print("case              | initial sync s | N | no-op sync s | parse s | no-op beyond parse s")
        for item in cases {
            let directory = try TemporaryDirectory("bench-sync")
            defer { directory.remove() }
            let store = SQLiteTemplateStore(path: directory.path("bench.db"))
            let engine = SyncCoordinator(store: store, embedder: LocalHashingEmbedder(), snapshotPath: directory.path("bench.snapshot"),
                                         source: SyncSource(faqURL: item.url, checks: .none), logger: Logger(label: "bench"))
            let clock = ContinuousClock()
            let initial = try await clock.measure { _ = try await engine.sync() }
            let runs = 5
            var noop: [Double] = []
            var parse: [Double] = []
            for _ in 0..<runs {
                noop.append(seconds(try await clock.measure {
                    let report = try await engine.sync()
                    precondition(report.embeddedTexts == 0 && report.new == 0, "a no-op sync embedded or added something")
                }))
                parse.append(seconds(try clock.measure { _ = try SpreadsheetReader().read(item.url) }))
            }
            print(item.label.padding(toLength: 17, withPad: " ", startingAt: 0)
                  + String(format: " | %14.3f | %d | %12.3f | %7.3f | %20.3f", seconds(initial), runs,
                           median(noop), median(parse), median(noop) - median(parse)))
        }
        try noOpProcess(directory: benchDirectory, quick: quick)
    }

    /// The no-op as a user runs it: the whole `faqsync sync` process on an unchanged
    /// 10,000-template sheet (the local embedder), beside `faqsync --help` in the same run.
    static func noOpProcess(directory benchDirectory: URL, quick: Bool) throws {
        let faqsync = BenchChild.executable.deletingLastPathComponent().appendingPathComponent("faqsync")
        guard FileManager.default.isExecutableFile(atPath: faqsync.path) else {
            print("build faqsync first for the whole-process no-op: swift build -c release --product faqsync"); return
        }
        let directory = try TemporaryDirectory("bench-noop")
        defer { directory.remove() }
        let sheet = benchDirectory.appendingPathComponent("generated-10000.xlsx")
        let environment = ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "error", "HOME": directory.url.path, "EMBEDDING_PROVIDER": "local"]
        func timed(_ arguments: [String]) throws -> Double {
            try BenchChild.wallMillis(faqsync, arguments, environment: environment)
        }
        let sync = ["sync", "--faq", sheet.path, "--db", directory.path("noop.db")]
        _ = try timed(sync)   // the initial sync
        let runs = 10
        print("\nWhole process (\(faqsync.path)), 10,000 templates | N | p50 ms | max ms")
        for (label, arguments) in [("faqsync --help", ["--help"]), ("faqsync sync, the sheet unchanged (no-op)", sync)] {
            _ = try timed(arguments)
            let times = try (0..<runs).map { _ in try timed(arguments) }
            print(String(format: "%@ | %d | %.0f | %.0f", label, runs, median(times), times.max() ?? 0))
            if arguments == sync, !quick {
                try HeadlineFigures.record(.init(key: "noop-sync-process-10000", what: "`faqsync sync` of an unchanged 10,000-template file, whole process",
                                                 figure: String(format: "%.0f ms (max %.0f)", median(times), times.max() ?? 0), n: "\(runs)",
                                                 bench: "faqsync-bench sync"))
            }
        }
    }

    /// Parse time in a fresh process per run, so peak memory belongs to that one parse.
    static func parseInChild(_ url: URL) throws -> (rows: Int, seconds: Double, rssMiB: Double) {
        let output = try BenchChild.run(["parse-once", url.path])
        let fields = output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        return (Int(fields[0])!, Double(fields[1])!, Double(fields[2])!)
    }
}
