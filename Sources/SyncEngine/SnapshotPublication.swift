import Synchronization
import SystemIO
import Foundation
import SnapshotFormat
import SnapshotPublishing
import TemplateStore

/// Publishes the store's current version as a snapshot file and records the publication, with
/// the store generation it shows.
///
/// After a sync it patches the snapshot it published last with the sync's changes, instead of
/// reading the whole version back from the store: a one-row change reads one row's worth.
package struct SnapshotPublication: Sendable {
    package let store: any TemplateStore
    package let fileWriter: SnapshotFileWriter
    /// The file published last, kept mapped by a process that publishes again and again.
    private let lastPublished: LastPublishedSnapshot?
    /// When an edit is published as a delta over a base file.
    private let deltaPolicy: DeltaPolicy

    /// - Parameter keepsLastPublished: for the daemon: the file it publishes is mapped and
    ///   validated once, after the switch (off the path to searchable), and serves as the next
    ///   publication's base while it is still the file at the path, unchanged.
    package init(store: any TemplateStore, path: String, keepsLastPublished: Bool = false, deltaPolicy: DeltaPolicy = DeltaPolicy()) {
        self.store = store
        self.fileWriter = SnapshotFileWriter(path: path)
        lastPublished = keepsLastPublished ? LastPublishedSnapshot() : nil
        self.deltaPolicy = deltaPolicy
    }

    package var path: String { fileWriter.path }

    /// Writes a new generation of the current version, read whole from the store. Nil when the
    /// store has no current version.
    @discardableResult
    package func publishCurrentVersion() async throws -> PublishedSnapshot? {
        try await publishCurrentVersion(current: nil)
    }

    /// `publishCurrentVersion()` for a caller that already mapped the file at the path (`current`).
    private func publishCurrentVersion(current: SnapshotMapping?) async throws -> PublishedSnapshot? {
        guard store.exists(), let version = try await store.currentVersion() else { return nil }
        let storeGeneration = try await store.generation()
        let templates = try await store.templates(versionID: version.id).map(SnapshotTemplate.init)
        return try await publish(SnapshotRows(templates), version: version, storeGeneration: storeGeneration, current: current)
    }

    /// Whether the file at the path is the last one published and shows the store as it is now.
    package func isCurrent() async throws -> Bool {
        guard store.exists(), let version = try await store.currentVersion(), let last = try await store.lastSnapshotPublication()
        else { return false }
        let storeGeneration = try await store.generation()
        guard last.storeGeneration == storeGeneration else { return false }
        let fileWriter = self.fileWriter
        return shows(last, of: version, fileGeneration: try await BlockingExecutor.shared.run { fileWriter.existingGeneration() })
    }

    /// Whether the file at the path is `last`, the publication of `version` (the generation the
    /// file has, nil when it has none).
    private func shows(_ last: PublishedSnapshot, of version: StoredVersion, fileGeneration: UInt64?) -> Bool {
        last.versionID == version.id && last.path == fileWriter.path && fileGeneration == last.generation
    }

    /// After a sync: nothing when the file already shows the store as it is; otherwise the
    /// previous snapshot patched with `changes` when it shows the store as it was before them
    /// (`generationBefore`), else the whole version.
    package func publish(after changes: StoreChanges?, applied: AppliedChanges?, generationBefore: Int64) async throws -> PublishedSnapshot? {
        guard store.exists(), let version = try await store.currentVersion() else { return nil }
        let storeGeneration = try await store.generation()
        let last = try await store.lastSnapshotPublication()
        // Mapped (and checksummed) once: its generation decides, and it is the patch's base.
        let fileWriter = self.fileWriter, lastPublished = self.lastPublished
        let current = try await BlockingExecutor.shared.run { lastPublished?.mapping(at: fileWriter.path) ?? fileWriter.currentFile() }
        let fileGeneration = current?.view.header.generation
        if let last, last.storeGeneration == storeGeneration, shows(last, of: version, fileGeneration: fileGeneration) {
            return nil
        }
        if let changes, let applied, applied.versionID == version.id, let last, last.storeGeneration == generationBefore,
           shows(last, of: version, fileGeneration: fileGeneration), let current {
            if let editor = SnapshotEditor(current: current, policy: deltaPolicy), let edited = try? Self.edit(editor, with: changes) {
                do {
                    return try await publish(edited, version: version, storeGeneration: storeGeneration, current: current)
                } catch is SnapshotFileWriter.DeltaNotPossible {
                    // Published whole below: a delta is an optimisation, never a reason to fail.
                }
            }
            // Otherwise a whole file patches the previous one; a delta that cannot be edited is
            // published whole, from the store.
            if current.base == nil, let patched = try? Self.patch(current, with: changes) {
                return try await publish(.whole(patched), version: version, storeGeneration: storeGeneration, current: current)
            }
        }
        return try await publishCurrentVersion(current: current)
    }

    /// Whether the file this writer published last is a delta grown enough to merge while the
    /// writer is idle (`DeltaPolicy.idleMergeShare`). False for a process that does not keep
    /// what it published, and once the file at the path is another.
    package func mergeDueWhenIdle() async -> Bool {
        guard let lastPublished else { return false }
        let path = fileWriter.path, policy = deltaPolicy
        return (try? await BlockingExecutor.shared.run { lastPublished.mapping(at: path).map(policy.mergesWhenIdle) ?? false }) ?? false
    }

    /// Merges the delta at the path and its base into one whole file of the same templates, a new
    /// generation readers switch to as to any other. Nil, with nothing written, when the file is
    /// whole or does not show the store as it is (the next sync publishes anyway).
    ///
    /// - Parameter stop: raised (a save came in), the merge stops before the new file replaces
    ///   the delta and throws `CancellationError`; the delta keeps serving.
    package func mergeDelta(stop: CancellationFlag? = nil) async throws -> PublishedSnapshot? {
        guard store.exists(), let version = try await store.currentVersion(),
              let last = try await store.lastSnapshotPublication() else { return nil }
        let storeGeneration = try await store.generation()
        guard last.storeGeneration == storeGeneration else { return nil }
        let fileWriter = self.fileWriter, lastPublished = self.lastPublished
        let current = try await BlockingExecutor.shared.run { lastPublished?.mapping(at: fileWriter.path) ?? fileWriter.currentFile() }
        guard let current, current.base != nil, shows(last, of: version, fileGeneration: current.view.header.generation),
              let merged = SnapshotEditor(current: current, policy: deltaPolicy)?.merged() else { return nil }
        return try await publish(.whole(merged), version: version, storeGeneration: storeGeneration, current: current, stop: stop)
    }

    private func publish(_ rows: SnapshotRows, version: StoredVersion, storeGeneration: Int64,
                         current: SnapshotMapping? = nil) async throws -> PublishedSnapshot {
        try await publish(.whole(rows), version: version, storeGeneration: storeGeneration, current: current)
    }

    private func publish(_ edited: EditedSnapshot, version: StoredVersion, storeGeneration: Int64,
                         current: SnapshotMapping?, stop: CancellationFlag? = nil) async throws -> PublishedSnapshot {
        let last = try await store.lastSnapshotPublication()
        let model = SnapshotEncoder.Model(name: version.model.name, version: version.model.version, dimension: version.model.dimension,
                                          hybridDenseWeight: version.hybridDenseWeight)
        let fileWriter = self.fileWriter
        let now = Date()
        let minimumGeneration = (last?.generation ?? 0) + 1
        let (generation, count) = try await BlockingExecutor.shared.run {
            switch edited {
            case .whole(let rows):
                (try fileWriter.publish(model: model, rows: rows, minimumGeneration: minimumGeneration, now: now, current: current, stop: stop),
                 rows.count)
            case .delta(let rows, let delta, let base):
                (try fileWriter.publishDelta(model: model, rows: rows, over: delta, base: base, minimumGeneration: minimumGeneration, now: now),
                 delta.keptCount + rows.count)
            }
        }
        let record = PublishedSnapshot(generation: generation, versionID: version.id, templateCount: count,
                                               path: fileWriter.path, publishedAt: now, storeGeneration: storeGeneration)
        try await store.record(snapshotPublication: record)
        if let lastPublished {
            // Published already: a shutdown meanwhile only means the next base is mapped again.
            _ = try? await BlockingExecutor.shared.run { lastPublished.remember(path: fileWriter.path, generation: generation, known: current) }
        }
        return record
    }

    /// The snapshot `mapping` with `changes` applied, in the writer's order (by template id,
    /// bytewise): the templates the changes do not touch as rows of `mapping`, copied as they are
    /// there; the changed ones in hand, with the base's terms where their question and answer are
    /// the same. Throws when the file cannot serve as the base.
    ///
    /// The previous file is in that order already (the writer wrote it), so it is walked beside
    /// the touched ids, sorted alone, comparing bytes in the mapping: an untouched template is
    /// never decoded. A file out of order (written by something else) is sorted whole.
    static func patch(_ mapping: SnapshotMapping, with changes: StoreChanges) throws -> SnapshotRows {
        let view = mapping.view
        guard view.dimension == changes.model.dimension else {
            throw SnapshotError(code: .inconsistent, path: mapping.path, message: "the previous snapshot has another dimension")
        }
        // The order is checked before the walk: out of order, an id the base holds further on
        // would be taken for one it lacks.
        for index in 1..<max(1, view.count) where !SnapshotLayout.precedes(id: view.bytes(index - 1, .id), view.bytes(index, .id)) {
            return try patchBySorting(mapping, with: changes)
        }
        let touched = TouchedTemplates(changes, base: mapping)
        var rows: [SnapshotRows.Row] = []
        rows.reserveCapacity(view.count + touched.ids.count)
        var next = 0
        for index in 0..<view.count {
            let id = view.bytes(index, .id)
            // Touched ids before this one are not in the base: inserts.
            while next < touched.ids.count, touched.ids[next].utf8.withUnsafeBytes({ SnapshotLayout.precedes(id: $0, id) }) {
                if let row = try touched.row(for: touched.ids[next].id, baseIndex: nil) { rows.append(row) }
                next += 1
            }
            if next < touched.ids.count, touched.ids[next].utf8.withUnsafeBytes({ !SnapshotLayout.precedes(id: id, $0) }) {
                if let row = try touched.row(for: touched.ids[next].id, baseIndex: index) { rows.append(row) }
                next += 1
            } else {
                rows.append(.base(index))
            }
        }
        for (id, _) in touched.ids[next...] {
            if let row = try touched.row(for: id, baseIndex: nil) { rows.append(row) }
        }
        return SnapshotRows(base: mapping, rows: rows)
    }

    /// `patch` for a base that is not in the writer's order: every row by id, then sorted.
    static func patchBySorting(_ mapping: SnapshotMapping, with changes: StoreChanges) throws -> SnapshotRows {
        let view = mapping.view
        let touched = TouchedTemplates(changes, base: mapping)
        var byID: [String: SnapshotRows.Row] = [:]
        byID.reserveCapacity(view.count + touched.ids.count)
        var baseIndex: [String: Int] = [:]
        for index in 0..<view.count {
            let id = view.string(index, .id)
            byID[id] = .base(index)
            baseIndex[id] = index
        }
        for (id, _) in touched.ids { byID[id] = try touched.row(for: id, baseIndex: baseIndex[id]) }
        let ordered = byID.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return SnapshotRows(base: mapping, rows: ordered.map(\.value))
    }

    /// `changes` as an edit of the snapshot at hand: a template replaced or deleted per id. A
    /// field update takes its vector (and terms, when its question and answer stay) from where
    /// the snapshot holds it; throws when it holds no such template.
    static func edit(_ editor: SnapshotEditor, with changes: StoreChanges) throws -> EditedSnapshot {
        var edit: [String: SnapshotTemplate?] = [:]
        for stored in changes.inserts + changes.vectorUpdates { edit[stored.id] = SnapshotTemplate(stored) }
        var sameTerms = Set<String>()
        for stored in changes.fieldUpdates {
            let previous: SnapshotTemplate
            if let replaced = edit[stored.id] ?? nil {
                // Field updates of a template the same changes insert apply to the inserted one.
                previous = replaced
            } else {
                guard let found = editor.find(stored.id) else {
                    throw SnapshotError(code: .inconsistent, path: editor.current.path, message: "template \(stored.id) is missing from the previous snapshot")
                }
                previous = SnapshotTemplate(view: found.view, index: found.row, id: stored.id)
                if previous.hasSameTerms(as: stored) { sameTerms.insert(stored.id) }
            }
            edit[stored.id] = SnapshotTemplate(fieldUpdate: stored, of: previous)
        }
        for id in changes.deletions { edit[id] = .some(nil) }
        return editor.publication(of: edit, sameTerms: sameTerms)
    }

}

/// The templates a sync's changes touch, and what each becomes in a patched snapshot.
private struct TouchedTemplates {
    /// Every touched id with its bytes, in the writer's order.
    let ids: [(id: String, utf8: [UInt8])]
    private let view: SnapshotView
    private let path: String
    /// Inserts and vector updates: whole templates.
    private var replacements: [String: SnapshotTemplate] = [:]
    /// Templates whose fields changed but not their model input (their vector is the previous one).
    private var fieldUpdates: [String: StoredTemplate] = [:]
    private let deletions: Set<String>

    init(_ changes: StoreChanges, base: SnapshotMapping) {
        view = base.view
        path = base.path
        for stored in changes.inserts + changes.vectorUpdates { replacements[stored.id] = SnapshotTemplate(stored) }
        for stored in changes.fieldUpdates { fieldUpdates[stored.id] = stored }
        deletions = Set(changes.deletions)
        ids = deletions.union(replacements.keys).union(fieldUpdates.keys)
            .map { ($0, Array($0.utf8)) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The row for touched template `id` (nil: it is deleted); `baseIndex`: where the base holds it.
    func row(for id: String, baseIndex: Int?) throws -> SnapshotRows.Row? {
        if let replacement = replacements[id] {
            // Field updates of a template the same changes insert apply to the inserted one.
            return fieldUpdates[id].map { Self.fieldUpdate($0, of: replacement, termsAt: nil) } ?? .template(replacement, termsAt: nil)
        }
        guard let stored = fieldUpdates[id] else { return nil }
        guard let baseIndex, !deletions.contains(id) else {
            throw SnapshotError(code: .inconsistent, path: path, message: "template \(id) is missing from the previous snapshot")
        }
        return Self.fieldUpdate(stored, of: SnapshotTemplate(view: view, index: baseIndex, id: id), termsAt: baseIndex)
    }

    /// A template whose fields changed but not its model input (`SnapshotTemplate(fieldUpdate:of:)`),
    /// with the previous terms while its question and answer are the same.
    private static func fieldUpdate(_ stored: StoredTemplate, of previous: SnapshotTemplate, termsAt: Int?) -> SnapshotRows.Row {
        .template(SnapshotTemplate(fieldUpdate: stored, of: previous), termsAt: previous.hasSameTerms(as: stored) ? termsAt : nil)
    }
}

/// The snapshot a long-running writer published last, mapped and validated (checksum included)
/// once. It stands for the file at its path only while that is the same file with the same size
/// and modification time, and the mapping is intact: what a reader requires of a mapping it
/// keeps serving.
final class LastPublishedSnapshot: Sendable {
    private let mapped = Mutex<SnapshotMapping?>(nil)

    /// The kept mapping when it still is the file at `path`; nil otherwise (map the file again).
    func mapping(at path: String) -> SnapshotMapping? {
        guard let mapping = mapped.withLock({ $0 }), mapping.path == path, let atPath = FileIdentity.of(path: path),
              atPath.hasSameContent(as: mapping.identity), (try? mapping.checkIntact()) != nil else { return nil }
        return mapping
    }

    /// Maps the file just published at `path` (generation `generation`); keeps nothing when the
    /// file there is not that generation or not valid (someone replaced it meanwhile). `known`:
    /// the file it replaced, whose mapping a delta's base shares instead of being mapped again.
    func remember(path: String, generation: UInt64, known: SnapshotMapping?) {
        mapped.withLock { $0 = nil }
        guard let mapping = try? SnapshotMapping(path: path, known: known), mapping.view.header.generation == generation else { return }
        mapped.withLock { $0 = mapping }
    }
}

extension SnapshotTemplate {
    /// A field update of `previous` (the same model input, so the same vector): the stored
    /// fields with the previous vector. The one rule for the whole-file patch and the delta.
    init(fieldUpdate stored: StoredTemplate, of previous: SnapshotTemplate) {
        self.init(id: stored.id, category: stored.category, subcategory: stored.subcategory, question: stored.question,
                  answer: stored.answer, metadataJSON: stored.metadataJSON, vector: previous.vector)
    }

    /// Whether `stored` has this template's question and answer: its terms in the file still apply.
    func hasSameTerms(as stored: StoredTemplate) -> Bool {
        question == stored.question && answer == stored.answer
    }

    /// A stored template as the snapshot holds it: the metadata goes through as the JSON it is.
    init(_ stored: StoredTemplate) {
        self.init(id: stored.id, category: stored.category, subcategory: stored.subcategory, question: stored.question,
                  answer: stored.answer, metadataJSON: stored.metadataJSON, vector: stored.vector)
    }
}
