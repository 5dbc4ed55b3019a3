import Embedding
import Foundation
import Reconciliation
import SyncEngine
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

@Suite("incremental sync (SQLite and PostgreSQL)")
struct IncrementalSyncTests {
    @Test(arguments: StoreBackend.available)
    func firstSyncEmbedsEveryTextAndASecondSyncNothing(backend: StoreBackend) async throws {
        let harness = try SyncHarness("first-sync", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        let embedder = localEmbedder()

        let first = try await harness.sync(embedder)
        #expect(first.new == 201)
        #expect(first.templates == 201)
        // Two templates ("Какая доходность?" in two subcategories) have the same question and
        // answer, so the same model input: it is embedded once and stored for both.
        #expect(embedder.texts == 200)
        #expect(first.embeddedTexts == 200)
        let rowsAfterFirst = try harness.dataRows()

        embedder.reset()
        let second = try await harness.sync(embedder)
        #expect(embedder.texts == 0)
        #expect(embedder.requests == 0)
        #expect(second.unchanged == 201)
        #expect(second.new + second.modified + second.metadataOnly + second.deleted == 0)
        #expect(try harness.dataRows() == rowsAfterFirst, "a no-op sync changes no row")
        #expect(second.unchangedFile, "the same bytes and settings: stopped at the hash")
        #expect(try await harness.runs().count == 1, "and nothing happened, so nothing is recorded")
    }

    @Test(arguments: StoreBackend.available)
    func addingEditingAndDeletingCostsOnlyTheDelta(backend: StoreBackend) async throws {
        let harness = try SyncHarness("delta", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        try await harness.sync(embedder)

        for index in 0..<5 {
            rows.append(["Новые", "Раздел \(index)", "Новый вопрос \(index)?", "средний", "все клиенты", "Новый ответ \(index)."])
        }
        try harness.write(rows)
        embedder.reset()
        var report = try await harness.sync(embedder)
        #expect((embedder.texts, report.new, report.templates) == (5, 5, 206))

        rows[10][5] += " Обновлено."
        rows[20][5] = "Полностью новый ответ."
        try harness.write(rows)
        embedder.reset()
        report = try await harness.sync(embedder)
        #expect((embedder.texts, report.modified, report.unchanged) == (2, 2, 204))

        rows.remove(at: 30)
        try harness.write(rows)
        embedder.reset()
        report = try await harness.sync(embedder)
        #expect((embedder.texts, report.deleted, report.templates) == (0, 1, 205))
    }

    @Test(arguments: StoreBackend.available)
    func insertingAtTheTopOrReorderingKeepsEveryOtherIdentity(backend: StoreBackend) async throws {
        let harness = try SyncHarness("identity", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        try await harness.sync(embedder)

        rows.insert(["Новые клиенты", "Регистрация", "Можно ли открыть счёт без паспорта?", "высокий", "новые клиенты", "Нет."], at: 0)
        try harness.write(rows)
        embedder.reset()
        var report = try await harness.sync(embedder)
        #expect((embedder.texts, report.new, report.modified, report.deleted) == (1, 1, 0, 0))

        rows.reverse()
        try harness.write(rows)
        embedder.reset()
        report = try await harness.sync(embedder)
        #expect(embedder.texts == 0)
        #expect(report.unchanged == 202)
    }

    @Test(arguments: StoreBackend.available)
    func metadataOnlyChangesUpdateTheRowWithoutEmbedding(backend: StoreBackend) async throws {
        let harness = try SyncHarness("metadata", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        try await harness.sync(embedder)

        rows[3][3] = rows[3][3] == "высокий" ? "средний" : "высокий"
        try harness.write(rows)
        embedder.reset()
        let report = try await harness.sync(embedder)
        #expect((embedder.texts, report.metadataOnly, report.modified) == (0, 1, 0))
        let version = try #require(try await harness.store.currentVersion())
        let stored = try await harness.store.templates(versionID: version.id)
        #expect(stored.contains { $0.question == rows[3][2] && $0.metadata.contains(.init(name: "Приоритет", value: rows[3][3])) })
    }

    @Test(arguments: StoreBackend.available)
    func questionOnlyInputIgnoresAnswerEditsForEmbedding(backend: StoreBackend) async throws {
        var harness = try SyncHarness("question-only", backend: backend)
        defer { harness.directory.remove() }
        harness.modelInput = .question
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        let first = try await harness.sync(embedder)
        // Question-only input: the duplicated question is one text, as is every other question.
        #expect(first.embeddedTexts == Set(rows.map { $0[2] }).count)

        rows[7][5] = "Совсем другой ответ."
        try harness.write(rows)
        embedder.reset()
        let report = try await harness.sync(embedder)
        #expect((embedder.texts, report.metadataOnly) == (0, 1))
        let version = try #require(try await harness.store.currentVersion())
        let stored = try await harness.store.templates(versionID: version.id)
        #expect(stored.contains { $0.question == rows[7][2] && $0.answer == "Совсем другой ответ." })
    }

    @Test(arguments: StoreBackend.available)
    func anEditRevertedOrARowDeletedAndReaddedCostsNothing(backend: StoreBackend) async throws {
        let harness = try SyncHarness("revert", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        let original = rows
        try harness.write(rows)
        let embedder = localEmbedder()
        try await harness.sync(embedder)

        rows[5][5] = "Временный ответ."
        let removed = rows.remove(at: 50)
        try harness.write(rows)
        embedder.reset()
        try await harness.sync(embedder)
        #expect(embedder.texts == 1)

        rows = original
        try harness.write(rows)
        embedder.reset()
        let report = try await harness.sync(embedder)
        #expect(embedder.texts == 0, "both came back from the content-addressed cache")
        #expect(report.cacheHits == 2)
        #expect((report.modified, report.new) == (1, 1))
        _ = removed
    }

    @Test(arguments: StoreBackend.available)
    func forceReembedsEverythingBypassingTheCache(backend: StoreBackend) async throws {
        let harness = try SyncHarness("force", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        let embedder = localEmbedder()
        try await harness.sync(embedder)
        embedder.reset()
        let report = try await harness.sync(embedder, force: true)
        #expect(embedder.texts == 200)
        #expect(report.modified == 201)
        #expect(report.templates == 201)
    }
}
