import Embedding
import EmbeddingProviders
import Foundation
import Logging
import SyncEngine
import PostgresStore
import SQLiteStore
import TemplateStore
import TestSupport

/// Embedding throughput through the HTTP client against a local OpenAI-compatible server that
/// adds 1 ms of latency per request: what concurrency buys when the model is a network hop away.
enum ProviderBenchmarks {
    static func run(directory: URL, quick: Bool) async throws {
        let count = quick ? 2_000 : 10_000
        let faq = directory.appendingPathComponent("generated-\(count).xlsx")
        if !FileManager.default.fileExists(atPath: faq.path) { try GeneratedFAQ(count: count).writeXLSX(to: faq) }
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.latency = .milliseconds(1)
        let server = try await FakeEmbeddingServer(dimension: 1024, behaviour: behaviour)
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        print("HTTP provider throughput: \(count) templates, 1024 dimensions, batches of 32, 1 ms server latency per request")
        print("concurrency | texts | requests | seconds | texts/s")
        for concurrency in [1, 4, 16] {
            let scratch = try TemporaryDirectory("bench-provider")
            defer { scratch.remove() }
            server.resetCounts()
            let embedder = try await HTTPEmbedder.make(
                settings: HTTPEmbedderSettings(baseURL: server.openAIBaseURL, model: "bench", dimensions: 1024, batchSize: 32),
                format: OpenAIWireFormat(), logger: quiet)
            let engine = SyncCoordinator(store: SQLiteTemplateStore(path: scratch.path("bench.db")), embedder: embedder,
                                         snapshotPath: scratch.path("bench.snapshot"), source: SyncSource(faqURL: faq, checks: .none), logger: quiet)
            let clock = ContinuousClock()
            var report: SyncReport?
            let elapsed = try await clock.measure {
                report = try await engine.sync(SyncOptions(maxConcurrency: concurrency))
            }
            let texts = report?.embeddedTexts ?? 0
            print(String(format: "%11d | %5d | %8d | %7.2f | %7.0f", concurrency, texts, server.requests, seconds(elapsed),
                         Double(texts) / seconds(elapsed)))
        }
        await server.stop()
    }
}
