import AsyncHTTPClient
import Embedding
import Foundation
import Logging
import NIOCore
import RetrievalServer
import ServiceLifecycle
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import Reconciliation
import SpreadsheetReading
import SyncActivity
import TemplateStore

/// The FAQ team's page at its bounds: the activity document at its largest (20 runs × 200 listed
/// changes, 200 skipped rows, 200 quarantined), written and read; the page rendered and served
/// over HTTP from it, without and with a question (the real fixture's 201 templates, local model).
enum PageBenchmarks {
    static func run(directory: URL) async throws {
        let texts = SnapshotBenchmarks.faqTexts()
        let activity = largestActivity(questions: texts.map(\.question))
        let snapshotPath = directory.appendingPathComponent("page.snapshot").path
        let file = SyncActivityFile(besideSnapshot: snapshotPath)
        let clock = ContinuousClock()
        print("faqsync-bench page on \(ProcessInfo.processInfo.activeProcessorCount) cores; N per figure in brackets\n")

        var writes: [Double] = [], reads: [Double] = []
        for _ in 0..<50 {
            writes.append(seconds(try clock.measure { try file.write(activity) }) * 1e3)
            reads.append(seconds(try clock.measure { _ = try file.read() }) * 1e3)
        }
        let bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        print("activity document at its bounds: \(bytes / 1024) KiB; write (atomic, fsync) p50 \(format(median(writes))) ms, read + validate p50 \(format(median(reads))) ms [N=50]")

        let embedder = LocalHashingEmbedder(dimension: 1024)
        let templates = texts.enumerated().map { index, text in
            SnapshotTemplate(id: "t\(index)", category: "Категория \(index % 6)", subcategory: "Раздел \(index % 37)",
                             question: text.question, answer: text.answer, metadataJSON: "[]", vector: embedder.vector(for: text.question))
        }
        _ = try SnapshotFileWriter(path: snapshotPath).publish(
            model: .init(name: embedder.model.name, version: embedder.model.version, dimension: 1024), templates: templates, minimumGeneration: 1)

        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let live = try LiveSnapshot(path: snapshotPath, requireSnapshot: true, logger: quiet)
        let service = RetrievalService(live: live, embedder: embedder)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let application = service.makeServer(host: "127.0.0.1", port: 0, logger: quiet) { portSink.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [application], logger: quiet))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }

        let query = "как открыть вклад онлайн".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        for (label, path) in [("GET / (state, 20 syncs, chart)", "/"), ("GET /?q=… (hybrid, top 5)", "/?q=\(query)&mode=hybrid")] {
            var latencies: [Double] = []
            var size = 0
            for round in 0..<220 {
                let started = ContinuousClock.now
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 64 << 20)
                if round >= 20 { latencies.append(seconds(ContinuousClock.now - started) * 1e3) }
                size = body.readableBytes
            }
            let sorted = latencies.sorted()
            print("\(label): \(size / 1024) KiB, p50 \(format(median(latencies))) ms, p99 \(format(sorted[sorted.count * 99 / 100])) ms [N=200 after 20 warm-up]")
        }
        await group.triggerGracefulShutdown()
        _ = await server.result
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    static func largestActivity(questions: [String]) -> SyncActivity {
        let now = Date()
        let runs: [SyncRunRecord] = (0..<SyncActivity.recentRunLimit).map { index in
            var run = SyncRunRecord(startedAt: now.addingTimeInterval(Double(-60 * index) - 2), finishedAt: now.addingTimeInterval(Double(-60 * index)),
                                    sourcePath: "/srv/faq/faq.xlsx", sourceSHA256: String(repeating: "ab", count: 32), outcome: .succeeded)
            run.modified = 5_000
            run.embeddedTexts = 5_000
            run.changes = (0..<SyncActivity.listedPerRun).map { SyncChange(templateID: "k\($0)", question: questions[$0 % questions.count], kind: .modified) }
            run.skippedRowsJSON = SkippedRow.encodeList((0..<SyncActivity.listedPerRun).map {
                SkippedRow(row: $0 + 2, column: "F (Шаблонный ответ)", code: .emptyAnswer,
                           message: "the answer is empty but the row has other content; fill in the answer or delete the row",
                           identityHint: .init(id: nil, category: "", subcategory: "", question: questions[$0 % questions.count]))
            })
            return run
        }
        let quarantined = (0..<SyncActivity.listedPerRun).map {
            QuarantinedTemplate(templateID: "q\($0)", inputHash: "h\($0)", reason: "input is too long: 9000 tokens > 8192", since: now)
        }
        return SyncActivity(writtenAt: now, currentVersion: nil, lastAttempt: .init(finishedAt: now, succeeded: true, error: nil),
                            recentSyncs: runs, quarantined: quarantined)
    }
}
