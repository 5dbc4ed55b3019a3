import CodedErrors
import Embedding
import Foundation
import Logging
import Reconciliation
import RetrievalChecks
import SnapshotFormat
import SnapshotPublishing
import SyncActivity
import SystemIO
import TemplateStore

/// The one owner of a sync, from the writer lock to the published snapshot. Every command and
/// the daemon call it; none of them repeats a step.
///
///     lock → prepare (read, plan) → confirm a model change → execute (embed, apply) → publish
///
/// "Did the store change?" is the plan's answer, and whether the snapshot must be written is the
/// store generation's: the file is republished when it does not show the store as it is (changed,
/// or a publication that failed before), and patched from the previous one when it can be.
package struct SyncCoordinator: Sendable {
    package let store: any TemplateStore
    /// Nil for a coordinator that only switches versions and publishes (no model needed).
    let engine: SyncEngine?
    package let publication: SnapshotPublication
    package let source: SyncSource
    /// The document beside the snapshot that `serve`'s page shows; refreshed after each sync,
    /// switch and publication.
    package let activity: SyncActivityPublication
    /// The FAQ team's checks: run after each sync, and the judge of a new model version.
    package let checks: RetrievalCheckRun
    package let gate: CutOverGate
    let logger: Logger

    /// - Parameter embedder: nil when the caller never syncs (`versions set`, `snapshot publish`).
    /// - Parameter queryEmbedder: an embedder for a stored version's model, to run the checks on
    ///   a version the configured model did not build; by default only the configured model's.
    /// - Parameter syncsRepeatedly: for a coordinator that syncs the same sheet again and again
    ///   (the daemon): the templates of unchanged rows are remembered instead of made again
    ///   (`TemplateMemo`), and the snapshot it published last stays mapped as the next base.
    /// - Parameter deltaPolicy: when an edit is published as a delta over a base file.
    package init(store: any TemplateStore, embedder: (any Embedder)?, snapshotPath: String, source: SyncSource, logger: Logger,
                 gate: CutOverGate = CutOverGate(), queryEmbedder: QueryEmbedderFactory? = nil, syncsRepeatedly: Bool = false,
                 deltaPolicy: DeltaPolicy = DeltaPolicy()) {
        self.store = store
        let memo = syncsRepeatedly ? TemplateMemo() : nil
        let statesMemo = syncsRepeatedly ? StoredStatesMemo() : nil
        engine = embedder.map { SyncEngine(store: store, embedder: $0, logger: logger, memo: memo, statesMemo: statesMemo) }
        publication = SnapshotPublication(store: store, path: snapshotPath, keepsLastPublished: syncsRepeatedly, deltaPolicy: deltaPolicy)
        self.source = source
        activity = SyncActivityPublication(store: store, snapshotPath: snapshotPath, logger: logger)
        self.gate = gate
        self.logger = logger
        let configured = embedder
        checks = RetrievalCheckRun(store: store, source: source, snapshotPath: snapshotPath,
                                   queryEmbedder: queryEmbedder ?? { model in configured?.model == model ? configured : nil }, logger: logger)
    }

    private func syncEngine() throws -> SyncEngine {
        guard let engine else { throw SyncWithoutModel() }
        return engine
    }

    /// Asked before a new model re-embeds everything; false stops the sync with nothing written.
    package typealias ConfirmModelChange = @Sendable (PreparedSync) async -> Bool

    /// A whole sync, as the store's only writer: one report, with the publication in it.
    package func sync(_ options: SyncOptions = SyncOptions(), confirmModelChange: ConfirmModelChange? = nil,
                      progress: @escaping @Sendable (EmbeddingProgress) -> Void = { _ in }) async throws -> SyncReport {
        let engine = try syncEngine()
        do {
            var (report, templates) = try await store.exclusively {
                // The same bytes under the same settings as the last sync, and a snapshot that
                // shows it: nothing to read, embed, write or publish.
                if !options.force, let unchanged = try await engine.unchangedFile(source), try await publication.isCurrent() {
                    return (unchanged, [Template]())
                }
                var prepared = try await engine.prepare(source, options: options)
                if prepared.changesModel, let confirmModelChange, !(await confirmModelChange(prepared)) {
                    throw SyncDeclined(from: prepared.currentVersion?.model, to: prepared.model)
                }
                // A new model version is built complete first; the checks decide whether it serves.
                let current = prepared.changesModel ? prepared.currentVersion : nil
                if current != nil { prepared.makesCurrent = false }
                var (report, changes, applied) = try await engine.executeApplying(prepared, progress: progress)
                if let current {
                    report.cutOver = try await cutOver(to: applied.versionID, from: current)
                }
                report.changedStore = prepared.plan.hasChanges || prepared.changesModel
                report.publication = try await publish(after: changes, applied: applied, generationBefore: prepared.storeGenerationBefore)
                // Quarantined templates are named by their rows (below); the sheet's others are
                // freed off the path.
                let templates = report.quarantined.isEmpty ? [] : prepared.templates
                releaseLater(consume prepared)
                return (report, templates)
            }
            if report.unchangedFile { return report }
            report.checks = await checks.afterSync(current: try await store.currentVersion()?.model)
            // Quarantined templates are named by question and row for the page (only they need it).
            let quarantined = Set(report.quarantined.map(\.templateID))
            var places: SyncActivity.SpreadsheetPlaces = [:]
            for template in templates where quarantined.contains(template.id) { places[template.id] = (template.question, template.rowNumber) }
            await activity.publish(attempt: .init(finishedAt: Date(), succeeded: true, error: nil), places: places,
                                   checks: report.checks, cutOver: report.cutOver)
            return report
        } catch let error as CancellationError {
            throw error
        } catch let declined as SyncDeclined {
            throw declined
        } catch {
            await activity.publish(attempt: .init(finishedAt: Date(), failure: error))
            throw error
        }
    }

    /// What a sync would do and cost; writes nothing, takes no lock.
    package func dryRun(_ options: SyncOptions = SyncOptions()) async throws -> (report: SyncReport, prepared: PreparedSync) {
        let engine = try syncEngine()
        let prepared = try await engine.prepare(source, options: options)
        return (engine.dryRunReport(prepared), prepared)
    }

    /// Makes a stored version current and publishes it, as the store's only writer. A version
    /// whose model the snapshot cannot name is refused before the switch; so is one the checks
    /// find worse than the current version (the cut-over gate), unless `force`.
    package func setCurrentVersion(_ id: Int64, force: Bool = false) async throws -> (version: StoredVersion, publication: PublishedSnapshot?) {
        try await store.exclusively {
            let versions = try await store.versions()
            if let target = versions.first(where: { $0.id == id }) {
                try SnapshotEncoder.validate(model: .init(name: target.model.name, version: target.model.version, dimension: target.model.dimension))
                if !force, let current = versions.first(where: \.isCurrent), current.id != target.id {
                    let decision = try await checks.decide(candidate: target, current: current, gate: gate)
                    guard decision.madeCurrent else { throw CutOverRefused(decision: decision) }
                }
            }
            let version = try await store.setCurrentVersion(id)
            let published = try await publishing { try await publication.publishCurrentVersion() }
            await activity.publish(attempt: nil)
            return (version, published)
        }
    }

    /// A new snapshot generation of the current version, read whole from the store.
    package func publishNow() async throws -> PublishedSnapshot? {
        try await store.exclusively {
            let published = try await publishing { try await publication.publishCurrentVersion() }
            await activity.publish(attempt: nil)
            return published
        }
    }

    /// Merges a delta snapshot and its base into one whole file of the same templates, as the
    /// store's only writer: what the daemon does when it is idle (`DeltaPolicy.idleMergeShare`).
    /// Nil when there was nothing to merge. A raised `stop` ends it with `CancellationError`
    /// before the new file replaces the delta, which keeps serving.
    package func mergeSnapshot(stop: CancellationFlag? = nil) async throws -> PublishedSnapshot? {
        try await store.exclusively {
            try stop?.check()
            guard let merged = try await publishing({ try await publication.mergeDelta(stop: stop) }) else { return nil }
            await activity.publish(attempt: nil)
            return merged
        }
    }

    /// The gate for a new model version just built (not current): scored on the checks against
    /// the current one, made current when it is not worse.
    private func cutOver(to candidateID: Int64, from current: StoredVersion) async throws -> CutOverDecision {
        guard let candidate = try await store.versions().first(where: { $0.id == candidateID }) else {
            throw CheckError(message: "the new version \(candidateID) is missing from the store")
        }
        let decision = try await checks.decide(candidate: candidate, current: current, gate: gate)
        if decision.madeCurrent {
            _ = try await store.setCurrentVersion(candidate.id)
            logger.notice("new model version is current", metadata: ["version": "\(candidate.id)", "model": "\(candidate.model)", "reason": "\(decision.reason)"])
        } else {
            logger.warning("new model version held by the checks", metadata: ["version": "\(candidate.id)", "model": "\(candidate.model)", "reason": "\(decision.reason)"])
        }
        return decision
    }

    private func publish(after changes: StoreChanges, applied: AppliedChanges, generationBefore: Int64) async throws -> PublishedSnapshot? {
        try await publishing { try await publication.publish(after: changes, applied: applied, generationBefore: generationBefore) }
    }

    private func publishing(_ body: () async throws -> PublishedSnapshot?) async throws -> PublishedSnapshot? {
        do { return try await body() } catch let error as CancellationError { throw error } catch {
            throw SnapshotPublicationError(snapshotPath: publication.path, cause: error)
        }
    }
}

/// A coordinator built without a model was asked to sync: a programming error, reported as one.
struct SyncWithoutModel: Error, CustomStringConvertible {
    var description: String { "this coordinator was built without an embedding model and cannot sync" }
}

/// `versions set` without `--force` for a version the checks find worse than the current one.
package struct CutOverRefused: Error, CustomStringConvertible {
    package let decision: CutOverDecision
    package var description: String { "\(decision.reason); \(hint ?? "")" }
}

/// The operator answered no to re-embedding everything for a new model.
package struct SyncDeclined: Error, CustomStringConvertible {
    package let from: ModelIdentity?
    package let to: ModelIdentity
    package var description: String { "the switch to \(to) was declined; nothing changed" }
}

/// The store was updated but the snapshot could not be written; the next sync retries it (the
/// store generation says the file is stale).
package struct SnapshotPublicationError: Error, CustomStringConvertible {
    package let snapshotPath: String
    package let cause: any Error

    package var description: String {
        "the store was updated, but the snapshot \(snapshotPath) could not be published (\(cause)); readers keep the previous snapshot. Fix the cause and run `faqsync snapshot publish` or sync again"
    }
}

extension SyncWithoutModel: CodedError {
    var errorCode: String { "no-model" }
}

extension CutOverRefused: CodedError {
    package var errorCode: String { "cut-over-refused" }
    package var hint: String? { "`faqsync versions set \(decision.candidateVersionID.map(String.init) ?? "ID") --force` makes it current anyway" }
}

extension SyncDeclined: CodedError {
    package var errorCode: String { "declined" }
}

extension SnapshotPublicationError: CodedError {
    package var errorCode: String { "publication-failed" }
    package var underlying: (any Error)? { cause }
}
