import SystemIO
import Embedding
import Foundation
import Logging
import RetrievalChecks
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SpreadsheetReading
import TemplateStore

/// Where the FAQ team's checks come from: the FAQ workbook's «Проверка» sheet (the default), or a
/// CSV file of their own (CHECKS_PATH); or none, for a harness that measures the sync alone
/// (the provider tests count its requests, the benchmarks its time).
package enum CheckSource: Sendable, Equatable {
    case workbookSheet
    case file(URL)
    case none
}

/// Builds an embedder that embeds queries for a stored version's model, when this machine can
/// (the configured model, the local embedder, the installed in-process model); nil otherwise.
package typealias QueryEmbedderFactory = @Sendable (ModelIdentity) async -> (any Embedder)?

/// Runs the FAQ team's checks for the sync coordinator: after each sync on the published
/// snapshot, and for the cut-over gate on a version that is not published yet.
package struct RetrievalCheckRun: Sendable {
    let store: any TemplateStore
    let source: SyncSource
    let snapshotPath: String
    let queryEmbedder: QueryEmbedderFactory
    let logger: Logger

    package init(store: any TemplateStore, source: SyncSource, snapshotPath: String, queryEmbedder: @escaping QueryEmbedderFactory, logger: Logger) {
        self.store = store
        self.source = source
        self.snapshotPath = snapshotPath
        self.queryEmbedder = queryEmbedder
        self.logger = logger
    }

    /// `faqsync eval`: the checks against a stored version in `modes` (the first one reported as
    /// the result), from a snapshot of it written to a temporary file; nil when there are no checks.
    package func evaluate(version: StoredVersion, modes: [SearchMode]) async throws -> CheckReport? {
        guard let sheet = try await sheet() else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("faqsync-eval-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("version-\(version.id).snapshot").path
        try await SnapshotPublication(store: store, path: path).writeUnrecorded(version: version)
        let snapshot = try await BlockingExecutor.shared.run { try MappedSnapshot(path: path) }
        let list = CheckList(sheet, templates: snapshot.contents)
        return try await CheckRunner(modes: modes).run(list, on: snapshot, embedder: await queryEmbedder(version.model))
    }

    /// The checks as the spreadsheet (or CHECKS_PATH) holds them now; nil when there are none.
    package func sheet() async throws -> CheckSheet? {
        let source = self.source
        return try await BlockingExecutor.shared.run {
            switch source.checks {
            case .workbookSheet: return try source.reader.readCheckSheet(source.faqURL)
            case .file(let url): return try source.reader.readCheckFile(url)
            case .none: return nil
            }
        }
    }

    /// The checks against the snapshot at `path` (of `model`), in every mode, or nil when there
    /// are no checks. Never throws for a bad check; throws when the snapshot or model fails.
    /// The writer's runs keep the questions' vectors in the store's cache (`CachedQueryEmbedder`).
    func report(on path: String, model: ModelIdentity, sheet: CheckSheet) async throws -> CheckReport {
        let snapshot = try await BlockingExecutor.shared.run { try MappedSnapshot(path: path) }
        let list = CheckList(sheet, templates: snapshot.contents)
        let embedder = await queryEmbedder(model).map { CachedQueryEmbedder(base: $0, store: store) }
        return try await CheckRunner().run(list, on: snapshot, embedder: embedder)
    }

    /// After a sync: the current version's published snapshot. Failures are logged, not thrown:
    /// a sync that wrote and published is a good sync whatever its checks say.
    func afterSync(current model: ModelIdentity?) async -> CheckReport? {
        guard let model else { return nil }
        do {
            guard let sheet = try await sheet() else { return nil }
            let report = try await report(on: snapshotPath, model: model, sheet: sheet)
            if let score = report.primary {
                logger.info("checks run", metadata: ["source": "\(report.source)", "mode": "\(score.mode)", "total": "\(score.total)",
                                                     "top1": "\(score.top1)", "top3": "\(score.top3)", "mrr": "\(score.mrr)",
                                                     "skipped": "\(report.skipped.count)"])
            }
            return report
        } catch {
            logger.warning("the checks could not run", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Whether `candidate` may replace `current`: both scored on the checks (the candidate from
    /// a snapshot written for the purpose, the current from the published one).
    func decide(candidate: StoredVersion, current: StoredVersion, gate: CutOverGate) async throws -> CutOverDecision {
        var decision = CutOverDecision(candidateVersionID: candidate.id, candidateModel: candidate.model.description, currentModel: current.model.description,
                                       margin: gate.margin, madeCurrent: true, reason: "")
        let sheet: CheckSheet?
        do { sheet = try await self.sheet() } catch {
            // `versions set` is a store operation: a spreadsheet it cannot read must not block it.
            decision.reason = "the checks could not be read (\(error)): nothing to compare"
            logger.warning("the cut-over gate could not read the checks", metadata: ["error": "\(error)"])
            return decision
        }
        guard let sheet else {
            decision.reason = "no checks (no «Проверка» sheet or CHECKS_PATH): nothing to compare"
            return decision
        }
        let scratch = snapshotPath + ".candidate-\(candidate.id)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try await SnapshotPublication(store: store, path: scratch).writeUnrecorded(version: candidate)
        let candidateReport = try await report(on: scratch, model: candidate.model, sheet: sheet)
        decision.candidateScore = candidateReport.primary
        guard let candidateScore = candidateReport.primary, candidateScore.total > 0 else {
            decision.reason = "no check names a template of the FAQ: nothing to compare"
            return decision
        }
        guard candidateScore.mode != SearchMode.lexical.rawValue else {
            decision.reason = "the new model cannot embed questions here; it becomes current unchecked"
            return decision
        }
        let published = try? await BlockingExecutor.shared.run { [snapshotPath] in try MappedSnapshot(path: snapshotPath).header }
        let currentPath: String
        let currentScratch = snapshotPath + ".current-\(current.id)"
        defer { try? FileManager.default.removeItem(atPath: currentScratch) }
        if let published, published.modelName == current.model.name, published.modelVersion == current.model.version {
            currentPath = snapshotPath
        } else {
            try await SnapshotPublication(store: store, path: currentScratch).writeUnrecorded(version: current)
            currentPath = currentScratch
        }
        let currentReport = try await report(on: currentPath, model: current.model, sheet: sheet)
        guard let currentScore = currentReport.primary, currentScore.mode == candidateScore.mode else {
            decision.reason = "the current model (\(current.model)) cannot embed questions here, so there is no score to compare; the new version becomes current"
            return decision
        }
        decision.currentScore = currentScore
        if candidateScore.top3 + gate.margin >= currentScore.top3 {
            decision.reason = "top-3 on the checks: \(candidateScore.top3) of \(candidateScore.total) with the new model, \(currentScore.top3) with the current one (allowed loss \(gate.margin))"
        } else {
            decision.madeCurrent = false
            decision.reason = "held: the new model finds \(candidateScore.top3) of \(candidateScore.total) checks in the top 3, the current one \(currentScore.top3) (allowed loss \(gate.margin)); it stays built, not current. Fix the checks or the model, or make it current with `faqsync versions set \(candidate.id) --force`"
        }
        return decision
    }
}

extension SnapshotPublication {
    /// Writes `version` to this publication's path for the checks alone: not recorded in the
    /// store as a publication, never at the path readers follow.
    func writeUnrecorded(version: StoredVersion) async throws {
        let templates = try await store.templates(versionID: version.id).map(SnapshotTemplate.init)
        let model = SnapshotEncoder.Model(name: version.model.name, version: version.model.version, dimension: version.model.dimension,
                                          hybridDenseWeight: version.hybridDenseWeight)
        let fileWriter = self.fileWriter
        _ = try await BlockingExecutor.shared.run { try fileWriter.publish(model: model, templates: templates, minimumGeneration: 1, now: Date()) }
    }
}
