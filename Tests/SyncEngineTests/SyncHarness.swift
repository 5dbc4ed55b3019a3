import Embedding
import Foundation
import GRDB
import Logging
import Reconciliation
import SpreadsheetReading
import SyncEngine
import TemplateStore
import TestSupport

/// A real SQLite store in a temporary directory, a real spreadsheet file that tests rewrite, and a
/// counting embedder to assert exact embedding costs.
struct SyncHarness {
    let directory: TemporaryDirectory
    let faqURL: URL
    let databasePath: String
    var modelInput: ModelInput = .questionAndAnswer

    static let header = ["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Целевая аудитория", "Шаблонный ответ"]

    init(_ label: String) throws {
        directory = try TemporaryDirectory(label)
        faqURL = directory.file("faq.xlsx")
        databasePath = directory.path("store.db")
    }

    var store: SQLiteTemplateStore { SQLiteTemplateStore(path: databasePath) }

    /// The fixture's rows as plain string rows, to edit and write back.
    static func fixtureRows() throws -> [[String]] {
        try SpreadsheetReader().read(Fixtures.faq).rows.map { row in
            let meta = Dictionary(uniqueKeysWithValues: row.metadata.map { ($0.name, $0.value) })
            return [row.category, row.subcategory, row.question, meta["Приоритет"] ?? "", meta["Целевая аудитория"] ?? "", row.answer]
        }
    }

    func write(_ rows: [[String]]) throws {
        try XLSXWriter.table([Self.header] + rows).write(to: faqURL)
    }

    @discardableResult
    func sync(_ embedder: any Embedder, force: Bool = false) async throws -> SyncReport {
        let engine = SyncEngine(store: store, embedder: embedder, logger: Logger(label: "test"))
        return try await engine.sync(SyncSource(faqURL: faqURL, modelInput: modelInput), options: SyncOptions(force: force))
    }

    /// Every row of the data tables (not the audit log), to prove a failed sync changed nothing.
    func dataRows() throws -> [String] {
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

    func runs() async throws -> [SyncRunRecord] { try await store.recentRuns(limit: 100) }
}

func localEmbedder(dimension: Int = 256) -> CountingEmbedder {
    CountingEmbedder(LocalHashingEmbedder(dimension: dimension, batchSize: 32))
}
