import Foundation
import SyncEngine
import TemplateStore
import Testing
import TestSupport

/// Every sync keeps the list of templates it touched, by question and kind, in its own
/// transaction: what `status` and the FAQ team's page show.
@Suite("change logs")
struct ChangeLogTests {
    @Test(arguments: StoreBackend.available)
    func aSyncRecordsWhatItTouched(backend: StoreBackend) async throws {
        let harness = try SyncHarness("change-log-\(backend)", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = localEmbedder()
        try await harness.sync(embedder)
        #expect(try await harness.runs().first?.changes.count == 201)
        #expect(try await harness.runs().first?.changes.allSatisfy { $0.kind == .new } == true)

        rows[4][5] += " (обновлено)"          // modified: the answer is model input
        rows[6][3] = "99"                      // metadata only
        let deleted = rows.remove(at: 9)
        rows.append(["Карты", "Новые", "Как оформить новую карту?", "1", "Все", "В приложении."])
        try harness.write(rows)
        try await harness.sync(embedder)
        let changes = try #require(try await harness.runs().first?.changes)
        #expect(Set(changes.map { "\($0.kind.rawValue): \($0.question)" }) == [
            "modified: \(rows[4][2])", "metadata_only: \(rows[6][2])", "deleted: \(deleted[2])", "new: Как оформить новую карту?",
        ])

        // The same bytes again stop at the hash: nothing read, nothing recorded.
        try await harness.sync(embedder)
        #expect(try await harness.runs().map(\.changes.count) == [4, 201], "the same bytes: nothing recorded")
        // Other bytes with the same templates (a blank row added) are read, and that sync changed
        // nothing: it records an empty list, and the earlier runs keep theirs.
        try harness.write(rows + [["", "", "", "", "", ""]])
        try await harness.sync(embedder)
        let runs = try await harness.runs()
        #expect(runs.map(\.changes.count) == [0, 4, 201])
    }
}
