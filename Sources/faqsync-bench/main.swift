import Embedding
import Foundation
import Logging
import SpreadsheetReading
import SyncEngine
import PostgresStore
import SQLiteStore
import TemplateStore
import TestSupport

// faqsync-bench: timings at 201 / 10k / 100k templates, each figure with its N.
//
//   swift run -c release faqsync-bench [sync] [--quick]   # parsing and sync (about two minutes)
//   swift run -c release faqsync-bench stores [--quick]   # SQLite vs PostgreSQL: initial, 1% delta, follower (needs scripts/postgres.sh start)
//   swift run -c release faqsync-bench snapshot [--quick] # snapshot open, search, switch, memory, start-up
//   swift run -c release faqsync-bench providers [--quick] # HTTP embedding throughput at concurrency 1, 4, 16
//   swift run -c release faqsync-bench model [--quick]     # the in-process model: load, texts/s, one query, initial syncs
//   swift build -c release && .build/release/faqsync-bench daemon  # save-to-searchable through `faqsync watch`
//   swift run -c release faqsync-bench page               # the FAQ team's page and its activity document at their bounds
//   swift build -c release && .build/release/faqsync-bench readers  # query and serve with the in-process model, 10k templates
//   swift run -c release faqsync-bench readme             # README.md's figures table from docs/figures.json
//   Full runs (not --quick) record their headline figures in docs/figures.json.
//   (parse-once, reader and first-query are modes the benchmarks run in child processes)
//
// Generated sheets are left in .build/bench/ so other tools (python-calamine, see
// scripts/bench-calamine.py) can be timed on the very same files.

let arguments = Array(CommandLine.arguments.dropFirst())

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// The process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that
/// across exec, so a child would report its parent's peak.
func peakRSSMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    return kilobytes / 1024
}

let quick = arguments.contains("--quick")
let benchDirectory = Fixtures.projectRoot.appendingPathComponent(".build/bench")
try FileManager.default.createDirectory(at: benchDirectory, withIntermediateDirectories: true)

switch arguments.first {
case "parse-once" where arguments.count == 2:
    let clock = ContinuousClock()
    var rows = 0
    let elapsed = try clock.measure { rows = try SpreadsheetReader().read(URL(fileURLWithPath: arguments[1])).rows.count }
    print("\(rows) \(seconds(elapsed)) \(peakRSSMiB())")
case "reader" where arguments.count == 2:
    try SnapshotBenchmarks.readerChild(path: arguments[1])
case "first-query" where arguments.count == 2:
    try SnapshotBenchmarks.firstQueryChild(path: arguments[1])
case "follow" where arguments.count == 2:
    try await DaemonBenchmarks.followChild(path: arguments[1])
case "daemon":
    try await DaemonBenchmarks.run(directory: benchDirectory, quick: quick)
case "providers":
    try await ProviderBenchmarks.run(directory: benchDirectory, quick: quick)
case "model":
    try await ModelBenchmarks.run(directory: benchDirectory, quick: quick)
case "stores":
    try await StoreBenchmarks.run(directory: benchDirectory, quick: quick)
case "snapshot":
    try await SnapshotBenchmarks.run(directory: benchDirectory, quick: quick)
case "page":
    try await PageBenchmarks.run(directory: benchDirectory)
case "readers":
    try await ReaderBenchmarks.run(directory: benchDirectory, quick: quick)
case "readme":
    // README.md's table of figures, from docs/figures.json (the benchmarks record there).
    let readme = try String(contentsOf: HeadlineFigures.readme, encoding: .utf8)
    try HeadlineFigures.render(readme, figures: try HeadlineFigures.load()).write(to: HeadlineFigures.readme, atomically: true, encoding: .utf8)
    print("README.md's figures table regenerated from docs/figures.json")
default:
    try await SyncBenchmarks.run(directory: benchDirectory, quick: quick)
}

