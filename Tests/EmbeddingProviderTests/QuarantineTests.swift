import Embedding
import EmbeddingProviders
import Foundation
import Reconciliation
import SpreadsheetReading
import SyncActivity
import SyncEngine
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

@Suite("inputs the provider rejects")
struct QuarantineTests {
    /// Requests the halving search takes to isolate one bad input among `count`.
    static func requestsToIsolate(position: Int, count: Int) -> Int {
        var requests = 1, range = 0..<count
        while range.count > 1 {
            requests += 2
            let half = range.lowerBound + range.count / 2
            range = position < half ? range.lowerBound..<half : half..<range.upperBound
        }
        return requests
    }

    @Test func oneRejectedInputIsQuarantinedAndTheRestIsStored() async throws {
        let harness = try await ProviderHarness("quarantine")
        let templates = try Template.templates(from: SpreadsheetReader().read(harness.faq), modelInput: .questionAndAnswer)
        let bad = templates[11]
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.rejectInput = bad.modelInput
        harness.server.setBehaviour(behaviour)
        let embedder = try await harness.embedder()

        let report = try await harness.sync(embedder)
        #expect(harness.server.requests == Self.requestsToIsolate(position: 11, count: 30))
        #expect(report.templates == 29, "the new template is left out, the others are stored")
        #expect(report.quarantined.map(\.templateID) == [bad.id])
        #expect(report.quarantined.first?.reason == "input is too long: 9000 tokens > 8192")
        let stored = try await harness.store.quarantine(model: embedder.model)
        #expect(stored.map(\.templateID) == [bad.id])

        // Unchanged, the rejected text is not sent again. (Through the coordinator, as `watch` runs it:
        // the FAQ team's page names the quarantined template by its question and row.)
        harness.server.resetCounts()
        let snapshot = harness.directory.path("faqsync.snapshot")
        let coordinator = SyncCoordinator(store: harness.store, embedder: embedder, snapshotPath: snapshot,
                                          source: SyncSource(faqURL: harness.faq), logger: ProviderHarness.quiet)
        let again = try await coordinator.sync()
        // One request: the sample's checks (its «Проверка» sheet), run after the sync; not the rejected text.
        let checks = try #require(try SpreadsheetReader().readCheckSheet(harness.faq)).rows.count
        #expect((harness.server.requests, harness.server.inputs) == (1, checks))
        #expect(again.quarantined.count == 1)
        #expect(again.checks?.primary?.total == checks)
        // Once embedded, the checks' questions come from the cache: a sync that changes nothing sends nothing.
        harness.server.resetCounts()
        _ = try await coordinator.sync()
        #expect(harness.server.requests == 0)
        let activity = try #require(try SyncActivityFile(besideSnapshot: snapshot).read())
        let named = try #require(activity.quarantined.first)
        #expect((named.templateID, named.question, named.row) == (bad.id, bad.question, bad.rowNumber))
        #expect(named.reason == "input is too long: 9000 tokens > 8192")

        // Fixed, it is embedded and leaves quarantine.
        behaviour.rejectInput = nil
        harness.server.setBehaviour(behaviour)
        var rows = try SpreadsheetReader().read(harness.faq).rows.map { [$0.category, $0.subcategory, $0.question, $0.answer] }
        rows[11][3] = "A shorter answer."
        try XLSXWriter.table([["category", "subcategory", "question", "answer"]] + rows).write(to: harness.faq)
        let fixed = try await harness.sync(embedder)
        #expect((harness.server.requests, fixed.templates, fixed.quarantined.count) == (1, 30, 0))
        #expect(try await harness.store.quarantine(model: embedder.model).isEmpty)
        await harness.cleanUp()
    }

    @Test func aRejectedEditKeepsThePreviousStoredState() async throws {
        let harness = try await ProviderHarness("quarantine-edit")
        let embedder = try await harness.embedder()
        try await harness.sync(embedder)
        var rows = try SpreadsheetReader().read(harness.faq).rows.map { [$0.category, $0.subcategory, $0.question, $0.answer] }
        let original = rows[4][3]
        rows[4][3] = "An answer the provider will not take."
        try XLSXWriter.table([["category", "subcategory", "question", "answer"]] + rows).write(to: harness.faq)
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.rejectInput = rows[4][2] + " " + rows[4][3]
        harness.server.setBehaviour(behaviour)
        let report = try await harness.sync(embedder)
        #expect(report.quarantined.count == 1)
        #expect(report.templates == 30)
        let version = try #require(try await harness.store.currentVersion())
        let stored = try await harness.store.templates(versionID: version.id)
        #expect(stored.contains { $0.question == rows[4][2] && $0.answer == original }, "the previous answer and vector stay")
        await harness.cleanUp()
    }
}
