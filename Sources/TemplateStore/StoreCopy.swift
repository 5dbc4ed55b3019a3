import Embedding
import Foundation
import Reconciliation

/// Copies every version, its templates, vectors and quarantine from one store into an empty
/// one (SQLite → PostgreSQL when a team outgrows one machine), without a single embedding call.
package enum StoreCopy {
    package struct CopiedVersion: Sendable, Codable {
        package let sourceID: Int64
        package let targetID: Int64
        package let model: String
        package let templates: Int
        package let isCurrent: Bool
    }

    package struct Report: Sendable, Codable {
        package let versions: [CopiedVersion]
        package var templates: Int { versions.reduce(0) { $0 + $1.templates } }
    }

    package static func copy(from source: any TemplateStore, to target: any TemplateStore) async throws -> Report {
        guard source.exists() else {
            throw StoreError(code: .openFailed, location: source.location, message: "there is no store here to copy from")
        }
        return try await target.exclusively {
            let existing = try await target.versions()
            guard existing.isEmpty else {
                throw StoreError(code: .writeFailed, location: target.location,
                                 message: "the target already holds \(existing.count) version(s); copy into an empty store",
                                 hint: "use a new database, or remove the target's data first")
            }
            // The current version last, so the target has a complete current version at every step.
            let versions = try await source.versions().sorted { !$0.isCurrent && $1.isCurrent }
            var copied: [CopiedVersion] = []
            for version in versions {
                let started = Date()
                let stored = try await source.templates(versionID: version.id)
                var unique: [String: [Float]] = [:]
                for template in stored { unique[template.inputHash] = template.vector }
                try await target.cache(model: version.model, vectors: unique.map { (inputHash: $0.key, vector: $0.value) })
                var run = SyncRunRecord(startedAt: started, finishedAt: Date(), sourcePath: "copy of \(source.location), version \(version.id)",
                                        sourceSHA256: nil, outcome: .succeeded)
                run.new = stored.count
                var changes = StoreChanges(model: version.model, run: run)
                changes.hybridDenseWeight = version.recordedHybridDenseWeight
                changes.inserts = stored
                changes.quarantine = try await source.quarantine(model: version.model)
                changes.makeCurrent = version.isCurrent
                let applied = try await target.apply(changes)
                copied.append(CopiedVersion(sourceID: version.id, targetID: applied.versionID, model: "\(version.model)",
                                            templates: applied.templateCount, isCurrent: version.isCurrent))
            }
            return Report(versions: copied)
        }
    }
}
