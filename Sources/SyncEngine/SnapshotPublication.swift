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

    /// - Parameter keepsLastPublished: for the daemon: the file it publishes is mapped and
    ///   validated once, after the switch (off the path to searchable), and serves as the next
    ///   publication's base while it is still the file at the path, unchanged.
    package init(store: any TemplateStore, path: String, keepsLastPublished: Bool = false) {
        self.store = store
        self.fileWriter = SnapshotFileWriter(path: path)
        lastPublished = keepsLastPublished ? LastPublishedSnapshot() : nil
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
        return try await publish(templates, version: version, storeGeneration: storeGeneration, current: current)
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
           shows(last, of: version, fileGeneration: fileGeneration), let current,
           let patched = try? Self.patch(current, with: changes) {
            return try await publish(patched.templates, version: version, storeGeneration: storeGeneration, previous: patched.previous)
        }
        return try await publishCurrentVersion(current: current)
    }

    private func publish(_ templates: [SnapshotTemplate], version: StoredVersion, storeGeneration: Int64,
                         previous: PreviousTerms? = nil, current: SnapshotMapping? = nil) async throws -> PublishedSnapshot {
        let last = try await store.lastSnapshotPublication()
        let model = SnapshotEncoder.Model(name: version.model.name, version: version.model.version, dimension: version.model.dimension,
                                          hybridDenseWeight: version.hybridDenseWeight)
        let fileWriter = self.fileWriter
        let now = Date()
        let generation = try await BlockingExecutor.shared.run {
            try fileWriter.publish(model: model, templates: templates, minimumGeneration: (last?.generation ?? 0) + 1, now: now,
                                  previous: previous, current: current)
        }
        let record = PublishedSnapshot(generation: generation, versionID: version.id, templateCount: templates.count,
                                               path: fileWriter.path, publishedAt: now, storeGeneration: storeGeneration)
        try await store.record(snapshotPublication: record)
        if let lastPublished {
            // Published already: a shutdown meanwhile only means the next base is mapped again.
            _ = try? await BlockingExecutor.shared.run { lastPublished.remember(path: fileWriter.path, generation: generation) }
        }
        return record
    }

    /// The snapshot `mapping` with `changes` applied: its templates in the writer's order (by
    /// template id, bytewise), and the previous snapshot's terms for those whose question and
    /// answer did not change. Throws when the file cannot serve as the base.
    ///
    /// The previous file is in that order already (the writer wrote it), so its unchanged
    /// templates are merged with the changed ones, sorted alone; a file out of order (written by
    /// something else) is sorted whole.
    static func patch(_ mapping: SnapshotMapping, with changes: StoreChanges) throws -> (templates: [SnapshotTemplate], previous: PreviousTerms) {
        let view = mapping.view
        let path = mapping.path
        guard view.dimension == changes.model.dimension else {
            throw SnapshotError(code: .inconsistent, path: path, message: "the previous snapshot has another dimension")
        }
        typealias Entry = (template: SnapshotTemplate, previousIndex: Int?)
        let deleted = Set(changes.deletions)
        var changed: [String: Entry] = [:]
        for stored in changes.inserts + changes.vectorUpdates { changed[stored.id] = (SnapshotTemplate(stored), nil) }
        var fieldUpdates: [String: StoredTemplate] = [:]
        for stored in changes.fieldUpdates { fieldUpdates[stored.id] = stored }

        var kept: [Entry] = []
        kept.reserveCapacity(view.count)
        var previousID: String?
        for index in 0..<view.count {
            let id = view.string(index, .id)
            if let previousID, !previousID.utf8.lexicographicallyPrecedes(id.utf8) { return try patchBySorting(mapping, with: changes) }
            previousID = id
            if deleted.contains(id) || changed[id] != nil { continue }
            let previous = SnapshotTemplate(view: view, index: index, id: id)
            if let stored = fieldUpdates.removeValue(forKey: id) {
                changed[id] = Self.fieldUpdate(stored, of: previous, previousIndex: index)
            } else {
                kept.append((previous, index))
            }
        }
        // Field updates of templates inserted by the same changes (the base does not hold them).
        for (id, stored) in fieldUpdates {
            guard let (previous, _) = changed[id] else {
                throw SnapshotError(code: .inconsistent, path: path, message: "template \(id) is missing from the previous snapshot")
            }
            changed[id] = Self.fieldUpdate(stored, of: previous, previousIndex: nil)
        }
        let fresh = changed.values.sorted { $0.template.id.utf8.lexicographicallyPrecedes($1.template.id.utf8) }
        var ordered: [Entry] = []
        ordered.reserveCapacity(kept.count + fresh.count)
        var next = fresh.startIndex
        for entry in kept {
            while next < fresh.endIndex, fresh[next].template.id.utf8.lexicographicallyPrecedes(entry.template.id.utf8) {
                ordered.append(fresh[next])
                next += 1
            }
            ordered.append(entry)
        }
        ordered.append(contentsOf: fresh[next...])
        return (ordered.map(\.template), PreviousTerms(mapping: mapping, indices: ordered.map(\.previousIndex)))
    }

    /// A template whose fields changed but not its model input: the new fields with the previous
    /// vector, and the previous terms while its question and answer are the same.
    private static func fieldUpdate(_ stored: StoredTemplate, of previous: SnapshotTemplate,
                                    previousIndex: Int?) -> (template: SnapshotTemplate, previousIndex: Int?) {
        let sameTerms = previous.question == stored.question && previous.answer == stored.answer
        return (SnapshotTemplate(id: stored.id, category: stored.category, subcategory: stored.subcategory,
                                 question: stored.question, answer: stored.answer,
                                 metadataJSON: stored.metadataJSON, vector: previous.vector),
                sameTerms ? previousIndex : nil)
    }

    /// `patch` for a base that is not in the writer's order: every template by id, then sorted.
    static func patchBySorting(_ mapping: SnapshotMapping, with changes: StoreChanges) throws -> (templates: [SnapshotTemplate], previous: PreviousTerms) {
        let view = mapping.view
        let path = mapping.path
        // Each template with its index in the previous snapshot while its terms still apply.
        var byID: [String: (template: SnapshotTemplate, previousIndex: Int?)] = [:]
        byID.reserveCapacity(view.count + changes.inserts.count)
        for index in 0..<view.count {
            let template = SnapshotTemplate(view: view, index: index)
            byID[template.id] = (template, index)
        }
        for id in changes.deletions { byID[id] = nil }
        for stored in changes.inserts + changes.vectorUpdates { byID[stored.id] = (SnapshotTemplate(stored), nil) }
        for stored in changes.fieldUpdates {
            guard let (previous, previousIndex) = byID[stored.id] else {
                throw SnapshotError(code: .inconsistent, path: path, message: "template \(stored.id) is missing from the previous snapshot")
            }
            byID[stored.id] = fieldUpdate(stored, of: previous, previousIndex: previousIndex)
        }
        let ordered = byID.values.sorted { $0.template.id.utf8.lexicographicallyPrecedes($1.template.id.utf8) }
        return (ordered.map(\.template), PreviousTerms(mapping: mapping, indices: ordered.map(\.previousIndex)))
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
    /// file there is not that generation or not valid (someone replaced it meanwhile).
    func remember(path: String, generation: UInt64) {
        mapped.withLock { $0 = nil }
        guard let mapping = try? SnapshotMapping(path: path), mapping.view.header.generation == generation else { return }
        mapped.withLock { $0 = mapping }
    }
}

extension SnapshotTemplate {
    /// A stored template as the snapshot holds it: the metadata goes through as the JSON it is.
    init(_ stored: StoredTemplate) {
        self.init(id: stored.id, category: stored.category, subcategory: stored.subcategory, question: stored.question,
                  answer: stored.answer, metadataJSON: stored.metadataJSON, vector: stored.vector)
    }

    /// Row `index` of a validated snapshot (`id`: its id, when the caller read it already).
    init(view: SnapshotView, index: Int, id: String? = nil) {
        self.init(id: id ?? view.string(index, .id), category: view.string(index, .category), subcategory: view.string(index, .subcategory),
                  question: view.string(index, .question), answer: view.string(index, .answer),
                  metadataJSON: view.string(index, .metadata), vector: Array(view.vector(index)))
    }
}
