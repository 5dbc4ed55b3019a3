import Foundation
import SnapshotFormat
import SnapshotPublishing
import TemplateStore

/// Publishes the store's current version as a snapshot file and records the publication.
public struct SnapshotPublication: Sendable {
    public let store: any TemplateStore
    public let publisher: SnapshotPublisher

    public init(store: any TemplateStore, path: String) {
        self.store = store
        self.publisher = SnapshotPublisher(path: path)
    }

    /// Writes a new generation of the current version. Nil when the store has no current version.
    @discardableResult
    public func publishCurrentVersion() async throws -> SnapshotPublicationRecord? {
        guard store.exists(), let version = try await store.currentVersion() else { return nil }
        let stored = try await store.templates(versionID: version.id)
        let last = try await store.lastSnapshotPublication()
        let templates = stored.map { template in
            SnapshotTemplate(id: template.id, category: template.category, subcategory: template.subcategory,
                             question: template.question, answer: template.answer,
                             metadataJSON: MetadataCoding.encode(template.metadata), vector: template.vector)
        }
        let model = SnapshotEncoder.Model(name: version.model.name, version: version.model.version, dimension: version.model.dimension)
        let publisher = self.publisher
        let now = Date()
        let generation = try await BlockingWork.run {
            try publisher.publish(model: model, templates: templates, minimumGeneration: (last?.generation ?? 0) + 1, now: now)
        }
        let record = SnapshotPublicationRecord(generation: generation, versionID: version.id, templateCount: templates.count,
                                               path: publisher.path, publishedAt: now)
        try await store.record(snapshotPublication: record)
        return record
    }

    /// Publishes unless the file at the path already is the last publication of the current
    /// version and the store has not changed since.
    @discardableResult
    public func publishIfStale(storeChanged: Bool) async throws -> SnapshotPublicationRecord? {
        if !storeChanged, try await isCurrent() { return nil }
        return try await publishCurrentVersion()
    }

    /// The file at the path is the last publication, of the current version, made after the
    /// last sync that changed templates (a sync whose publication failed leaves it stale).
    func isCurrent() async throws -> Bool {
        guard store.exists(), let version = try await store.currentVersion(),
              let last = try await store.lastSnapshotPublication(),
              last.versionID == version.id, last.path == publisher.path, last.templateCount == version.templateCount,
              publisher.existingGeneration() == last.generation else { return false }
        let lastChange = try await store.recentRuns(limit: 100).first { run in
            run.outcome == .succeeded && run.new + run.modified + run.metadataOnly + run.deleted > 0
        }
        return lastChange.map { $0.finishedAt <= last.publishedAt } ?? true
    }
}
