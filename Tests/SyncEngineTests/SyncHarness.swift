import Embedding
import Foundation
import GRDB
import Logging
import Reconciliation
import SpreadsheetReading
import SyncEngine
import PostgresStore
import SQLiteStore
import TemplateStore
import TestSupport

/// A real SQLite store in a temporary directory, a real spreadsheet file that tests rewrite, and a
/// counting embedder to assert exact embedding costs.
struct SyncHarness {
    let directory: TemporaryDirectory
    let faqURL: URL
    /// The SQLite file (unused on PostgreSQL).
    let databasePath: String
    let backend: StoreBackend
    /// The test's own PostgreSQL database, dropped with the harness.
    let database: TestDatabase?
    let store: any TemplateStore
    var modelInput: ModelInput = .questionAndAnswer

    static let header = FixtureSheet.header

    init(_ label: String, backend: StoreBackend = .sqlite) throws {
        directory = try TemporaryDirectory(label)
        faqURL = directory.file("faq.xlsx")
        databasePath = directory.path("store.db")
        self.backend = backend
        switch backend {
        case .sqlite:
            database = nil
            store = SQLiteTemplateStore(path: databasePath)
        case .postgres:
            let database = try TestDatabase(label)
            self.database = database
            store = PostgresTemplateStore(settings: database.settings)
        }
    }

    /// The fixture's rows as plain string rows, to edit and write back.
    static func fixtureRows() throws -> [[String]] { try FixtureSheet.rows() }

    func write(_ rows: [[String]]) throws {
        try XLSXWriter.table([Self.header] + rows).write(to: faqURL)
    }

    @discardableResult
    func sync(_ embedder: any Embedder, force: Bool = false, store override: (any TemplateStore)? = nil) async throws -> SyncReport {
        // Through the coordinator, as every command: the writer lock, the sync, the snapshot.
        let coordinator = SyncCoordinator(store: override ?? store, embedder: embedder, snapshotPath: directory.path("faqsync.snapshot"),
                                          source: SyncSource(faqURL: faqURL, modelInput: modelInput), logger: Logger(label: "test"))
        return try await coordinator.sync(SyncOptions(force: force))
    }

    /// Every row of the data tables (not the audit log), to prove a failed sync changed nothing.
    func dataRows() throws -> [String] {
        if let database { return try database.dataRows() }
        guard FileManager.default.fileExists(atPath: databasePath) else { return [] }
        let queue = try DatabaseQueue(path: databasePath)
        return try queue.read { db in
            var rows: [String] = []
            for table in ["embedding_versions", "templates", "embedding_cache"] {
                rows += try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { "\(table): \($0)" }
            }
            return rows
        }
    }

    /// A new store object on the same data, as a process started afresh would open it.
    func reopenedStore() -> any TemplateStore {
        if let database { return PostgresTemplateStore(settings: database.settings) }
        return SQLiteTemplateStore(path: databasePath)
    }

    func runs() async throws -> [SyncRunRecord] { try await store.recentRuns(limit: 100) }
}

func localEmbedder(dimension: Int = 256) -> CountingEmbedder {
    CountingEmbedder(LocalHashingEmbedder(dimension: dimension, batchSize: 32))
}
