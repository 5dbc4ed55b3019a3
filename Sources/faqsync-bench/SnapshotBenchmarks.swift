import Foundation
import Logging
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SpreadsheetReading
import TestSupport

/// Snapshot figures: open, top-5 search, publish-to-switch, shared memory of 8 readers, and
/// process start to first answered query, at 201 / 10k / 100k templates × 1024 dimensions.
enum SnapshotBenchmarks {
    static let dimension = 1024

    static func run(directory: URL, quick: Bool) async throws {
        let sizes = quick ? [201, 10_000] : [201, 10_000, 100_000]
        print("faqsync-bench snapshot on \(ProcessInfo.processInfo.activeProcessorCount) cores; \(dimension) dimensions; N per figure in brackets\n")
        print("templates | file MiB | publish s | open (map+header) p50/p99 µs [N=50] | full checksum verify ms [N=5] | top-5 p50/p99 ms [N=200] | publish→switch p50/max ms [N=10] | start→first answer ms [N=10]")
        var memoryLines: [String] = []
        var hybridLines: [String] = []
        var firstAnswerMillis: [Int: Double] = [:]
        let texts = faqTexts()
        for count in sizes {
            let path = directory.appendingPathComponent("snapshot-\(count).snapshot").path
            try? FileManager.default.removeItem(atPath: path)
            let templates = syntheticTemplates(count: count, seed: 1, texts: texts)
            let publisher = SnapshotFileWriter(path: path)
            let clock = ContinuousClock()
            let publish = try clock.measure {
                _ = try publisher.publish(model: model, templates: templates, minimumGeneration: 1)
            }
            let fileMiB = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_048_576

            var opens: [Double] = []
            for _ in 0..<50 {
                opens.append(seconds(try clock.measure { _ = try MappedSnapshot(path: path, verifyChecksum: false) }) * 1e6)
            }
            var verifies: [Double] = []
            for _ in 0..<5 {
                verifies.append(seconds(try clock.measure { _ = try MappedSnapshot(path: path, verifyChecksum: true) }) * 1e3)
            }

            let snapshot = try MappedSnapshot(path: path)
            var generator = SplitMix(seed: 42)
            var latencies: [Double] = []
            for _ in 0..<200 {
                let query = randomUnitVector(&generator)
                latencies.append(seconds(try clock.measure { _ = try snapshot.search(query, k: 5) }) * 1e3)
            }

            // Hybrid against dense on the same file, with the real FAQ's questions as query texts,
            // and the file's size without the lexical section (a version 1 file).
            var dense: [Double] = [], hybrid: [Double] = [], lexical: [Double] = []
            for round in 0..<200 {
                let vector = randomUnitVector(&generator)
                let text = texts[round % texts.count].question
                dense.append(seconds(try clock.measure { _ = try snapshot.search(SearchQuery(text: text, vector: vector, mode: .dense), k: 5) }) * 1e3)
                hybrid.append(seconds(try clock.measure { _ = try snapshot.search(SearchQuery(text: text, vector: vector, mode: .hybrid), k: 5) }) * 1e3)
                lexical.append(seconds(try clock.measure { _ = try snapshot.search(SearchQuery(text: text, vector: nil, mode: .lexical), k: 5) }) * 1e3)
            }
            let densePath = directory.appendingPathComponent("snapshot-\(count)-v1.snapshot").path
            _ = try SnapshotFileWriter(path: densePath).publish(model: model, templates: templates, minimumGeneration: 1, lexicalIndex: false)
            let denseMiB = Double((try FileManager.default.attributesOfItem(atPath: densePath)[.size] as? Int) ?? 0) / 1_048_576
            try? FileManager.default.removeItem(atPath: densePath)
            hybridLines.append("\(count) | " + String(format: "%.2f / %.2f | %.2f / %.2f (%.2f×) | %.2f / %.2f | %.1f → %.1f (+%.1f%%) | %.1f",
                                                       percentile(dense, 0.5), percentile(dense, 0.99), percentile(hybrid, 0.5),
                                                       percentile(hybrid, 0.99), percentile(hybrid, 0.5) / max(percentile(dense, 0.5), 1e-9),
                                                       percentile(lexical, 0.5), percentile(lexical, 0.99),
                                                       denseMiB, fileMiB, (fileMiB / denseMiB - 1) * 100, percentile(opens, 0.5)))

            let switches = try await publishToSwitch(path: path, templates: templates, publisher: publisher)
            let firstAnswers = try (0..<10).map { _ in try firstQueryWallMillis(path: path) }
            firstAnswerMillis[count] = percentile(firstAnswers, 0.5)

            print("\(count) | " + String(format: "%.1f | %.3f | %.0f / %.0f | %.1f | %.2f / %.2f | %.1f / %.1f | %.1f",
                                         fileMiB, seconds(publish), percentile(opens, 0.5), percentile(opens, 0.99),
                                         percentile(verifies, 0.5), percentile(latencies, 0.5), percentile(latencies, 0.99),
                                         percentile(switches, 0.5), switches.max() ?? 0, percentile(firstAnswers, 0.5)))
            memoryLines.append(try eightReaders(path: path, count: count, fileMiB: fileMiB))
        }
        if let small = firstAnswerMillis[201], let large = firstAnswerMillis[100_000] {
            try HeadlineFigures.record(.init(key: "first-answer", what: "process start → first answer, 201 / 100,000 templates",
                                             figure: String(format: "%.0f ms / %.0f ms", small, large), n: "10", bench: "faqsync-bench snapshot"))
        }
        print("\nSearch modes (real FAQ questions as query texts, random query vectors; top-5, N=200 each)")
        print("templates | dense p50/p99 ms | hybrid p50/p99 ms (vs dense) | lexical p50/p99 ms | file MiB v1 → v2 (lexical section) | open p50 µs")
        hybridLines.forEach { print($0) }
        print("\nMemory of 8 reader processes mapping one snapshot (each ran 3 searches, touching every vector)")
        print("templates | file MiB | RSS per reader MiB (min-max) | PSS per reader MiB (sum of 8)")
        memoryLines.forEach { print($0) }
    }

    static var model: SnapshotEncoder.Model { .init(name: "bench-random", version: "1", dimension: dimension) }

    /// Templates with the real FAQ's questions and answers (cycled, each numbered so every one
    /// differs), so the lexical section has a real vocabulary, and random unit vectors.
    static func syntheticTemplates(count: Int, seed: UInt64, texts: [(question: String, answer: String)]) -> [SnapshotTemplate] {
        var generator = SplitMix(seed: seed)
        return (0..<count).map { index in
            let text = texts[index % texts.count]
            return SnapshotTemplate(id: "t\(index)", category: "Категория \(index % 6)", subcategory: "Раздел \(index % 37)",
                                    question: "\(text.question) (\(index))", answer: text.answer, metadataJSON: "[]",
                                    vector: randomUnitVector(&generator))
        }
    }

    /// The real FAQ's (question, answer) pairs; a generated sheet's when the fixture is absent.
    static func faqTexts() -> [(question: String, answer: String)] {
        if let table = try? SpreadsheetReader().read(Fixtures.faq) { return table.rows.map { ($0.question, $0.answer) } }
        return GeneratedFAQ(count: 201).entries.map { ($0.question, $0.answer) }
    }

    static func randomUnitVector(_ generator: inout SplitMix) -> [Float] {
        var vector = (0..<dimension).map { _ in Float(generator.nextUnit() * 2 - 1) }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for index in vector.indices { vector[index] /= norm }
        return vector
    }

    /// From the rename that publishes a new file to a following reader serving it. The reader
    /// validates the new file, checksum included, before switching; the time the publisher spent
    /// writing the file is not counted (the file is staged first, then renamed into place).
    static func publishToSwitch(path: String, templates: [SnapshotTemplate], publisher: SnapshotFileWriter) async throws -> [Double] {
        let live = try LiveSnapshot(path: path, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        live.startFollowing(fallbackInterval: .seconds(5))
        defer { live.stopFollowing() }
        let staging = SnapshotFileWriter(path: path + ".staging")
        var results: [Double] = []
        for _ in 0..<10 {
            let generation = try staging.publish(model: model, templates: templates,
                                                 minimumGeneration: (live.current?.generation ?? 0) + 1)
            let renamed = ContinuousClock.now
            guard rename(path + ".staging", path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            while live.current?.generation != generation, ContinuousClock.now - renamed < .seconds(10) {
                usleep(100)  // a benchmark's polling loop; blocking here is deliberate
            }
            results.append(seconds((live.statistics.switchedAt ?? .now) - renamed) * 1e3)
        }
        return results
    }

    /// Wall time from spawning a process to it exiting after its first answered query.
    static func firstQueryWallMillis(path: String) throws -> Double {
        let start = ContinuousClock.now
        _ = try BenchChild.run(["first-query", path])
        return seconds(ContinuousClock.now - start) * 1e3
    }

    static func firstQueryChild(path: String) throws {
        let live = try LiveSnapshot(path: path)
        var generator = SplitMix(seed: 7)
        let results = try live.search(randomUnitVector(&generator), k: 5)
        print(results.results.count)
    }

    /// 8 processes map the same snapshot and search it; their RSS counts the shared pages in
    /// each, their PSS divides shared pages among the sharers, so 8 PSS add up to about one copy.
    static func eightReaders(path: String, count: Int, fileMiB: Double) throws -> String {
        var children: [(Process, Pipe)] = []
        for _ in 0..<8 {
            let process = Process()
            process.executableURL = BenchChild.executable
            process.arguments = ["reader", path]
            let output = Pipe(), input = Pipe()
            process.standardOutput = output
            process.standardInput = input
            try process.run()
            _ = output.fileHandleForReading.availableData  // "ready"
            children.append((process, input))
        }
        var rss: [Double] = [], pss: [Double] = []
        for (process, _) in children {
            let rollup = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps_rollup", encoding: .utf8)) ?? ""
            func field(_ name: String) -> Double {
                let line = rollup.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
                return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
            }
            rss.append(field("Rss"))
            pss.append(field("Pss"))
        }
        for (process, input) in children {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        return String(format: "%d | %.1f | %.1f-%.1f | %.1f (%.1f)", count, fileMiB, rss.min() ?? 0, rss.max() ?? 0,
                      pss.reduce(0, +) / 8, pss.reduce(0, +))
    }

    static func readerChild(path: String) throws {
        let snapshot = try MappedSnapshot(path: path)
        var generator = SplitMix(seed: 9)
        for _ in 0..<3 { _ = try snapshot.search(randomUnitVector(&generator), k: 5) }
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        _ = FileHandle.standardInput.readDataToEndOfFile()
        withExtendedLifetime(snapshot) {}
    }
}

/// A small deterministic generator, so every run measures the same data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
