import Foundation
import SpreadsheetReading
import SyncEngine
import TemplateStore
import Testing
import TestSupport

/// Row-level problems stay on their row: a draft without its answer, a NUL character, or rows
/// sharing one identity are skipped and reported, and every other row syncs. A template stored
/// before keeps its last stored state while its row is skipped.
@Suite("skipped rows")
struct SkippedRowTests {
    @Test(arguments: StoreBackend.available)
    func aDraftRowAndADuplicateAreSkippedAndTheRestSyncs(backend: StoreBackend) async throws {
        let harness = try SyncHarness("skipped-\(backend)", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        let first = try await harness.sync(embedder)
        #expect(first.skippedRows.isEmpty)
        let stored = try await Self.storedByQuestion(harness)

        // Row numbers in the sheet: the header is row 1, so rows[i] is row i + 2.
        let draftQuestion = Self.key(rows[5]), duplicatedQuestion = Self.key(rows[8])
        let answerBefore = try #require(stored[draftQuestion]?.answer)
        rows[5][5] = ""                                       // an editor clears an answer to rewrite it
        rows.append([rows[8][0], rows[8][1], " " + rows[8][2].uppercased(), "", "", "Другой ответ"])  // the same identity again
        rows[12][5] += " (исправлено)"                        // and someone else's real edit
        try harness.write(rows)
        embedder.reset()
        let report = try await harness.sync(embedder)

        let skipped = report.skippedRows.map { "\($0.row) \($0.code)" }
        #expect(skipped == ["7 empty-answer", "10 duplicate-identity", "\(rows.count + 1) duplicate-identity"], "\(report.skippedRows)")
        #expect(report.skippedRows[0].column == "F (Шаблонный ответ)")
        #expect(report.skippedRows[1].message.contains("row \(rows.count + 1) has the same"))
        #expect(report.modified == 1, "the other editor's change went through")
        #expect(report.deleted == 0, "skipped rows delete nothing")
        #expect(embedder.texts == 1)

        let after = try await Self.storedByQuestion(harness)
        #expect(after[draftQuestion]?.answer == answerBefore, "the draft's template keeps its last stored state")
        #expect(after[duplicatedQuestion] == stored[duplicatedQuestion], "the duplicated template keeps its last stored state")
        #expect(after.count == stored.count)

        // The run keeps them, for `status`.
        let run = try #require(try await harness.runs().first)
        let kept = SkippedRow.decodeList(run.skippedRowsJSON)
        #expect(run.outcome == .succeeded && kept.map(\.row) == report.skippedRows.map(\.row))
        #expect(kept.first?.message == report.skippedRows.first?.message)

        // Fixed: the template syncs again and nothing is skipped.
        rows[5][5] = "Новый ответ"
        rows.removeLast()
        try harness.write(rows)
        let fixed = try await harness.sync(embedder)
        #expect(fixed.skippedRows.isEmpty)
        #expect(try await Self.storedByQuestion(harness)[draftQuestion]?.answer == "Новый ответ")
    }

    @Test func aRowWithoutIdentityIsSkippedAndItsOldTemplateGoes() async throws {
        // A question cleared with no id column: nothing tells which template the row was, so the
        // template it was is deleted like any row removed, and the row is reported.
        let harness = try SyncHarness("skipped-no-identity")
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        try await harness.sync(localEmbedder())
        rows[3][2] = ""
        try harness.write(rows)
        let report = try await harness.sync(localEmbedder())
        #expect(report.skippedRows.map(\.code) == ["empty-question"])
        #expect(report.deleted == 1)
    }

    @Test func aDryRunReportsTheSkippedRowsToo() async throws {
        let harness = try SyncHarness("skipped-dry-run")
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        rows[0][5] = ""
        try harness.write(rows)
        let coordinator = SyncCoordinator(store: harness.store, embedder: localEmbedder(), snapshotPath: harness.directory.path("faqsync.snapshot"),
                                          source: SyncSource(faqURL: harness.faqURL), logger: .init(label: "test"))
        #expect(try await coordinator.dryRun().report.skippedRows.map(\.row) == [2])
    }

    static func storedByQuestion(_ harness: SyncHarness) async throws -> [String: StoredTemplate] {
        let version = try #require(try await harness.store.currentVersion())
        return Dictionary(uniqueKeysWithValues: try await harness.store.templates(versionID: version.id).map { (key($0.category, $0.subcategory, $0.question), $0) })
    }

    static func key(_ row: [String]) -> String { key(row[0], row[1], row[2]) }
    static func key(_ category: String, _ subcategory: String, _ question: String) -> String {
        "\(category)|\(subcategory)|\(question)"
    }
}
