import Embedding
import EmbeddingProviders
import Foundation
import GRDB
import Logging
import SyncEngine
import SQLiteStore
import TemplateStore
import TestSupport

/// A store, the sample FAQ (30 templates, 30 distinct texts) and a fake provider.
struct ProviderHarness {
    let directory: TemporaryDirectory
    let server: FakeEmbeddingServer
    let store: SQLiteTemplateStore
    let faq: URL

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ label: String, faq: URL = Fixtures.sampleFAQ, dimension: Int = 64) async throws {
        directory = try TemporaryDirectory(label)
        server = try await FakeEmbeddingServer(dimension: dimension)
        store = SQLiteTemplateStore(path: directory.path("store.db"))
        self.faq = directory.file("faq.xlsx")
        try FileManager.default.copyItem(at: faq, to: self.faq)
    }

    func settings(batchSize: Int = 30, timeout: Duration = .seconds(5), attempts: Int = 6, key: String? = nil) -> HTTPEmbedderSettings {
        HTTPEmbedderSettings(baseURL: server.openAIBaseURL, model: "bge-m3", modelVersion: "v1", dimensions: server.dimension,
                             batchSize: batchSize, timeout: timeout, apiKey: key.map(Secret.init),
                             retry: RetryPolicy(maxAttempts: attempts, maxTotal: .seconds(30), initialDelay: .milliseconds(50)))
    }

    func embedder(_ settings: HTTPEmbedderSettings? = nil, format: any EmbeddingWireFormat = OpenAIWireFormat()) async throws -> HTTPEmbedder {
        try await HTTPEmbedder.make(settings: settings ?? self.settings(), format: format, logger: Self.quiet)
    }

    @discardableResult
    func sync(_ embedder: any Embedder, concurrency: Int = 1) async throws -> SyncReport {
        try await SyncCoordinator(store: store, embedder: embedder, snapshotPath: directory.path("faqsync.snapshot"),
                                  source: SyncSource(faqURL: faq, checks: .none), logger: Self.quiet)
            .sync(SyncOptions(maxConcurrency: concurrency))
    }

    /// The data tables, row for row, to show a failed sync changed nothing.
    func dataRows() throws -> [String] {
        guard store.exists() else { return [] }
        let queue = try DatabaseQueue(path: store.path)
        defer { try? queue.close() }
        return try queue.read { db in
            guard try db.tableExists("templates") else { return [] }
            return try ["embedding_versions", "templates"].flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { "\(table): \($0)" }
            }
        }
    }

    func cleanUp() async {
        await server.stop()
        directory.remove()
    }
}
