import AsyncHTTPClient
import Foundation
import NIOCore
import SnapshotPublishing
import SnapshotFormat
import TestSupport

/// Readers with the real model: `faqsync query` as a whole process (start, map the snapshot, load
/// the in-process model, embed the question, search, print), beside the same process without a
/// model (`--mode lexical`) and `--help`; and `faqsync serve` answering hybrid searches (each
/// embeds its question in the process) to 1 client and to 16 at once.
///
/// The snapshot holds 10,000 generated templates with vectors of the in-process model's
/// dimension: the real model's vectors of the fixture's 201 questions, cycled (what a search
/// costs does not depend on which vectors they are; embedding 10,000 texts would take 14 minutes).
enum ReaderBenchmarks {
    static func run(directory: URL, quick: Bool) async throws {
        // FAQSYNC_BENCH_BINARY measures another build, such as the Debian package's (the Swift
        // runtime linked statically, which starts faster); FAQSYNC_BENCH_BINARY_LABEL says which
        // in the recorded figure ("the package's build"), where a path would mean nothing.
        let binaryOverride = ProcessInfo.processInfo.environment["FAQSYNC_BENCH_BINARY"]
        let buildLabel = binaryOverride == nil ? "release build"
            : ProcessInfo.processInfo.environment["FAQSYNC_BENCH_BINARY_LABEL"] ?? "the build given in FAQSYNC_BENCH_BINARY"
        let faqsync = binaryOverride.map { URL(fileURLWithPath: $0) }
            ?? BenchChild.executable.deletingLastPathComponent().appendingPathComponent("faqsync")
        guard FileManager.default.isExecutableFile(atPath: faqsync.path) else {
            print("build faqsync first: swift build -c release --product faqsync"); return
        }
        let embedder = try InstalledModel.embedder()
        let questions = try FixtureSheet.rows().map { $0[2] }
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: questions.count, by: 32) {
            vectors += try await embedder.embed(Array(questions[start..<min(questions.count, start + 32)]), as: .passage)
        }
        let count = quick ? 201 : 10_000
        let entries = GeneratedFAQ(count: count).entries
        let templates = entries.enumerated().map { index, entry in
            SnapshotTemplate(id: String(format: "t%05d", index), category: entry.category, subcategory: entry.subcategory,
                             question: entry.question, answer: entry.answer, metadataJSON: "[]", vector: vectors[index % vectors.count])
        }
        let snapshot = directory.appendingPathComponent("readers-\(count).snapshot").path
        try? FileManager.default.removeItem(atPath: snapshot)
        _ = try SnapshotFileWriter(path: snapshot).publish(
            model: .init(name: embedder.model.name, version: embedder.model.version, dimension: embedder.model.dimension),
            templates: templates, minimumGeneration: 1)
        print("Readers with the in-process model (\(embedder.model)), \(count) templates, \(ProcessInfo.processInfo.activeProcessorCount) cores")

        // The whole process, as a user runs it: with a home of its own, where the record of the
        // verified weights goes (~/.cache/faqsync).
        let home = directory.appendingPathComponent("readers-home")
        try? FileManager.default.removeItem(at: home)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let environment = ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "error", "HOME": home.path]
        func timedProcess(_ arguments: [String], extra: [String: String] = [:]) throws -> Double {
            try BenchChild.wallMillis(faqsync, arguments, environment: environment.merging(extra) { $1 })
        }
        let question = "как открыть вклад онлайн"
        let runs = 10
        print("binary: \(faqsync.path)")
        print("process | N | p50 ms | max ms")
        let hybrid = ["query", question, "--snapshot", snapshot]
        let rows: [(String, [String], [String: String])] = [
            ("faqsync --help", ["--help"], [:]),
            ("faqsync query --mode lexical (no model)", ["query", question, "--mode", "lexical", "--snapshot", snapshot], [:]),
            ("faqsync query (hybrid), the weights hashed on every load (EMBEDDING_WEIGHTS_RECORD_DIR=off)", hybrid,
             ["EMBEDDING_WEIGHTS_RECORD_DIR": "off"]),
            ("faqsync query (hybrid), the weights remembered (the first run records them)", hybrid, [:]),
        ]
        for (label, arguments, extra) in rows {
            _ = try timedProcess(arguments, extra: extra)   // warm the page cache, as a second run of a user's would be
            let times = try (0..<runs).map { _ in try timedProcess(arguments, extra: extra) }
            print(String(format: "%@ | %d | %.0f | %.0f", label, runs, median(times), times.max() ?? 0))
            if label.contains("remembered"), !quick {
                try HeadlineFigures.record(.init(key: "query-process-10000",
                                                 what: "`faqsync query` with the in-process model, whole process, 10,000 templates (\(buildLabel))",
                                                 figure: String(format: "%.0f ms (max %.0f)", median(times), times.max() ?? 0), n: "\(runs)",
                                                 bench: "faqsync-bench readers"))
            }
        }
        let recorded = FileManager.default.fileExists(atPath: home.appendingPathComponent(".cache/faqsync/verified-weights").path)
        print("record of the verified weights in ~/.cache/faqsync: \(recorded ? "written" : "MISSING")")

        // serve: one loaded model for every request.
        let serve = Process()
        serve.executableURL = faqsync
        serve.arguments = ["serve", "--port", "0", "--snapshot", snapshot]
        serve.environment = environment
        let output = Pipe()
        serve.standardOutput = output
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        var collected = ""
        var port: Int?
        while port == nil {
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else { throw CocoaError(.fileReadUnknown) }
            collected += String(decoding: data, as: UTF8.self)
            if let range = collected.range(of: #"http://[0-9.]+:(\d+)"#, options: .regularExpression) {
                port = Int(collected[range].split(separator: ":").last ?? "")
            }
        }
        let url = "http://127.0.0.1:\(port ?? 0)/v1/search"
        @Sendable func search(_ text: String) async throws -> Double {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let body = try JSONSerialization.data(withJSONObject: ["query": text, "k": 5])
            request.body = .bytes(ByteBuffer(bytes: body))
            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { throw CocoaError(.fileReadUnknown) }
            return seconds(ContinuousClock.now - started) * 1e3
        }
        for question in questions.prefix(16) { _ = try await search(question) }   // warm-up
        print("serve, POST /v1/search (hybrid) | clients | N | p50 ms | p99 ms | p99 ÷ p50")
        for clients in [1, 16] {
            let perClient = clients == 1 ? 100 : 25
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var mine: [Double] = []
                        for round in 0..<perClient { mine.append(try await search(questions[(client * perClient + round) % questions.count])) }
                        return mine
                    }
                }
                var all: [Double] = []
                for try await some in group { all += some }
                return all.sorted()
            }
            let p50 = latencies[latencies.count / 2], p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
            print(String(format: "serve | %d | %d | %.1f | %.1f | %.2f", clients, latencies.count, p50, p99, p99 / p50))
            if clients == 16, !quick {
                try HeadlineFigures.record(.init(key: "serve-16-clients-10000",
                                                 what: "`serve` with the in-process model, 16 clients at once, 10,000 templates",
                                                 figure: String(format: "p50 %.0f ms, p99 %.0f ms", p50, p99), n: "\(latencies.count)",
                                                 bench: "faqsync-bench readers"))
            }
        }
    }
}
