import Embedding
import Foundation
import RetrievalChecks
import Reconciliation
import SpreadsheetReading
import TemplateStore

/// Where the templates come from and how they become model input.
package struct SyncSource: Sendable {
    package var faqURL: URL
    package var reader: SpreadsheetReader
    package var modelInput: ModelInput
    /// Where the FAQ team's checks are read from after each sync and for the cut-over gate.
    package var checks: CheckSource

    package init(faqURL: URL, reader: SpreadsheetReader = SpreadsheetReader(), modelInput: ModelInput = .questionAndAnswer,
                 checks: CheckSource = .workbookSheet) {
        self.faqURL = faqURL
        self.reader = reader
        self.modelInput = modelInput
        self.checks = checks
    }
}

package struct SyncOptions: Sendable {
    /// Re-embed every template, bypassing the cache.
    package var force = false
    /// Texts per embedding request; nil means the embedder's preferred size.
    package var batchSize: Int?
    /// Embedding requests in flight at once.
    package var maxConcurrency: Int
    /// Runs whose change logs the store keeps (`SYNC_HISTORY`).
    package var historyRuns: Int

    package init(force: Bool = false, batchSize: Int? = nil, maxConcurrency: Int = 1, historyRuns: Int = SyncChange.defaultHistoryRuns) {
        self.force = force
        self.batchSize = batchSize
        self.maxConcurrency = max(1, maxConcurrency)
        self.historyRuns = max(1, historyRuns)
    }
}

/// A sync that has been read and planned but has not embedded or written anything yet, so that a
/// caller can show what it will cost (and ask) before it runs.
package struct PreparedSync: Sendable {
    package let sourcePath: String
    package let sourceSHA256: String
    package let templates: [Template]
    /// Rows left out for a problem of their own; the rest syncs.
    package let skippedRows: [SkippedRow]
    package let model: ModelIdentity
    package let currentVersion: StoredVersion?
    /// The version that holds the configured model already, if any.
    package let targetVersion: StoredVersion?
    package let plan: SyncPlan
    /// Distinct texts that need the model: not in the cache (or `--force`).
    package let textsToEmbed: [(inputHash: String, text: String)]
    package let cachedVectors: [String: [Float]]
    /// Input hashes the provider rejected before and that have not changed since: not sent again.
    package let knownRejections: [String: String]
    package let force: Bool
    package let batchSize: Int
    package let maxConcurrency: Int
    let historyRuns: Int
    let startedAt: Date
    /// The store's generation when the sync planned (under the writer lock): what the previous
    /// snapshot must show for the next one to be patched from it.
    let storeGenerationBefore: Int64
    /// Whether applying makes the target version current. False for a new model version under
    /// the cut-over gate: it is built first, and the checks decide.
    package var makesCurrent = true

    /// The configured model differs from the one that is serving now.
    package var changesModel: Bool { currentVersion.map { $0.model != model } ?? false }
    package var batchCount: Int { (textsToEmbed.count + batchSize - 1) / batchSize }
}

/// Progress of the embedding phase, reported after every batch.
package struct EmbeddingProgress: Sendable {
    package let completedBatches: Int
    package let totalBatches: Int
    package let completedTexts: Int
    package let totalTexts: Int
    package let elapsed: Duration
}

/// The outcome of one sync, as `sync --json` prints it.
package struct SyncReport: Sendable, Codable {
    package var new = 0
    package var modified = 0
    package var metadataOnly = 0
    package var deleted = 0
    package var unchanged = 0
    /// Distinct texts sent to the model.
    package var embeddedTexts = 0
    /// Distinct texts whose vector came from the cache instead.
    package var cacheHits = 0
    package var embeddingRequests = 0
    /// Tokens the provider reported, when it reports usage.
    package var tokens: Int?
    /// Templates whose model input the provider rejected: kept as they were, or left out if new.
    package var quarantined: [QuarantinedTemplate] = []
    /// Rows left out for a problem of their own (a draft without an answer, a shared identity).
    package var skippedRows: [SkippedRow] = []
    package var versionID: Int64?
    package var templates = 0
    package var durationS = 0.0
    package var model: ModelIdentity
    package var previousModel: ModelIdentity?
    package var dryRun = false
    package var sourcePath: String
    /// SHA-256 of exactly the bytes parsed.
    package var sourceSHA256: String
    /// The snapshot this sync published; nil when the file already showed the store as it is.
    package var publication: SnapshotPublicationRecord?
    /// The store changed: templates, or the current version (from the plan, not the counts).
    package var changedStore = false
    /// The FAQ team's checks on the current version after the sync; nil without checks.
    package var checks: CheckReport?
    /// For a new model version: whether the checks let it become current, and why.
    package var cutOver: CutOverDecision?

    enum CodingKeys: String, CodingKey {
        case new, modified, metadataOnly = "metadata_only", deleted, unchanged, embeddedTexts = "embedded_texts"
        case cacheHits = "cache_hits", embeddingRequests = "embedding_requests", tokens, quarantined
        case skippedRows = "skipped_rows"
        case versionID = "version_id", templates
        case durationS = "duration_s", model, previousModel = "previous_model", dryRun = "dry_run"
        case sourcePath = "source_path", sourceSHA256 = "source_sha256"
        case checks, cutOver = "cut_over"
    }
}
