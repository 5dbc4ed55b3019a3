import Foundation
import SyncActivity
import Logging
import SnapshotReader
import TestSupport

/// Save-to-searchable: from the rename of a new spreadsheet into place until a reader in another
/// process answers a query from the new generation, through `faqsync watch` (release build, its
/// default 500 ms debounce). Embedding is excluded: the two alternating contents were both synced
/// once before, so their vectors come from the cache.
enum DaemonBenchmarks {
    static func run(directory: URL, quick: Bool) async throws {
        let faqsync = BenchChild.executable.deletingLastPathComponent().appendingPathComponent("faqsync")
        guard FileManager.default.isExecutableFile(atPath: faqsync.path) else {
            print("build faqsync first: swift build -c release --product faqsync"); return
        }
        print("Save-to-searchable through `faqsync watch`: a save renamed into place (no debounce), reader in another process")
        print("templates | N | searchable p50 ms | max ms | on the FAQ team's page p50 ms | max ms")
        let cases: [(Int, URL)] = [(201, Fixtures.faq)] + (quick ? [] : [(10_000, directory.appendingPathComponent("generated-10000.xlsx"))])
        for (count, source) in cases {
            if !FileManager.default.fileExists(atPath: source.path) { try GeneratedFAQ(count: count).writeXLSX(to: source) }
            let (latencies, page) = try await measure(faqsync: faqsync, source: source, runs: count > 1_000 ? 5 : 10)
            print(String(format: "%9d | %d | %6.0f | %6.0f | %6.0f | %6.0f", count, latencies.count, percentile(latencies, 0.5), latencies.max() ?? 0,
                         percentile(page, 0.5), page.max() ?? 0))
            try HeadlineFigures.record(.init(key: "save-to-searchable-\(count)",
                                             what: count == 201 ? "a save renamed into place → searchable in another process, 201 templates"
                                                               : "the same at \(count.formatted()) templates",
                                             figure: String(format: "%.0f ms (max %.0f)", percentile(latencies, 0.5), latencies.max() ?? 0),
                                             n: "\(latencies.count)", bench: "faqsync-bench daemon"))
        }
    }

    /// Milliseconds from the save to a reader answering from the new generation (`searchable`),
    /// and to the FAQ team's page listing the sync (`page`: the activity document it reads).
    static func measure(faqsync: URL, source: URL, runs: Int) async throws -> (searchable: [Double], page: [Double]) {
        let scratch = try TemporaryDirectory("bench-daemon")
        defer { scratch.remove() }
        let faq = scratch.file("faq.xlsx"), snapshot = scratch.path("faq.snapshot")
        let variantA = scratch.file("a.xlsx"), variantB = scratch.file("b.xlsx")
        try FileManager.default.copyItem(at: source, to: variantA)
        var rows = try XLSXRows.read(source)
        rows[1][rows[1].count - 1] += " (edited)"
        try XLSXWriter.table(rows).write(to: variantB)
        try FileManager.default.copyItem(at: variantA, to: faq)

        let watch = Process()
        watch.executableURL = faqsync
        watch.arguments = ["watch", "--faq", faq.path, "--db", scratch.path("store.db"), "--snapshot", snapshot]
        watch.environment = ["LOG_LEVEL": "error", "PATH": "/usr/bin:/bin"]
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        defer { watch.terminate(); watch.waitUntilExit() }
        while (try? MappedSnapshot(path: snapshot)) == nil { try await Task.sleep(for: .milliseconds(50)) }

        let reader = Process()
        reader.executableURL = BenchChild.executable
        reader.arguments = ["follow", snapshot]
        let output = Pipe()
        reader.standardOutput = output
        try reader.run()
        defer { reader.terminate(); reader.waitUntilExit() }
        var lines = LineReader(handle: output.fileHandleForReading)
        var generation = try lines.next().map { UInt64($0.split(separator: " ")[0])! } ?? 0

        let activity = SyncActivityFile(besideSnapshot: snapshot)
        var lastRun = try activity.read()?.recentSyncs.first?.id
        var pageLatencies: [Double] = []
        func publish(_ variant: URL) async throws -> Double {
            let staging = scratch.file("staging.tmp")
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.copyItem(at: variant, to: staging)
            let renamed = monotonicNanoseconds()
            guard rename(staging.path, faq.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            while let line = try lines.next() {
                let fields = line.split(separator: " ")
                let seen = UInt64(fields[0])!, at = UInt64(fields[1])!
                if seen > generation {
                    generation = seen
                    // Then the FAQ team's page: the activity document lists the new sync.
                    while (try? activity.read())??.recentSyncs.first?.id == lastRun {
                        try await Task.sleep(for: .milliseconds(1))
                    }
                    lastRun = try activity.read()?.recentSyncs.first?.id
                    pageLatencies.append(Double(monotonicNanoseconds() - renamed) / 1e6)
                    return Double(at - renamed) / 1e6
                }
            }
            throw CocoaError(.fileReadUnknown)
        }
        // Warm-up: both variants synced once, so later syncs embed nothing.
        _ = try await publish(variantB)
        _ = try await publish(variantA)
        pageLatencies = []
        var latencies: [Double] = []
        for run in 0..<runs {
            latencies.append(try await publish(run % 2 == 0 ? variantB : variantA))
        }
        return (latencies, pageLatencies)
    }

    /// A reader process: follows the snapshot and, whenever it switches, answers a query from the
    /// new generation and prints "generation monotonic-ns".
    static func followChild(path: String) async throws {
        let live = try LiveSnapshot(path: path, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        live.startFollowing()
        var last: UInt64 = 0
        while true {
            if let snapshot = live.current, snapshot.generation != last {
                let query = [Float](repeating: 1, count: snapshot.header.dimension)
                let results = try snapshot.search(query, k: 1)
                last = results.generation
                FileHandle.standardOutput.write(Data("\(results.generation) \(monotonicNanoseconds())\n".utf8))
            }
            usleep(200)  // a benchmark's polling loop; the follower thread does the switching
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// Reads a child's stdout line by line.
struct LineReader {
    let handle: FileHandle
    private var buffer = Data()

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

import SpreadsheetReading

/// The rows of a sheet as strings, header first, to write an edited copy.
enum XLSXRows {
    static func read(_ url: URL) throws -> [[String]] {
        let table = try SpreadsheetReader().read(url)
        let metaNames = table.rows.first?.metadata.map(\.name) ?? []
        let header = ["Основная категория", "Подкатегория", "Пример вопроса"] + metaNames + ["Шаблонный ответ"]
        return [header] + table.rows.map { row in
            [row.category, row.subcategory, row.question] + metaNames.map { name in row.metadata.first { $0.name == name }?.value ?? "" } + [row.answer]
        }
    }
}
