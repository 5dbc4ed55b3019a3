import Embedding
import Foundation
import Reconciliation
import SpreadsheetReading

/// One model version in the store.
public struct StoredVersion: Sendable, Hashable, Codable {
    public let id: Int64
    public let model: ModelIdentity
    public let isCurrent: Bool
    public let createdAt: Date
    public let templateCount: Int

    public init(id: Int64, model: ModelIdentity, isCurrent: Bool, createdAt: Date, templateCount: Int) {
        self.id = id
        self.model = model
        self.isCurrent = isCurrent
        self.createdAt = createdAt
        self.templateCount = templateCount
    }
}

/// A template as stored under one version, with its vector.
public struct StoredTemplate: Sendable, Hashable {
    public let id: String
    public let category: String
    public let subcategory: String
    public let question: String
    public let answer: String
    public let metadata: [MetadataEntry]
    public let inputHash: String
    public let contentHash: String
    public let vector: [Float]
}

/// A template with the vector for its model input.
public struct EmbeddedTemplate: Sendable {
    public let template: Template
    public let vector: [Float]

    public init(template: Template, vector: [Float]) {
        self.template = template
        self.vector = vector
    }
}

/// Counts and provenance of one sync, successful or not: the `sync_runs` audit row.
public struct SyncRunRecord: Sendable, Codable, Hashable {
    public enum Outcome: String, Sendable, Codable { case succeeded, failed }

    public var id: Int64?
    public var startedAt: Date
    public var finishedAt: Date
    public var sourcePath: String
    public var sourceSHA256: String?
    public var versionID: Int64?
    public var outcome: Outcome
    public var new = 0
    public var modified = 0
    public var metadataOnly = 0
    public var deleted = 0
    public var unchanged = 0
    public var embeddedTexts = 0
    public var cacheHits = 0
    public var embeddingRequests = 0
    public var templates = 0
    /// Tokens the provider reported for this sync's requests, when it reports usage.
    public var tokens: Int?
    public var quarantined = 0
    public var error: String?

    public init(startedAt: Date, finishedAt: Date, sourcePath: String, sourceSHA256: String?, outcome: Outcome) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.sourcePath = sourcePath
        self.sourceSHA256 = sourceSHA256
        self.outcome = outcome
    }
}

/// Everything one sync writes, applied by the store in a single transaction.
public struct StoreChanges: Sendable {
    public let model: ModelIdentity
    public var inserts: [EmbeddedTemplate] = []
    /// Templates whose model input changed: new vector and fields.
    public var vectorUpdates: [EmbeddedTemplate] = []
    /// Templates whose fields changed but not their model input: the vector stays.
    public var fieldUpdates: [Template] = []
    public var deletions: [String] = []
    /// The complete set of this version's quarantined templates after the sync.
    public var quarantine: [QuarantinedTemplate] = []
    /// Make this model's version current once the changes are in.
    public var makeCurrent = true
    public var run: SyncRunRecord

    public init(model: ModelIdentity, run: SyncRunRecord) {
        self.model = model
        self.run = run
    }
}

extension StoreChanges {
    /// The checks every backend makes before it writes: each vector has the version's
    /// dimension, and no text holds a character a database cannot store (the readers refuse
    /// NUL already; this keeps the store's own contract whatever the caller).
    public func validate(location: String) throws {
        for embedded in inserts + vectorUpdates where embedded.vector.count != model.dimension {
            throw StoreError(code: .invalidVector, location: location,
                             message: "template \(embedded.template.id) has a vector of \(embedded.vector.count) values, the version needs \(model.dimension)")
        }
        for template in inserts.map(\.template) + vectorUpdates.map(\.template) + fieldUpdates {
            let texts = [template.id, template.category, template.subcategory, template.question, template.answer]
                + template.metadata.flatMap { [$0.name, $0.value] }
            if texts.contains(where: { $0.utf8.contains(0) }) {
                throw StoreError(code: .invalidText, location: location,
                                 message: "template \(template.id.prefix(80)) (row \(template.rowNumber)) contains a NUL character, which the store cannot hold",
                                 cause: "retype the cell in the spreadsheet and save again")
            }
        }
    }
}

public struct AppliedChanges: Sendable {
    public let versionID: Int64
    public let templateCount: Int
    public let runID: Int64
}

/// A backup written by `SQLiteTemplateStore.backup(to:)`.
public struct StoreBackup: Sendable, Codable {
    public let source: String
    public let path: String
    public let bytes: Int
    public let versions: Int
    public let templates: Int
}

public struct CleanReport: Sendable, Codable {
    public let removedVersions: [StoredVersion]
    public let removedTemplates: Int
    public let removedCacheEntries: Int
}

public struct IntegrityReport: Sendable, Codable {
    public let checkedTemplates: Int
    public let problems: [String]
    public var passed: Bool { problems.isEmpty }
}

/// A snapshot file published from the store.
public struct SnapshotPublicationRecord: Sendable, Hashable, Codable {
    public let generation: UInt64
    public let versionID: Int64
    public let templateCount: Int
    public let path: String
    public let publishedAt: Date

    public init(generation: UInt64, versionID: Int64, templateCount: Int, path: String, publishedAt: Date) {
        self.generation = generation
        self.versionID = versionID
        self.templateCount = templateCount
        self.path = path
        self.publishedAt = publishedAt
    }
}

/// A template whose model input the provider rejected, with the provider's reason.
public struct QuarantinedTemplate: Sendable, Hashable, Codable {
    public let templateID: String
    public let inputHash: String
    public let reason: String
    public let since: Date

    public init(templateID: String, inputHash: String, reason: String, since: Date) {
        self.templateID = templateID
        self.inputHash = inputHash
        self.reason = reason
        self.since = since
    }
}
