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

extension SyncSource {
    /// Everything besides the file's bytes that decides what a sync of it stores: the model, what
    /// it embeds, the column names and the sheet. The same bytes under the same fingerprint sync to
    /// the same result, so a sync that finds both unchanged can stop before reading the file.
    package func settingsFingerprint(model: ModelIdentity) -> String {
        let columns = reader.aliases.names.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue)=\($0.value.joined(separator: "|"))" }
        let checksSource = switch checks {
        case .workbookSheet: "checks: the workbook's sheet"
        case .file(let url): "checks: \(url.path)"
        case .none: "checks: none"
        }
        return ContentHash.fields(["faqsync sync settings 1", model.name, model.version, String(model.dimension),
                                   modelInput.rawValue, reader.sheetName ?? "", checksSource] + columns)
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
    /// `SyncSource.settingsFingerprint` for the configured model, kept with the run.
    let settingsSHA256: String
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

/// The outcome of one sync, as `sync --json` prints it. Its counts are reached as if they were
/// its own fields (`report.new`), declared once in `SyncCounts` and flattened into the JSON.
@dynamicMemberLookup
package struct SyncReport: Sendable, Codable {
    package var counts = SyncCounts()
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
    package var publication: PublishedSnapshot?
    /// The store changed: templates, or the current version (from the plan, not the counts).
    package var changedStore = false
    /// Nothing was read: the file's bytes and the settings are those of the last sync, whose
    /// result the store and the snapshot still show (`--force` reads it anyway).
    package var unchangedFile = false
    /// The FAQ team's checks on the current version after the sync; nil without checks.
    package var checks: CheckReport?
    /// For a new model version: whether the checks let it become current, and why.
    package var cutOver: CutOverDecision?

    package init(model: ModelIdentity, sourcePath: String, sourceSHA256: String) {
        self.model = model
        self.sourcePath = sourcePath
        self.sourceSHA256 = sourceSHA256
    }

    package subscript<Value>(dynamicMember count: WritableKeyPath<SyncCounts, Value>) -> Value {
        get { counts[keyPath: count] }
        set { counts[keyPath: count] = newValue }
    }

    enum CodingKeys: String, CodingKey {
        case quarantined, skippedRows = "skipped_rows"
        case versionID = "version_id", templates
        case durationS = "duration_s", model, previousModel = "previous_model", dryRun = "dry_run"
        case sourcePath = "source_path", sourceSHA256 = "source_sha256", unchangedFile = "unchanged_file"
        case checks, cutOver = "cut_over"
    }

    package init(from decoder: any Decoder) throws {
        counts = try SyncCounts(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        quarantined = try c.decode([QuarantinedTemplate].self, forKey: .quarantined)
        skippedRows = try c.decode([SkippedRow].self, forKey: .skippedRows)
        versionID = try c.decodeIfPresent(Int64.self, forKey: .versionID)
        templates = try c.decode(Int.self, forKey: .templates)
        durationS = try c.decode(Double.self, forKey: .durationS)
        model = try c.decode(ModelIdentity.self, forKey: .model)
        previousModel = try c.decodeIfPresent(ModelIdentity.self, forKey: .previousModel)
        dryRun = try c.decode(Bool.self, forKey: .dryRun)
        sourcePath = try c.decode(String.self, forKey: .sourcePath)
        sourceSHA256 = try c.decode(String.self, forKey: .sourceSHA256)
        unchangedFile = try c.decodeIfPresent(Bool.self, forKey: .unchangedFile) ?? false
        checks = try c.decodeIfPresent(CheckReport.self, forKey: .checks)
        cutOver = try c.decodeIfPresent(CutOverDecision.self, forKey: .cutOver)
    }

    package func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(quarantined, forKey: .quarantined)
        try c.encode(skippedRows, forKey: .skippedRows)
        try c.encodeIfPresent(versionID, forKey: .versionID)
        try c.encode(templates, forKey: .templates)
        try c.encode(durationS, forKey: .durationS)
        try c.encode(model, forKey: .model)
        try c.encodeIfPresent(previousModel, forKey: .previousModel)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(sourcePath, forKey: .sourcePath)
        try c.encode(sourceSHA256, forKey: .sourceSHA256)
        try c.encode(unchangedFile, forKey: .unchangedFile)
        try c.encodeIfPresent(checks, forKey: .checks)
        try c.encodeIfPresent(cutOver, forKey: .cutOver)
    }
}
