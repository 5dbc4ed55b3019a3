import Embedding
import Foundation
import Logging
import SnapshotPublishing
import SnapshotReader
import SQLiteStore
import SyncEngine
import Testing
import TestSupport
import WatchDaemon

/// The merge when idle end to end: the watch service with the real coordinator, a real SQLite
/// store, the real FAQ and real inotify; only time is the test's (a manual clock), so "five idle
/// seconds" needs no sleep.
@Suite("the daemon merges a delta when idle", .serialized)
struct IdleMergeTests {
    /// Every template's fields by id, as the snapshot at `path` serves them.
    static func served(_ path: String) throws -> [String: String] {
        let snapshot = try MappedSnapshot(path: path)
        let contents = snapshot.contents
        var byID: [String: String] = [:]
        for index in 0..<contents.count {
            byID[contents.string(index, .id)] = [contents.string(index, .question), contents.string(index, .answer)].joined(separator: "|")
        }
        return byID
    }

    @Test func aDeltaLeftByASaveIsMergedOnceTheDaemonIsIdle() async throws {
        let directory = try TemporaryDirectory("idle-merge")
        defer { directory.remove() }
        var rows = try FixtureSheet.rows()
        let faq = directory.path("faq.xlsx"), snapshotPath = directory.path("faqsync.snapshot")
        try FixtureSheet.write(rows, to: directory.file("faq.xlsx"))
        let log = WatchServiceClockTests.RecordingLogHandler.Lines()
        let logger = Logger(label: "test") { _ in WatchServiceClockTests.RecordingLogHandler(lines: log) }
        // Deltas from 100 templates (the FAQ has 201), merged when idle past 5%.
        let coordinator = SyncCoordinator(store: SQLiteTemplateStore(path: directory.path("store.db")),
                                          embedder: LocalHashingEmbedder(dimension: 256), snapshotPath: snapshotPath,
                                          source: SyncSource(faqURL: directory.file("faq.xlsx")), logger: logger, syncsRepeatedly: true,
                                          deltaPolicy: DeltaPolicy(minimumBaseTemplates: 100, maximumShare: 0.1, idleMergeShare: 0.05))
        let clock = ManualClock()
        let service = WatchService(configuration: .init(faqPath: faq, idleBeforeMerge: .seconds(5)), lastSyncedSHA256: nil, logger: logger,
                                   clock: clock, classify: WatchFailureKind.init(classifying:),
                                   merge: { try await coordinator.mergeSnapshot(stop: $0)?.generation }) { _ in
            let report = try await coordinator.sync()
            let summary = WatchPolicy.SyncSummary(templates: report.templates, model: "\(report.model)", changes: "\(report.modified) modified",
                                                  generation: report.publication?.generation, finishedAt: Date(),
                                                  mergeDue: await coordinator.publication.mergeDueWhenIdle())
            return (summary, report.sourceSHA256, (report.embeddedTexts, report.cacheHits))
        }
        let task = Task { try await service.run() }
        defer { task.cancel() }
        #expect(try await log.waitFor("sync done"), "the start-up sync")
        #expect(try await clock.waitForSleepers(1), "the watcher's first event started a debounce")
        clock.advance(by: .milliseconds(500))
        #expect(try await log.waitFor("content unchanged"))
        #expect(clock.sleeperCount == 0, "a whole file: nothing to merge")
        let reader = try LiveSnapshot(path: snapshotPath)

        // Thirteen answers edited, saved as Excel saves: a new file renamed into place.
        for index in 50..<63 { rows[index][5] += " Обновлено." }
        try FixtureSheet.write(rows, to: directory.file(".~faq.xlsx.tmp"))
        #expect(rename(directory.path(".~faq.xlsx.tmp"), faq) == 0)
        #expect(try await log.waitFor("13 modified"), "synced at once")
        let delta = try MappedSnapshot(path: snapshotPath).header
        #expect(delta.formatVersion == 3, "13 of 201 below the 10% limit: a delta")
        let servedByTheDelta = try Self.served(snapshotPath)
        #expect(servedByTheDelta.values.filter { $0.hasSuffix(" Обновлено.") }.count == 13)
        #expect(try await clock.waitForSleepers(1), "past 5%: the merge waits for the daemon to be idle")
        clock.advance(by: .seconds(5))
        #expect(try await log.waitFor("is a whole file"))

        let merged = try MappedSnapshot(path: snapshotPath).header
        #expect(merged.formatVersion == 2)
        #expect(merged.generation == delta.generation + 1)
        #expect(try Self.served(snapshotPath) == servedByTheDelta, "the same templates")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.contains(".base-") }.isEmpty)
        #expect(reader.reloadIfChanged() == .switched(from: delta.generation - 1, to: merged.generation),
                "a reader switches to it as to any generation")
        task.cancel()
        _ = await task.result
    }
}
