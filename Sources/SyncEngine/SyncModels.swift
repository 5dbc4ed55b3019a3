import Embedding
import Foundation
import Reconciliation
import SpreadsheetReading
import TemplateStore

/// Where the templates come from and how they become model input.
public struct SyncSource: Sendable {
    public var faqURL: URL
    public var reader: SpreadsheetReader
    public var modelInput: ModelInput

    public init(faqURL: URL, reader: SpreadsheetReader = SpreadsheetReader(), modelInput: ModelInput = .questionAndAnswer) {
        self.faqURL = faqURL
        self.reader = reader
        self.modelInput = modelInput
    }
}

public struct SyncOptions: Sendable {
    /// Re-embed every template, bypassing the cache.
    public var force = false
    /// Texts per embedding request; nil means the embedder's preferred size.
    public var batchSize: Int?
    /// Embedding requests in flight at once.
    public var maxConcurrency: Int

    public init(force: Bool = false, batchSize: Int? = nil, maxConcurrency: Int = 1) {
        self.force = force
        self.batchSize = batchSize
        self.maxConcurrency = max(1, maxConcurrency)
    }
}

/// A sync that has been read and planned but has not embedded or written anything yet, so that a
/// caller can show what it will cost (and ask) before it runs.
public struct PreparedSync: Sendable {
    public let sourcePath: String
    public let sourceSHA256: String
    public let templates: [Template]
    public let model: ModelIdentity
    public let currentVersion: StoredVersion?
    /// The version that holds the configured model already, if any.
    public let targetVersion: StoredVersion?
    public let plan: SyncPlan
    /// Distinct texts that need the model: not in the cache (or `--force`).
    public let textsToEmbed: [(inputHash: String, text: String)]
    public let cachedVectors: [String: [Float]]
    /// Input hashes the provider rejected before and that have not changed since: not sent again.
    public let knownRejections: [String: String]
    public let force: Bool
    public let batchSize: Int
    public let maxConcurrency: Int
    let startedAt: Date

    /// The configured model differs from the one that is serving now.
    public var changesModel: Bool { currentVersion.map { $0.model != model } ?? false }
    public var batchCount: Int { (textsToEmbed.count + batchSize - 1) / batchSize }
}

/// Progress of the embedding phase, reported after every batch.
public struct EmbeddingProgress: Sendable {
    public let completedBatches: Int
    public let totalBatches: Int
    public let completedTexts: Int
    public let totalTexts: Int
    public let elapsed: Duration
}

/// The outcome of one sync, as `sync --json` prints it.
public struct SyncReport: Sendable, Codable {
    public var new = 0
    public var modified = 0
    public var metadataOnly = 0
    public var deleted = 0
    public var unchanged = 0
    /// Distinct texts sent to the model.
    public var embeddedTexts = 0
    /// Distinct texts whose vector came from the cache instead.
    public var cacheHits = 0
    public var embeddingRequests = 0
    /// Tokens the provider reported, when it reports usage.
    public var tokens: Int?
    /// Templates whose model input the provider rejected: kept as they were, or left out if new.
    public var quarantined: [QuarantinedTemplate] = []
    public var versionID: Int64?
    public var templates = 0
    public var durationS = 0.0
    public var model: ModelIdentity
    public var previousModel: ModelIdentity?
    public var dryRun = false
    public var sourcePath: String
    public var sourceSHA256: String

    enum CodingKeys: String, CodingKey {
        case new, modified, metadataOnly = "metadata_only", deleted, unchanged, embeddedTexts = "embedded_texts"
        case cacheHits = "cache_hits", embeddingRequests = "embedding_requests", tokens, quarantined
        case versionID = "version_id", templates
        case durationS = "duration_s", model, previousModel = "previous_model", dryRun = "dry_run"
        case sourcePath = "source_path", sourceSHA256 = "source_sha256"
    }
}
