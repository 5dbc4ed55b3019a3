import Embedding
import Foundation
import Logging
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SQLiteStore
import Synchronization
import SystemIO
@testable import SyncEngine
import TemplateStore
import Testing
import TestSupport

/// A large snapshot's edit is published as a delta over a base file (format version 3): the
/// delta's own rows and the base rows it removes. What readers see must be what a whole file of
/// the same templates shows, score for score, and a delta that grows is merged into a whole file.
@Suite("delta publication")
struct DeltaPublicationTests {
    /// Deltas over a base of at least 100 templates (the fixture has 201), merged past 10%.
    static let policy = DeltaPolicy(minimumBaseTemplates: 100, maximumShare: 0.1)
    static let embedder = LocalHashingEmbedder(dimension: 256)

    static func fixtureSync(in directory: TemporaryDirectory, syncsRepeatedly: Bool) throws
        -> (rows: [[String]], faq: URL, store: SQLiteTemplateStore, coordinator: SyncCoordinator) {
        let faq = directory.file("faq.xlsx")
        let rows = try PatchedPublicationTests.fixtureRows()
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        let store = SQLiteTemplateStore(path: directory.path("store.db"))
        let coordinator = SyncCoordinator(store: store, embedder: embedder, snapshotPath: directory.path("faqsync.snapshot"),
                                          source: SyncSource(faqURL: faq), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                          syncsRepeatedly: syncsRepeatedly, deltaPolicy: policy)
        return (rows, faq, store, coordinator)
    }

    /// Every template as the snapshot holds it, by id (a delta numbers them in another order).
    static func templates(_ snapshot: MappedSnapshot) -> [String: String] {
        let contents = snapshot.contents
        var byID: [String: String] = [:]
        for index in 0..<contents.count {
            let fields: [SnapshotLayout.Field] = [.category, .subcategory, .question, .answer, .metadata]
            byID[contents.string(index, .id)] = fields.map { contents.string(index, $0) }.joined(separator: "|") + "|"
                + contents.vector(index).map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
        }
        return byID
    }

    /// Hits of questions in every mode, with their exact scores, in a form two snapshots compare by.
    static func answers(_ snapshot: MappedSnapshot, questions: [String]) async throws -> [String] {
        var lines: [String] = []
        for question in questions {
            let vector = try await embedder.embed([question], as: .query)[0]
            for mode in SearchMode.allCases {
                let hits = try snapshot.search(SearchQuery(text: question, vector: vector, mode: mode), k: 10).results
                lines.append("\(mode) \(question): " + hits.map {
                    "\($0.id) \($0.score.bitPattern) \($0.dense.map { String($0.bitPattern) } ?? "-") \($0.lexical.map { String($0.bitPattern) } ?? "-")"
                }.sorted().joined(separator: "; "))
            }
        }
        return lines
    }

    /// What the coordinator published shows what a whole file of the store's current version
    /// shows: the same templates, and the same hits with the same scores in every mode.
    static func expectSameAsWhole(_ label: String, in directory: TemporaryDirectory, store: SQLiteTemplateStore,
                                  coordinator: SyncCoordinator, questions: [String]) async throws {
        let full = directory.path("full-\(label).snapshot")
        // Written, not recorded as the publication: the coordinator's next edit is of its own file.
        let version = try #require(try await store.currentVersion())
        try await SnapshotPublication(store: store, path: full).writeUnrecorded(version: version)
        let published = try MappedSnapshot(path: coordinator.publication.path), whole = try MappedSnapshot(path: full)
        #expect(whole.header.formatVersion == 2)
        #expect(published.contents.count == whole.contents.count, "\(label)")
        #expect(Self.templates(published) == Self.templates(whole), "\(label)")
        #expect(try await Self.answers(published, questions: questions) == Self.answers(whole, questions: questions), "\(label)")
        for id in Self.templates(whole).keys.sorted().prefix(20) {
            #expect(try published.template(id: id) == whole.template(id: id))
        }
    }

    static func baseFiles(in directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("faqsync.snapshot.base-") }.sorted()
    }

    @Test(arguments: [false, true])
    func aDeltaShowsWhatAWholeFileShowsUntilItIsMerged(syncsRepeatedly: Bool) async throws {
        let directory = try TemporaryDirectory("delta")
        defer { directory.remove() }
        var (rows, faq, store, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: syncsRepeatedly)
        let first = try #require(try await coordinator.sync().publication)
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.formatVersion == 2, "the first publication is whole")
        let questions = Array(rows.prefix(12).map { $0[2] }) + ["заблокировали карту что делать", "перевод за границу комиссия"]

        func expectSameAsWhole(_ label: String) async throws {
            try await Self.expectSameAsWhole(label, in: directory, store: store, coordinator: coordinator, questions: questions)
        }

        // One of each change: fields only, a new answer, a row deleted, a row added.
        rows[3][3] = "99"
        rows[10][5] += " Срочно."
        rows.remove(at: 20)
        rows.append(["Карты", "Новая", "Как оформить карту «ЧЕРЕПАХА»?", "1", "Все", "В любом отделении."])
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        let second = try #require(try await coordinator.sync().publication)
        let delta = try MappedSnapshot(path: coordinator.publication.path)
        #expect(delta.header.formatVersion == 3)
        #expect(delta.header.base?.generation == first.generation, "a delta over the first file")
        #expect(delta.contents.top.count == 3, "its own rows: the changed, the new, the field update")
        #expect(second.templateCount == delta.contents.count)
        #expect(try Self.baseFiles(in: directory) == ["faqsync.snapshot.base-\(first.generation)"])
        try await expectSameAsWhole("first delta")

        // A second edit, of a row the delta holds and of a base row: a delta over the same base.
        rows[10][5] += " Ещё раз."
        rows[40][2] += " (уточнение)"
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try #require(try await coordinator.sync().publication)
        let again = try MappedSnapshot(path: coordinator.publication.path)
        #expect(again.header.base?.generation == first.generation)
        #expect(again.contents.top.count == 4)
        try await expectSameAsWhole("second delta")

        // Past 10% of the base, the delta is merged: a whole file, and no base left beside it.
        for index in 50..<75 { rows[index][5] += " Обновлено." }
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try #require(try await coordinator.sync().publication)
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.formatVersion == 2)
        #expect(try Self.baseFiles(in: directory).isEmpty)
        try await expectSameAsWhole("merged")
    }

    /// A reader serving the whole file maps only the delta when it switches: the base is the file
    /// it serves, under its second name.
    @Test func aReaderSwitchingToADeltaSharesTheBaseItServes() async throws {
        let directory = try TemporaryDirectory("delta-reader")
        defer { directory.remove() }
        var (rows, faq, _, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: true)
        _ = try await coordinator.sync()
        let live = try LiveSnapshot(path: coordinator.publication.path)
        let served = try #require(live.current)
        rows[10][5] += " Срочно."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try await coordinator.sync()
        #expect(live.reloadIfChanged() == .switched(from: served.generation, to: served.generation + 1))
        let delta = try #require(live.current)
        #expect(delta.contents.isDelta)
        #expect(delta.contents.base?.buffer.baseAddress == served.contents.top.buffer.baseAddress, "the same mapping, not a second one")
        #expect(try delta.search(SearchQuery(text: rows[10][2], vector: nil, mode: .lexical), k: 1).results.first?.answer == rows[10][5])
    }

    /// Where the base cannot be given its name (here a directory is in the way; elsewhere a
    /// filesystem without hard links), the edit is published as a whole file: a delta saves
    /// time, it is never a reason for a sync to fail.
    @Test func anEditIsPublishedWholeWhereADeltaCannotBe() async throws {
        let directory = try TemporaryDirectory("delta-fallback")
        defer { directory.remove() }
        var (rows, faq, _, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: true)
        let first = try #require(try await coordinator.sync().publication)
        let path = coordinator.publication.path
        try FileManager.default.createDirectory(atPath: SnapshotLayout.basePath(of: path, generation: first.generation),
                                                withIntermediateDirectories: false)
        rows[10][5] += " Срочно."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        let second = try await coordinator.sync()
        #expect(second.publication.map { $0.generation > first.generation } == true)
        let published = try MappedSnapshot(path: path)
        #expect(published.header.formatVersion == 2)
        #expect(try published.search(SearchQuery(text: rows[10][2], vector: nil, mode: .lexical), k: 1).results.first?.answer == rows[10][5])
    }

    /// `snapshot install` of a delta (its base beside it) publishes the whole snapshot the two
    /// make, in the writer's order, so the next edit can be a delta over it.
    @Test func installingADeltaPublishesTheWholeSnapshot() async throws {
        let directory = try TemporaryDirectory("delta-install")
        defer { directory.remove() }
        var (rows, faq, _, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: false)
        _ = try await coordinator.sync()
        rows.remove(at: 7)
        rows[10][5] += " Срочно."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try await coordinator.sync()
        let delta = try MappedSnapshot(path: coordinator.publication.path)
        #expect(delta.contents.isDelta)
        let installedPath = directory.path("installed.snapshot")
        let installation = try SnapshotFileWriter(path: installedPath).install(from: coordinator.publication.path)
        #expect(installation.templates == 200)
        let installed = try MappedSnapshot(path: installedPath)
        #expect(installed.header.formatVersion == 2)
        #expect(Self.templates(installed) == Self.templates(delta))
        let ids = (0..<installed.contents.count).map { installed.contents.string($0, .id) }
        #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "in the writer's order")
    }

    /// A delta is only as good as its base: one whose base is gone or is another file is refused
    /// with its code, and the reader keeps serving what it has.
    @Test func aDeltaWithoutItsBaseIsRefusedAndTheReaderKeepsServing() async throws {
        let directory = try TemporaryDirectory("delta-base")
        defer { directory.remove() }
        var (rows, faq, _, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: false)
        let first = try #require(try await coordinator.sync().publication)
        let path = coordinator.publication.path
        let live = try LiveSnapshot(path: path)
        let kept = directory.path("kept.snapshot")
        try FileManager.default.copyItem(atPath: path, toPath: kept)
        rows[10][5] += " Срочно."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try await coordinator.sync()
        let basePath = SnapshotLayout.basePath(of: path, generation: first.generation)

        try FileManager.default.removeItem(atPath: basePath)
        #expect { _ = try MappedSnapshot(path: path) } throws: { ($0 as? SnapshotError)?.code == .baseMismatch }
        #expect(live.reloadIfChanged() == .rejected(.baseMismatch))
        #expect(live.current?.generation == first.generation)

        // Another valid whole file under the base's name (a restored backup of another FAQ).
        var other = rows
        other[0][5] = "Совсем другой ответ."
        let otherPath = directory.path("other.snapshot")
        let otherStore = SQLiteTemplateStore(path: directory.path("other.db"))
        try XLSXWriter.table([PatchedPublicationTests.header] + other).write(to: directory.file("other.xlsx"))
        let otherCoordinator = SyncCoordinator(store: otherStore, embedder: Self.embedder, snapshotPath: otherPath,
                                               source: SyncSource(faqURL: directory.file("other.xlsx")),
                                               logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try await otherCoordinator.sync()
        try FileManager.default.copyItem(atPath: otherPath, toPath: basePath)
        #expect { _ = try MappedSnapshot(path: path) } throws: { ($0 as? SnapshotError)?.code == .baseMismatch }

        // A delta under the base's name: a base must be whole, never a chain of files.
        try FileManager.default.removeItem(atPath: basePath)
        try FileManager.default.copyItem(atPath: path, toPath: basePath)
        #expect { _ = try MappedSnapshot(path: path) } throws: { ($0 as? SnapshotError)?.code == .baseMismatch }

        // The file that was the base, back under its name: the delta is whole again.
        try FileManager.default.removeItem(atPath: basePath)
        try FileManager.default.copyItem(atPath: kept, toPath: basePath)
        #expect(try MappedSnapshot(path: path).contents.count == 201)
    }

    /// A delta's own header and removed rows are checked like any other part of the file.
    @Test func aDeltaWithDamagedFieldsIsRefused() async throws {
        let directory = try TemporaryDirectory("delta-damage")
        defer { directory.remove() }
        let base = directory.path("faqsync.snapshot")
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 2)
        func template(_ id: String) -> SnapshotTemplate {
            SnapshotTemplate(id: id, category: "c", subcategory: "s", question: "вопрос \(id)", answer: "ответ", metadataJSON: "[]", vector: [1, 0])
        }
        let writer = SnapshotFileWriter(path: base)
        _ = try writer.publish(model: model, templates: (10..<30).map { template("t\($0)") }, minimumGeneration: 1)
        let mapping = try SnapshotMapping(path: base)
        let header = mapping.view.header
        /// A delta over the base with these removed rows, read back (or its error code).
        func delta(removed: [UInt8], damage: ((inout [UInt8]) -> Void)? = nil) throws -> SnapshotError.Code? {
            let path = directory.path("delta-\(UUID().uuidString.prefix(6)).snapshot")
            try FileManager.default.linkItem(atPath: base, toPath: SnapshotLayout.basePath(of: path, generation: header.generation))
            _ = try SnapshotFileWriter(path: path).publishDelta(
                model: model, rows: SnapshotRows([template("t99")]),
                over: DeltaBase(generation: header.generation, checksum: header.checksum, removedRows: removed, keptCount: 19,
                                keptQuestionLength: 19, keptAnswerLength: 19),
                base: mapping, minimumGeneration: header.generation + 1)
            if let damage {
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                damage(&bytes)
                try FileManager.default.removeItem(atPath: path)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }
            do { _ = try SnapshotMapping(path: path) } catch let error as SnapshotError { return error.code }
            return nil
        }
        #expect(try delta(removed: [1, 0, 0]) == nil, "20 rows: 3 bytes, row 0 removed")
        #expect(try delta(removed: [1, 0]) == .inconsistent, "a bitmap too short")
        #expect(try delta(removed: [1, 0, 0x10]) == .inconsistent, "row 20 of 20 removed")
        // Header fields outside the checksum.
        #expect(try delta(removed: [1, 0, 0]) { $0.replaceSubrange(216..<224, with: [UInt8](repeating: 0xFF, count: 8)) } == .inconsistent,
                "a base generation not older than the delta's")
        #expect(try delta(removed: [1, 0, 0]) { $0.replaceSubrange(248..<252, with: [0, 0, 0xC0, 0x7F]) } == .inconsistent,
                "an average length that is not a number")
        #expect(try delta(removed: [1, 0, 0]) { $0[224] ^= 1 } == .baseMismatch, "another base checksum")
    }

    /// The daemon's merge when idle: a delta past the idle share (5% of the base) is merged into
    /// a whole file of the same templates, a new generation recorded as the store's publication;
    /// a merge told to stop before it starts leaves the delta serving and nothing behind.
    @Test func anIdleMergePublishesTheSameTemplatesWhole() async throws {
        let directory = try TemporaryDirectory("delta-idle-merge")
        defer { directory.remove() }
        var (rows, faq, store, coordinator) = try Self.fixtureSync(in: directory, syncsRepeatedly: true)
        let questions = Array(rows.prefix(12).map { $0[2] }) + ["заблокировали карту что делать"]
        _ = try await coordinator.sync()
        #expect(await !coordinator.publication.mergeDueWhenIdle(), "a whole file")
        #expect(try await coordinator.mergeSnapshot() == nil, "a whole file has nothing to merge")

        rows[10][5] += " Срочно."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try await coordinator.sync()
        #expect(await !coordinator.publication.mergeDueWhenIdle(), "one row of 201 is below the idle share")

        for index in 50..<62 { rows[index][5] += " Обновлено." }
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        let delta = try #require(try await coordinator.sync().publication)
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.formatVersion == 3, "13 rows of 201: below the hard limit")
        #expect(await coordinator.publication.mergeDueWhenIdle(), "13 rows of 201: past the idle share")

        let stop = CancellationFlag()
        stop.raise()
        await #expect(throws: CancellationError.self) { try await coordinator.mergeSnapshot(stop: stop) }
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.generation == delta.generation, "the delta keeps serving")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasSuffix(".tmp") }.isEmpty)

        let merged = try #require(try await coordinator.mergeSnapshot())
        #expect(merged.generation == delta.generation + 1)
        #expect(merged.templateCount == delta.templateCount)
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.formatVersion == 2)
        #expect(try Self.baseFiles(in: directory).isEmpty, "no delta names the base any more")
        #expect(try await store.lastSnapshotPublication()?.generation == merged.generation)
        #expect(try await coordinator.publication.isCurrent(), "the store's publication: the next sync of the same sheet does nothing")
        #expect(await !coordinator.publication.mergeDueWhenIdle())
        #expect(try await coordinator.mergeSnapshot() == nil)
        try await Self.expectSameAsWhole("idle merge", in: directory, store: store, coordinator: coordinator, questions: questions)

        // The next edit is a delta over the merged file.
        rows[100][5] += " Ещё раз."
        try XLSXWriter.table([PatchedPublicationTests.header] + rows).write(to: faq)
        _ = try await coordinator.sync()
        #expect(try MappedSnapshot(path: coordinator.publication.path).header.base?.generation == merged.generation)
        try await Self.expectSameAsWhole("after the merge", in: directory, store: store, coordinator: coordinator, questions: questions)
    }
}

/// A merge in the background gives way to a save: the writer checks its stop every few thousand
/// rows, and once more before the new file would replace the old one.
@Suite("a publication told to stop")
struct StoppedPublicationTests {
    @Test func theEncoderStopsAtACheckpointWhileItWritesTheRows() throws {
        let directory = try TemporaryDirectory("stopped-encoder")
        defer { directory.remove() }
        let templates = GenerationSnapshots.templates(generation: 1, count: 20_000)
        let checkpoints = Mutex(0)
        let descriptor = open(directory.path("partial"), O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(throws: CancellationError.self) {
            try SnapshotEncoder.write(to: descriptor, path: directory.path("partial"), generation: 1, createdMillis: 0,
                                      model: GenerationSnapshots.model, rows: SnapshotRows(templates),
                                      checkpoint: {
                                          let count = checkpoints.withLock { $0 += 1; return $0 }
                                          if count == 3 { throw CancellationError() }
                                      },
                                      lexicalSection: { nil })
        }
        #expect(checkpoints.withLock { $0 } == 3, "checked while the rows were written, stopped at the first that threw")
        var info = stat()
        #expect(fstat(descriptor, &info) == 0)
        let wholeVectors = 20_000 * GenerationSnapshots.dimension * 4
        #expect(Int(info.st_size) < wholeVectors, "stopped before the vectors were all written")
    }

    @Test func aWriterToldToStopLeavesTheFileAtThePath() throws {
        let directory = try TemporaryDirectory("stopped-writer")
        defer { directory.remove() }
        let writer = SnapshotFileWriter(path: directory.path("faqsync.snapshot"))
        let first = try writer.publish(model: GenerationSnapshots.model, templates: GenerationSnapshots.templates(generation: 1, count: 50),
                                       minimumGeneration: 1)
        let stop = CancellationFlag()
        stop.raise()
        #expect(throws: CancellationError.self) {
            try writer.publish(model: GenerationSnapshots.model, rows: SnapshotRows(GenerationSnapshots.templates(generation: 2, count: 50)),
                               minimumGeneration: 1, stop: stop)
        }
        #expect(writer.existingGeneration() == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["faqsync.snapshot"])
    }
}
