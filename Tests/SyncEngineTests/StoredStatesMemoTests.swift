import Embedding
import Foundation
import Logging
@testable import SyncEngine
import TemplateStore
import Testing
import TestSupport

/// The daemon plans against the store's states as its own last sync left them, instead of reading
/// 100,000 rows back: they must be exactly what the store holds after every kind of change, and
/// must not be used once another writer moved the store on.
@Suite("the daemon's memo of the store's states (SQLite and PostgreSQL)")
struct StoredStatesMemoTests {
    static func daemonCoordinator(_ harness: SyncHarness, embedder: any Embedder) -> SyncCoordinator {
        SyncCoordinator(store: harness.store, embedder: embedder, snapshotPath: harness.directory.path("faqsync.snapshot"),
                        source: SyncSource(faqURL: harness.faqURL), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                        syncsRepeatedly: true)
    }

    /// What the memo holds is what the store holds, version and generation included.
    static func expectMemoIsTheStore(_ coordinator: SyncCoordinator, _ store: any TemplateStore, _ label: String) async throws {
        let held = try #require(coordinator.engine?.statesMemo?.held, "\(label): the memo holds the states")
        let version = try #require(try await store.currentVersion())
        #expect(held.versionID == version.id, "\(label)")
        #expect(held.generation == (try await store.generation()), "\(label)")
        #expect(held.states == (try await store.templateStates(versionID: version.id)), "\(label)")
    }

    @Test(arguments: StoreBackend.available)
    func theMemoFollowsEveryChangeTheDaemonCommits(backend: StoreBackend) async throws {
        let harness = try SyncHarness("states-memo", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let coordinator = Self.daemonCoordinator(harness, embedder: LocalHashingEmbedder(dimension: 64))
        _ = try await coordinator.sync()
        #expect(coordinator.engine?.statesMemo?.held == nil, "the first sync created the version: nothing was read to remember")

        // One of each: new answer, metadata only, deleted, added.
        rows[3][5] += " Обновлено."
        rows[7][3] = "99"
        rows.remove(at: 12)
        rows.append(["Карты", "Новая", "Как оформить карту «ЧЕРЕПАХА»?", "1", "Все", "В любом отделении."])
        try harness.write(rows)
        let second = try await coordinator.sync()
        #expect(second.modified == 1 && second.metadataOnly == 1 && second.deleted == 1 && second.new == 1)
        try await Self.expectMemoIsTheStore(coordinator, harness.store, "after a read from the store and a commit")

        rows[20][5] += " Ещё."
        let removed = rows.remove(at: 30)
        try harness.write(rows)
        let third = try await coordinator.sync()
        #expect(third.modified == 1 && third.deleted == 1)
        try await Self.expectMemoIsTheStore(coordinator, harness.store, "after a sync planned from the memo")

        // The row deleted above comes back: the plan from the memo must see it as new.
        rows.insert(removed, at: 30)
        try harness.write(rows)
        let fourth = try await coordinator.sync()
        #expect(fourth.new == 1 && fourth.deleted == 0 && fourth.modified == 0)
        try await Self.expectMemoIsTheStore(coordinator, harness.store, "after a third")
    }

    @Test(arguments: StoreBackend.available)
    func anotherWritersSyncIsNeverPlannedAgainstTheMemo(backend: StoreBackend) async throws {
        let harness = try SyncHarness("states-memo-other-writer", backend: backend)
        defer { harness.directory.remove() }
        var rows = try SyncHarness.fixtureRows()
        try harness.write(rows)
        let embedder = LocalHashingEmbedder(dimension: 64)
        let daemon = Self.daemonCoordinator(harness, embedder: embedder)
        _ = try await daemon.sync()
        rows[3][5] += " Обновлено."
        try harness.write(rows)
        _ = try await daemon.sync()
        #expect(daemon.engine?.statesMemo?.held != nil)

        // `faqsync sync` by hand, with another edit: the store moves on without the daemon.
        rows[5][5] += " Вручную."
        try harness.write(rows)
        let byHand = try await harness.sync(embedder)
        #expect(byHand.modified == 1)

        // The daemon's next sync: planned against the stale memo, row 5 would count as modified
        // again (the memo has its old hash; the store and the sheet the new one).
        rows[9][5] += " Снова."
        try harness.write(rows)
        let after = try await daemon.sync()
        #expect(after.modified == 1, "only the new edit")
        try await Self.expectMemoIsTheStore(daemon, harness.store, "read again from the store")
    }
}
