import Embedding
import Foundation
import Logging
import PostgresStore
import SnapshotFollowing
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SyncEngine
import Synchronization
import Testing
import TestSupport

/// A follower of a large FAQ publishes each change as a delta over the file it wrote, as the
/// writer does, and holds what the writer's snapshot holds, score for score.
@Suite("follower deltas", .enabled(if: TestDatabase.isConfigured, Comment(rawValue: TestDatabase.notConfiguredReason)))
struct FollowerDeltaTests {
    /// Deltas over at least 100 templates, merged past 10%.
    static let policy = DeltaPolicy(minimumBaseTemplates: 100, maximumShare: 0.1)

    /// Each template's answer and vector bits by id, as `snapshot` serves them.
    static func byID(_ snapshot: MappedSnapshot) -> [String: String] {
        var all: [String: String] = [:]
        for index in 0..<snapshot.contents.count {
            all[snapshot.contents.string(index, .id)] = snapshot.contents.string(index, .answer) + "|"
                + snapshot.contents.vector(index).map { String($0.bitPattern) }.joined(separator: ",")
        }
        return all
    }

    /// A writer synced once from a generated FAQ of 300 templates, in a database of its own.
    struct Setup {
        let database: TestDatabase
        let directory: TemporaryDirectory
        var faq: GeneratedFAQ
        let sheet: URL
        let embedder: LocalHashingEmbedder
        let writer: SyncCoordinator
        let writerPath: String, followerPath: String

        init(_ label: String) async throws {
            database = try TestDatabase(label)
            directory = try TemporaryDirectory(label)
            faq = GeneratedFAQ(count: 300)
            sheet = directory.file("faq.xlsx")
            try faq.writeXLSX(to: sheet)
            embedder = LocalHashingEmbedder(dimension: 64)
            writerPath = directory.path("writer.snapshot")
            followerPath = directory.path("follower.snapshot")
            writer = SyncCoordinator(store: PostgresTemplateStore(settings: database.settings), embedder: embedder, snapshotPath: writerPath,
                                     source: SyncSource(faqURL: sheet), logger: quiet, deltaPolicy: FollowerDeltaTests.policy)
            _ = try await writer.sync()
        }

        /// The sheet edited and synced by the writer.
        mutating func edit(_ change: (inout GeneratedFAQ) -> Void) async throws {
            change(&faq)
            try faq.writeXLSX(to: sheet)
            _ = try await writer.sync()
        }
    }

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aFollowerPublishesDeltasThatShowWhatTheWriterShows() async throws {
        var setup = try await Setup("follower-delta")
        defer { setup.directory.remove() }
        let (database, embedder, writerPath, followerPath, quiet) = (setup.database, setup.embedder, setup.writerPath, setup.followerPath, Self.quiet)
        let rebuilds = Mutex<[SnapshotFollower.Rebuild]>([])
        let follower = SnapshotFollower(store: PostgresTemplateStore(settings: database.settings), snapshotPath: followerPath, logger: quiet,
                                        deltaPolicy: Self.policy) { rebuild in rebuilds.withLock { $0.append(rebuild) } }
        let task = Task { try await follower.run() }
        defer { task.cancel() }
        func waitForRebuilds(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while rebuilds.withLock({ $0.count }) < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            try #require(rebuilds.withLock { $0.count } >= count, "the follower did not rebuild")
        }
        func expectSameAsWriter(formatVersion: UInt32, _ label: String) async throws {
            let followed = try MappedSnapshot(path: followerPath), written = try MappedSnapshot(path: writerPath)
            #expect(followed.header.formatVersion == formatVersion, "\(label)")
            #expect(written.header.formatVersion == formatVersion, "\(label): the writer decides alike")
            #expect(Self.byID(followed) == Self.byID(written), "\(label)")
            for entry in setup.faq.entries.prefix(5) {
                let vector = try await embedder.embed([entry.question], as: .query)[0]
                let query = SearchQuery(text: entry.question, vector: vector)
                func hits(_ snapshot: MappedSnapshot) throws -> [String] {
                    try snapshot.search(query, k: 5).results.map { "\($0.id) \($0.score.bitPattern)" }.sorted()
                }
                #expect(try hits(followed) == hits(written), "\(label)")
            }
        }
        try await waitForRebuilds(1)
        try await expectSameAsWriter(formatVersion: 2, "first load")

        // A few edits: a delta on both hosts, over the file each wrote.
        try await setup.edit {
            $0.entries[10].answer += " Обновлено."
            $0.entries.remove(at: 30)
        }
        try await waitForRebuilds(2)
        #expect(rebuilds.withLock { $0[1].tokenisedTemplates } == 1, "only the edited template is tokenised")
        try await expectSameAsWriter(formatVersion: 3, "first delta")

        try await setup.edit { $0.entries[11].answer += " Ещё." }
        try await waitForRebuilds(3)
        try await expectSameAsWriter(formatVersion: 3, "second delta")

        // Past 10%: both merge into a whole file.
        try await setup.edit { for index in 100..<140 { $0.entries[index].answer += " Новое." } }
        try await waitForRebuilds(4)
        try await expectSameAsWriter(formatVersion: 2, "merged")
        task.cancel()
        _ = try? await task.value
    }

    /// A follower merges its delta into a whole file once the store is quiet, as the writer's
    /// daemon does: same templates, same scores, a generation readers switch to.
    @Test func aFollowerMergesItsDeltaWhenTheStoreIsQuiet() async throws {
        var setup = try await Setup("follower-idle-merge")
        defer { setup.directory.remove() }
        let (database, embedder, followerPath, quiet) = (setup.database, setup.embedder, setup.followerPath, Self.quiet)
        let rebuilds = Mutex<[SnapshotFollower.Rebuild]>([])
        let follower = SnapshotFollower(store: PostgresTemplateStore(settings: database.settings), snapshotPath: followerPath, logger: quiet,
                                        deltaPolicy: Self.policy, idleBeforeMerge: .zero) { rebuild in rebuilds.withLock { $0.append(rebuild) } }
        let task = Task { try await follower.run() }
        defer { task.cancel() }
        func waitFor(_ condition: () throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if (try? condition()) == true { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
        #expect(try await waitFor { rebuilds.withLock { $0.count } >= 1 }, "the first load")
        let reader = try LiveSnapshot(path: followerPath)

        // 20 answers of 300: past the idle share (5%), below the hard limit (10%).
        try await setup.edit { for index in 100..<120 { $0.entries[index].answer += " Новое." } }
        #expect(try await waitFor { rebuilds.withLock { $0.count } >= 2 })
        let delta = rebuilds.withLock { $0[1] }
        #expect(try await waitFor { try MappedSnapshot(path: followerPath).header.formatVersion == 2 }, "merged when quiet")
        let merged = try MappedSnapshot(path: followerPath).header
        #expect(merged.generation > delta.snapshotGeneration)
        #expect(rebuilds.withLock { $0.count } == 2, "a merge is not a rebuild from the store")
        let writtenByTheWriter = try MappedSnapshot(path: setup.writerPath)
        #expect(writtenByTheWriter.header.formatVersion == 3, "the writer, not a daemon, keeps its delta")
        #expect(Self.byID(try MappedSnapshot(path: followerPath)) == Self.byID(writtenByTheWriter), "the same templates as the writer's delta")
        for entry in setup.faq.entries.prefix(5) {
            let vector = try await embedder.embed([entry.question], as: .query)[0]
            let query = SearchQuery(text: entry.question, vector: vector)
            func hits(_ snapshot: MappedSnapshot) throws -> [String] {
                try snapshot.search(query, k: 5).results.map { "\($0.id) \($0.score.bitPattern)" }.sorted()
            }
            #expect(try hits(MappedSnapshot(path: followerPath)) == hits(writtenByTheWriter))
        }
        if case .switched(_, let to) = reader.reloadIfChanged() { #expect(to == merged.generation) } else { Issue.record("the reader did not switch") }

        // The next change is a delta over the merged file.
        try await setup.edit { $0.entries[5].answer += " Ещё." }
        #expect(try await waitFor { rebuilds.withLock { $0.count } >= 3 })
        #expect(try MappedSnapshot(path: followerPath).header.base?.generation == merged.generation)
        task.cancel()
        _ = try? await task.value
    }
}
