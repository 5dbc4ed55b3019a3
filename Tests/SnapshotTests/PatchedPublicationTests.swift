import Embedding
import Foundation
import Logging
import Reconciliation
import SnapshotFormat
import SnapshotPublishing
import SpreadsheetReading
import SQLiteStore
import Synchronization
@testable import SyncEngine
import TemplateStore
import Testing
import TestSupport

/// After a sync, the snapshot is the previous one patched with the sync's changes, not the whole
/// version read back from the store. The patched file must hold exactly what a full publication
/// of the same store state holds.
@Suite("patched publication")
struct PatchedPublicationTests {
    static let header = ["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Целевая аудитория", "Шаблонный ответ"]

    static func fixtureRows() throws -> [[String]] {
        try SpreadsheetReader().read(Fixtures.faq).rows.map { row in
            let meta = Dictionary(uniqueKeysWithValues: row.metadata.map { ($0.name, $0.value) })
            return [row.category, row.subcategory, row.question, meta["Приоритет"] ?? "", meta["Целевая аудитория"] ?? "", row.answer]
        }
    }

    static func contents(_ path: String) throws -> [String] {
        // The view reads the mapping's memory: keep the mapping alive while it is read.
        let mapping = try SnapshotMapping(path: path)
        defer { withExtendedLifetime(mapping) {} }
        let view = mapping.view
        #expect(view.count > 0)
        // The lexical section too, byte for byte: it is rebuilt from the templates either way.
        let lexical = view.header.lexicalOffset.map { offset in
            Array(view.buffer[offset..<(offset + (view.header.lexicalLength ?? 0))]).map { String($0, radix: 16) }.joined()
        } ?? "none"
        return ["lexical: \(lexical)"] + (0..<view.count).map { index in
            let fields: [SnapshotLayout.Field] = [.id, .category, .subcategory, .question, .answer, .metadata]
            return fields.map { view.string(index, $0) }.joined(separator: "|") + "|" + view.vector(index).map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
        }
    }

    /// The fixture's rows written as the FAQ in `directory`, a store that counts whole-version
    /// reads, and the coordinator that syncs them (not yet run).
    static func fixtureSync(in directory: TemporaryDirectory, syncsRepeatedly: Bool) throws
        -> (rows: [[String]], faq: URL, store: ReadCountingStore, coordinator: SyncCoordinator) {
        let faq = directory.file("faq.xlsx")
        let rows = try fixtureRows()
        try XLSXWriter.table([header] + rows).write(to: faq)
        let store = ReadCountingStore(SQLiteTemplateStore(path: directory.path("store.db")))
        let coordinator = SyncCoordinator(store: store, embedder: LocalHashingEmbedder(dimension: 256), snapshotPath: directory.path("faqsync.snapshot"),
                                          source: SyncSource(faqURL: faq), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                          syncsRepeatedly: syncsRepeatedly)
        return (rows, faq, store, coordinator)
    }

    /// Both ways: a command's coordinator maps the previous file as the base; the daemon's
    /// (`syncsRepeatedly`) keeps the file it published mapped and uses it.
    @Test(arguments: [false, true])
    func aPatchedSnapshotEqualsAFullPublicationAndReadsNoVersionBack(syncsRepeatedly: Bool) async throws {
        let directory = try TemporaryDirectory("patched")
        defer { directory.remove() }
        let setup = try Self.fixtureSync(in: directory, syncsRepeatedly: syncsRepeatedly)
        var rows = setup.rows
        let (faq, store, coordinator) = (setup.faq, setup.store, setup.coordinator)
        let first = try await coordinator.sync()
        #expect(first.publication != nil)
        #expect(store.versionReads == 1, "the first snapshot is the whole version")

        // One of each change: a new priority (fields only), a new answer (new vector), a row
        // deleted, a row added.
        rows[3][3] = "99"
        rows[10][5] += " Срочно."
        rows.remove(at: 20)
        rows.append(["Карты", "Новая", "Как оформить карту «ЧЕРЕПАХА»?", "1", "Все", "В любом отделении."])
        try XLSXWriter.table([Self.header] + rows).write(to: faq)
        let second = try await coordinator.sync()
        let counts = (second.new, second.modified, second.metadataOnly, second.deleted)
        #expect(counts == (1, 1, 1, 1), "\(counts)")
        #expect(second.publication.map { $0.generation > first.publication!.generation } == true)
        #expect(store.versionReads == 1, "patched from the previous snapshot: no version read back")

        // A sync that changes nothing writes no snapshot at all.
        let third = try await coordinator.sync()
        #expect(third.publication == nil)

        let full = directory.path("full.snapshot")
        _ = try await SnapshotPublication(store: store, path: full).publishCurrentVersion()
        #expect(try Self.contents(coordinator.publication.path) == Self.contents(full))
    }

    /// The base is merged with the changes when it is in the writer's order, and sorted whole
    /// when it is not: both give the same templates, in id order, each with the terms it may
    /// reuse.
    @Test func aBaseOutOfOrderIsPatchedAsOneInOrder() throws {
        let directory = try TemporaryDirectory("patched-order")
        defer { directory.remove() }
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 2)
        func template(_ id: String, _ answer: String = "answer", vector: [Float] = [1, 0]) -> SnapshotTemplate {
            SnapshotTemplate(id: id, category: "c", subcategory: "s", question: "q \(id)", answer: answer, metadataJSON: "[]", vector: vector)
        }
        func stored(_ id: String, _ answer: String, metadata: String = "[]", vector: [Float] = []) -> StoredTemplate {
            StoredTemplate(id: id, category: "c", subcategory: "s", question: "q \(id)", answer: answer, metadataJSON: metadata,
                           inputHash: "h", contentHash: "h", vector: vector)
        }
        var changes = StoreChanges(model: ModelIdentity(name: "m", version: "1", dimension: 2),
                                   run: SyncRunRecord(startedAt: Date(), finishedAt: Date(), sourcePath: "-", sourceSHA256: nil, outcome: .succeeded))
        changes.inserts = [stored("a0", "new", vector: [0, 1]), stored("zz", "new", vector: [0, 1])]
        changes.vectorUpdates = [stored("m", "changed", vector: [0.5, 0.5])]
        changes.fieldUpdates = [stored("k", "answer", metadata: #"[{"name":"p","value":"1"}]"#)]
        changes.deletions = ["d"]
        var results: [[String]] = []
        for (name, ids) in [("sorted", ["b", "d", "k", "m", "x"]), ("shuffled", ["x", "k", "b", "m", "d"])] {
            let path = directory.path("\(name).snapshot")
            _ = try SnapshotFileWriter(path: path).publish(model: model, templates: ids.map { template($0, vector: [2, 2]) }, minimumGeneration: 1)
            let mapping = try SnapshotMapping(path: path)
            let rows = try SnapshotPublication.patch(mapping, with: changes)
            let view = mapping.view
            // Each row as the file will hold it, with the base row its terms come from.
            let templates = rows.rows.map { row -> SnapshotTemplate in
                switch row {
                case .base(let index): SnapshotTemplate(view: view, index: index)
                case .template(let template, _): template
                }
            }
            #expect(templates.map(\.id) == ["a0", "b", "k", "m", "x", "zz"])
            // Untouched templates are the base's rows, copied and never decoded; the others in hand.
            #expect(rows.rows.map { if case .base = $0 { true } else { false } } == [false, true, false, false, true, false])
            // Unchanged and field-updated templates keep their terms (and vectors); the others are new.
            let reused = rows.rows.map { row -> String? in
                switch row {
                case .base(let index): view.string(index, .id)
                case .template(_, let termsAt): termsAt.map { view.string($0, .id) }
                }
            }
            #expect(reused == [nil, "b", "k", nil, "x", nil])
            #expect(templates.first { $0.id == "k" }?.vector == [2, 2])
            #expect(templates.first { $0.id == "k" }?.metadataJSON == #"[{"name":"p","value":"1"}]"#)
            results.append(templates.map { "\($0.id) \($0.answer) \($0.vector)" })
        }
        #expect(results[0] == results[1])

        // A field update of a template the base does not hold cannot be applied.
        changes.fieldUpdates = [stored("nowhere", "answer")]
        let mapping = try SnapshotMapping(path: directory.path("sorted.snapshot"))
        #expect(throws: SnapshotError.self) { try SnapshotPublication.patch(mapping, with: changes) }
        #expect(throws: SnapshotError.self) { try SnapshotPublication.patchBySorting(mapping, with: changes) }
    }

    /// Rows copied from a base are written as the templates they hold: a file written from base
    /// rows (in runs, broken by templates in hand, one out of the base's order, one from a version
    /// 1 base without terms) is byte for byte the file written from the same templates decoded.
    @Test func baseRowsAreWrittenAsTheTemplatesTheyHold() throws {
        let directory = try TemporaryDirectory("patched-rows")
        defer { directory.remove() }
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 3)
        let base = (0..<8).map { index in
            SnapshotTemplate(id: "t\(index)", category: "Карты", subcategory: index.isMultiple(of: 2) ? "Лимиты" : "",
                             question: "как узнать лимит \(index)", answer: "ответ \(index) — см. «Лимиты»",
                             metadataJSON: #"[{"name":"p","value":"\#(index)"}]"#, vector: [Float(index), 1, -0.5])
        }
        let inHand = SnapshotTemplate(id: "t3a", category: "Вклады", subcategory: "", question: "новый вопрос", answer: "новый ответ",
                                      metadataJSON: "[]", vector: [0.25, 0.5, 0.75])
        let when = Date(timeIntervalSince1970: 1_800_000_000)
        for lexicalIndex in [true, false] {
            let basePath = directory.path("base-\(lexicalIndex).snapshot")
            _ = try SnapshotFileWriter(path: basePath).publish(model: model, templates: base, minimumGeneration: 1, lexicalIndex: lexicalIndex)
            let mapping = try SnapshotMapping(path: basePath)
            let rows: [SnapshotRows.Row] = [.base(0), .base(1), .base(2), .base(3), .template(inHand, termsAt: nil),
                                            .base(5), .base(4), .template(base[6], termsAt: 6), .base(7)]
            let decoded = rows.map { row -> SnapshotTemplate in
                switch row {
                case .base(let index): SnapshotTemplate(view: mapping.view, index: index)
                case .template(let template, _): template
                }
            }
            let copied = directory.path("copied-\(lexicalIndex).snapshot"), written = directory.path("written-\(lexicalIndex).snapshot")
            _ = try SnapshotFileWriter(path: copied).publish(model: model, rows: SnapshotRows(base: mapping, rows: rows), minimumGeneration: 1, now: when)
            _ = try SnapshotFileWriter(path: written).publish(model: model, templates: decoded, minimumGeneration: 1, now: when)
            #expect(try Data(contentsOf: URL(fileURLWithPath: copied)) == Data(contentsOf: URL(fileURLWithPath: written)))
            #expect(try Self.contents(copied) == Self.contents(written))
        }
    }

    /// A base written in place after it was mapped is no source to copy from: the publication
    /// fails and the file it would have replaced stays as it was.
    @Test func aBaseChangedWhileCopiedIsNotPublished() throws {
        let directory = try TemporaryDirectory("patched-torn")
        defer { directory.remove() }
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 2)
        let templates = ["a", "b"].map {
            SnapshotTemplate(id: $0, category: "c", subcategory: "s", question: "q \($0)", answer: "answer", metadataJSON: "[]", vector: [1, 0])
        }
        let path = directory.path("faqsync.snapshot")
        let writer = SnapshotFileWriter(path: path)
        _ = try writer.publish(model: model, templates: templates, minimumGeneration: 1)
        // An old modification time, so that the write below moves it whatever the clock's grain.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)], ofItemAtPath: path)
        let mapping = try SnapshotMapping(path: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let copy = directory.path("copy.snapshot")
        #expect(try SnapshotFileWriter(path: copy).publish(model: model, rows: SnapshotRows(base: mapping, rows: [.base(0), .base(1)]),
                                                           minimumGeneration: 1) == 1)

        #expect(chmod(path, 0o640) == 0)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(mapping.view.header.stringsOffset))
        try handle.write(contentsOf: Data("z".utf8))   // the first template's id, in place
        try handle.close()
        let changed = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(changed != before)
        let error = try #require(throws: SnapshotError.self) {
            try writer.publish(model: model, rows: SnapshotRows(base: mapping, rows: [.base(0), .base(1)]), minimumGeneration: 1)
        }
        #expect(error.code == .changedUnderReader)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == changed, "nothing replaced the file")
    }

    /// The daemon's kept snapshot is its base only while it is unchanged: a file written in place
    /// after it was published (a byte of a template's text changed) is not patched but replaced
    /// by a whole publication of the store, so nothing written into it reaches the next file.
    @Test func aKeptSnapshotWrittenInPlaceIsNotTheNextBase() async throws {
        let directory = try TemporaryDirectory("patched-kept")
        defer { directory.remove() }
        let setup = try Self.fixtureSync(in: directory, syncsRepeatedly: true)
        var rows = setup.rows
        let (faq, store, coordinator) = (setup.faq, setup.store, setup.coordinator)
        let path = coordinator.publication.path
        _ = try await coordinator.sync()
        // The last byte of the strings section: the last template's metadata.
        let stringsEnd = try SnapshotMapping(path: path).view.header.stringsOffset + SnapshotMapping(path: path).view.header.stringsLength - 1
        #expect(chmod(path, 0o640) == 0)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(stringsEnd))
        try handle.write(contentsOf: Data("~".utf8))
        try handle.close()

        rows[10][5] += " Срочно."
        try XLSXWriter.table([Self.header] + rows).write(to: faq)
        let second = try await coordinator.sync()
        #expect(second.modified == 1)
        #expect(store.versionReads == 2, "the damaged file was no base: the version was read back whole")
        let full = directory.path("full.snapshot")
        _ = try await SnapshotPublication(store: store, path: full).publishCurrentVersion()
        #expect(try Self.contents(path) == Self.contents(full))
    }

    /// The writer takes the generation it replaces from the base it was given only while that
    /// base is still the file at the path; a file put there since counts, as always.
    @Test func theGenerationComesFromTheBaseOnlyWhileItIsTheFileAtThePath() throws {
        let directory = try TemporaryDirectory("patched-generation")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 2)
        let templates = [SnapshotTemplate(id: "a", category: "c", subcategory: "s", question: "q", answer: "a", metadataJSON: "[]", vector: [1, 0])]
        let writer = SnapshotFileWriter(path: path)
        #expect(try writer.publish(model: model, templates: templates, minimumGeneration: 5) == 5)
        let base = try SnapshotMapping(path: path)
        #expect(try writer.publish(model: model, rows: SnapshotRows(templates: templates, base: base, termsAt: [0]),
                                   minimumGeneration: 1) == 6)
        // Another file (generation 9) is renamed into place: the stale base does not speak for it.
        let stale = try SnapshotMapping(path: path)
        let other = directory.path("other.snapshot")
        #expect(try SnapshotFileWriter(path: other).publish(model: model, templates: templates, minimumGeneration: 9) == 9)
        #expect(rename(other, path) == 0)
        #expect(try writer.publish(model: model, rows: SnapshotRows(templates: templates, base: stale, termsAt: [0]),
                                   minimumGeneration: 1) == 10)
        // A whole publication given the file the caller mapped, current or since replaced.
        #expect(try writer.publish(model: model, templates: templates, minimumGeneration: 1,
                                   current: try SnapshotMapping(path: path)) == 11)
        #expect(try SnapshotFileWriter(path: other).publish(model: model, templates: templates, minimumGeneration: 20) == 20)
        #expect(rename(other, path) == 0)
        #expect(try writer.publish(model: model, templates: templates, minimumGeneration: 1, current: stale) == 21)
    }
}

/// A real store that counts how often a whole version is read back; everything else goes
/// straight through.
final class ReadCountingStore: TemplateStore {
    let base: any TemplateStore
    private let reads = Mutex(0)
    init(_ base: any TemplateStore) { self.base = base }
    var versionReads: Int { reads.withLock { $0 } }

    var location: String { base.location }
    func exists() -> Bool { base.exists() }
    func close() async { await base.close() }
    func versions() async throws -> [StoredVersion] { try await base.versions() }
    func templateStates(versionID: Int64) async throws -> [String: StoredTemplateState] { try await base.templateStates(versionID: versionID) }
    func templates(versionID: Int64) async throws -> [StoredTemplate] {
        reads.withLock { $0 += 1 }
        return try await base.templates(versionID: versionID)
    }
    func cachedVectors(model: ModelIdentity, inputHashes: [String]) async throws -> [String: [Float]] {
        try await base.cachedVectors(model: model, inputHashes: inputHashes)
    }
    func cache(model: ModelIdentity, vectors: [(inputHash: String, vector: [Float])]) async throws { try await base.cache(model: model, vectors: vectors) }
    func apply(_ changes: StoreChanges) async throws -> AppliedChanges { try await base.apply(changes) }
    func setCurrentVersion(_ id: Int64) async throws -> StoredVersion { try await base.setCurrentVersion(id) }
    func removeNonCurrentVersions() async throws -> CleanReport { try await base.removeNonCurrentVersions() }
    func generation() async throws -> Int64 { try await base.generation() }
    func record(failedRun: SyncRunRecord) async throws { try await base.record(failedRun: failedRun) }
    func recentRuns(limit: Int, changesPerRun: Int) async throws -> [SyncRunRecord] { try await base.recentRuns(limit: limit, changesPerRun: changesPerRun) }
    func checkIntegrity() async throws -> IntegrityReport { try await base.checkIntegrity() }
    func quarantine(model: ModelIdentity) async throws -> [QuarantinedTemplate] { try await base.quarantine(model: model) }
    func lastSnapshotPublication() async throws -> PublishedSnapshot? { try await base.lastSnapshotPublication() }
    func record(snapshotPublication: PublishedSnapshot) async throws { try await base.record(snapshotPublication: snapshotPublication) }
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T { try await base.exclusively(body) }
}
