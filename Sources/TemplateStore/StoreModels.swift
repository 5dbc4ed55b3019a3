import Embedding
import Foundation
import Reconciliation

/// One model version in the store.
package struct StoredVersion: Sendable, Hashable, Codable {
    package let id: Int64
    package let model: ModelIdentity
    package let isCurrent: Bool
    package let createdAt: Date
    package let templateCount: Int
    /// Hybrid search's dense weight, recorded when the version was created; nil for a version
    /// created before weights were recorded.
    package let recordedHybridDenseWeight: Float?

    package init(id: Int64, model: ModelIdentity, isCurrent: Bool, createdAt: Date, templateCount: Int, recordedHybridDenseWeight: Float? = nil) {
        self.id = id
        self.model = model
        self.isCurrent = isCurrent
        self.createdAt = createdAt
        self.templateCount = templateCount
        self.recordedHybridDenseWeight = recordedHybridDenseWeight
    }

    /// Hybrid search's dense weight for this version, written into each of its snapshots: the one
    /// recorded with it, or for an older version what was measured for its model (`HybridWeights`).
    package var hybridDenseWeight: Float { recordedHybridDenseWeight ?? HybridWeights.denseWeight(forModelNamed: model.name) }
}

/// A template as the store holds it: its fields, its metadata as the JSON text stored, its two
/// hashes and its vector.
///
/// Why it exists next to `Template`: it is the unit of the store's rows, written by a sync and
/// read back by publication, copying and following. The metadata stays JSON from the moment it is
/// encoded (once, when the sync builds its changes) to the snapshot's string data, never decoded
/// and encoded again on the way.
package struct StoredTemplate: Sendable, Hashable {
    package let id: String
    package let category: String
    package let subcategory: String
    package let question: String
    package let answer: String
    /// A JSON array of {name, value}: the spreadsheet's other columns, in sheet order.
    package let metadataJSON: String
    package let inputHash: String
    package let contentHash: String
    package let vector: [Float]

    package init(id: String, category: String, subcategory: String, question: String, answer: String,
                metadataJSON: String, inputHash: String, contentHash: String, vector: [Float]) {
        self.id = id
        self.category = category
        self.subcategory = subcategory
        self.question = question
        self.answer = answer
        self.metadataJSON = metadataJSON
        self.inputHash = inputHash
        self.contentHash = contentHash
        self.vector = vector
    }

    /// A template of the spreadsheet with the vector of its model input. `vector` is empty for a
    /// field update, whose stored vector stays.
    package init(_ template: Template, vector: [Float]) {
        self.init(id: template.id, category: template.category, subcategory: template.subcategory,
                  question: template.question, answer: template.answer, metadataJSON: MetadataCoding.encode(template.metadata),
                  inputHash: template.inputHash, contentHash: template.contentHash, vector: vector)
    }

    package var metadata: Template.Metadata { MetadataCoding.decode(metadataJSON) }

    /// As a `Template`, hashes kept as stored (copying between stores).
    package var template: Template {
        Template(restoringID: id, category: category, subcategory: subcategory, question: question, answer: answer,
                 metadata: metadata, inputHash: inputHash, contentHash: contentHash)
    }

    /// The texts the store writes, for the checks every backend makes.
    var texts: [String] { [id, category, subcategory, question, answer, metadataJSON] }
}

/// Counts and provenance of one sync, successful or not: the `sync_runs` audit row. Its counts are
/// reached as if they were its own fields (`run.new`), declared once in `SyncCounts`.
@dynamicMemberLookup
package struct SyncRunRecord: Sendable, Hashable {
    package enum Outcome: String, Sendable, Codable { case succeeded, failed }

    package var id: Int64?
    package var startedAt: Date
    package var finishedAt: Date
    package var sourcePath: String
    package var sourceSHA256: String?
    /// The hash of the settings the run read and embedded under (`SyncSource.settingsFingerprint`);
    /// nil for runs recorded before it was kept.
    package var settingsSHA256: String?
    package var versionID: Int64?
    package var outcome: Outcome
    package var counts = SyncCounts()
    package var templates = 0
    package var quarantined = 0
    /// Rows the sync left out for a problem of their own, as the JSON text the run keeps
    /// (`SkippedRow.encodeList`): the store holds it without reading it.
    package var skippedRowsJSON = "[]"
    /// The templates the sync touched (kept for the last `StoreChanges.historyRuns` runs);
    /// filled by `recentRuns`, empty for older runs and failed ones.
    package var changes: [SyncChange] = []
    package var error: String?

    package init(startedAt: Date, finishedAt: Date, sourcePath: String, sourceSHA256: String?, outcome: Outcome) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.sourcePath = sourcePath
        self.sourceSHA256 = sourceSHA256
        self.outcome = outcome
    }

    package subscript<Value>(dynamicMember count: WritableKeyPath<SyncCounts, Value>) -> Value {
        get { counts[keyPath: count] }
        set { counts[keyPath: count] = newValue }
    }
}

/// Everything one sync writes, applied by the store in a single transaction.
package struct StoreChanges: Sendable {
    package let model: ModelIdentity
    package var inserts: [StoredTemplate] = []
    /// Templates whose model input changed: new vector and fields.
    package var vectorUpdates: [StoredTemplate] = []
    /// Templates whose fields changed but not their model input: the stored vector stays (their
    /// `vector` here is empty and ignored).
    package var fieldUpdates: [StoredTemplate] = []
    package var deletions: [String] = []
    /// The complete set of this version's quarantined templates after the sync.
    package var quarantine: [QuarantinedTemplate] = []
    /// Make this model's version current once the changes are in.
    package var makeCurrent = true
    /// Recorded with the version when this apply creates it (`StoredVersion.hybridDenseWeight`).
    package var hybridDenseWeight: Float?
    package var run: SyncRunRecord
    /// What the run touched, by template: new, modified and metadata-only ones from the plan; the
    /// store adds the deleted ones (it has their questions) in the same transaction.
    package var changeLog: [SyncChange] = []
    /// Runs whose change logs are kept (`SYNC_HISTORY`); older ones are pruned by `apply`.
    package var historyRuns = SyncChange.defaultHistoryRuns

    package init(model: ModelIdentity, run: SyncRunRecord) {
        self.model = model
        self.run = run
    }

    /// True when the version's templates change.
    package var changesTemplates: Bool { !(inserts.isEmpty && vectorUpdates.isEmpty && fieldUpdates.isEmpty && deletions.isEmpty) }
}

extension StoreChanges {
    /// The checks every backend makes before it writes: each vector has the version's
    /// dimension, and no text holds a character a database cannot store (the readers refuse
    /// NUL already; this keeps the store's own contract whatever the caller).
    package func validate(location: String) throws {
        for stored in inserts + vectorUpdates where stored.vector.count != model.dimension {
            throw StoreError(code: .invalidVector, location: location,
                             message: "template \(stored.id) has a vector of \(stored.vector.count) values, the version needs \(model.dimension)")
        }
        for stored in inserts + vectorUpdates + fieldUpdates where stored.texts.contains(where: { $0.utf8.contains(0) }) {
            throw StoreError(code: .invalidText, location: location,
                             message: "template \(stored.id.prefix(80)) contains a NUL character, which the store cannot hold",
                             hint: "retype the cell in the spreadsheet and save again")
        }
    }
}

package struct AppliedChanges: Sendable {
    package let versionID: Int64
    package let templateCount: Int
    package let runID: Int64
    /// The store's generation after the change (see `TemplateStore.generation()`).
    package let generation: Int64

    package init(versionID: Int64, templateCount: Int, runID: Int64, generation: Int64) {
        self.versionID = versionID
        self.templateCount = templateCount
        self.runID = runID
        self.generation = generation
    }
}

package struct CleanReport: Sendable, Codable {
    package let removedVersions: [StoredVersion]
    package let removedTemplates: Int
    package let removedCacheEntries: Int

    package init(removedVersions: [StoredVersion], removedTemplates: Int, removedCacheEntries: Int) {
        self.removedVersions = removedVersions
        self.removedTemplates = removedTemplates
        self.removedCacheEntries = removedCacheEntries
    }
}

package struct IntegrityReport: Sendable, Codable {
    package let checkedTemplates: Int
    package let problems: [String]
    package var passed: Bool { problems.isEmpty }

    package init(checkedTemplates: Int, problems: [String]) {
        self.checkedTemplates = checkedTemplates
        self.problems = problems
    }
}

/// A snapshot file published from the store.
package struct PublishedSnapshot: Sendable, Hashable, Codable {
    package let generation: UInt64
    package let versionID: Int64
    package let templateCount: Int
    package let path: String
    package let publishedAt: Date
    /// The store generation the snapshot shows: the file is stale once the store moved past it.
    package let storeGeneration: Int64

    package init(generation: UInt64, versionID: Int64, templateCount: Int, path: String, publishedAt: Date, storeGeneration: Int64) {
        self.generation = generation
        self.versionID = versionID
        self.templateCount = templateCount
        self.path = path
        self.publishedAt = publishedAt
        self.storeGeneration = storeGeneration
    }
}

/// A template whose model input the provider rejected, with the provider's reason.
package struct QuarantinedTemplate: Sendable, Hashable, Codable {
    package let templateID: String
    package let inputHash: String
    package let reason: String
    package let since: Date

    enum CodingKeys: String, CodingKey { case templateID = "template_id", inputHash = "input_hash", reason, since }

    package init(templateID: String, inputHash: String, reason: String, since: Date) {
        self.templateID = templateID
        self.inputHash = inputHash
        self.reason = reason
        self.since = since
    }
}

extension SyncChange {
    /// How many runs keep their change logs unless `SYNC_HISTORY` says otherwise.
    package static let defaultHistoryRuns = 100
}
