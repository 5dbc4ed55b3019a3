import SystemIO
import Embedding
import Foundation
import Redaction
import Logging
import Reconciliation
import SnapshotFormat
import SpreadsheetReading
import TemplateStore

/// Runs syncs: spreadsheet → plan → embed the delta through the cache → one transaction. Reached
/// only through `SyncCoordinator`, which holds the writer lock and publishes what it wrote.
///
/// The store's templates and current version change only in `apply`'s single transaction, so a
/// failure at any earlier point (bad file, model outage, full disk) leaves them as they were.
/// Vectors received before a failure stay in the cache, so the next attempt does not pay again.
struct SyncEngine: Sendable {
    let store: any TemplateStore
    let embedder: any Embedder
    let logger: Logger
    /// The templates of the last sheet read, in a process that syncs repeatedly (the daemon).
    let memo: TemplateMemo?
    /// The store's template states as the last sync left them, in the same kind of process.
    let statesMemo: StoredStatesMemo?

    init(store: any TemplateStore, embedder: any Embedder, logger: Logger, memo: TemplateMemo? = nil, statesMemo: StoredStatesMemo? = nil) {
        self.store = store
        self.embedder = embedder
        self.logger = logger
        self.memo = memo
        self.statesMemo = statesMemo
    }

    /// The report of a sync that need not read the file, or nil when it must be read: the last
    /// sync (of any outcome) succeeded on this path with these bytes and these settings, into the
    /// version that is still current. Costs one hash of the file and a few reads of the store.
    /// Writes nothing and records no run (nothing happened).
    func unchangedFile(_ source: SyncSource) async throws -> SyncReport? {
        let startedAt = Date()
        // Checks kept in a file of their own (CHECKS_PATH) may change while the FAQ does not:
        // the full path runs them again.
        if case .file = source.checks { return nil }
        guard store.exists(), let last = try await store.recentRuns(limit: 1, changesPerRun: 0).first, last.outcome == .succeeded,
              last.sourcePath == source.faqURL.path, let lastSHA256 = last.sourceSHA256,
              last.settingsSHA256 == source.settingsFingerprint(model: embedder.model),
              let current = try await store.currentVersion(), current.id == last.versionID, current.model == embedder.model
        else { return nil }
        let path = source.faqURL.path
        // A file that cannot be hashed (gone, unreadable) takes the full path, which reports it.
        guard let sha256 = try? await BlockingExecutor.shared.run({ try ContentHash.sha256Hex(ofFileAt: path) }),
              sha256 == lastSHA256 else { return nil }
        var report = SyncReport(model: embedder.model, sourcePath: path, sourceSHA256: sha256)
        report.unchangedFile = true
        report.versionID = current.id
        report.templates = current.templateCount
        report.unchanged = current.templateCount
        report.skippedRows = SkippedRow.decodeList(last.skippedRowsJSON)
        report.quarantined = try await store.quarantine(model: current.model)
        report.durationS = Date().timeIntervalSince(startedAt)
        return report
    }

    /// Reads the spreadsheet and plans against the store. Writes nothing.
    func prepare(_ source: SyncSource, options: SyncOptions = SyncOptions()) async throws -> PreparedSync {
        let startedAt = Date()
        do {
            return try await prepare(source, options: options, startedAt: startedAt)
        } catch {
            await recordFailure(error, source: source, sha256: nil, startedAt: startedAt, counts: nil)
            throw error
        }
    }

    private func prepare(_ source: SyncSource, options: SyncOptions, startedAt: Date) async throws -> PreparedSync {
        // A model the snapshot cannot name must be refused now, before the store commits a
        // version that could never be published.
        try SnapshotEncoder.validate(model: SnapshotEncoder.Model(name: embedder.model.name, version: embedder.model.version,
                                                                 dimension: embedder.model.dimension))
        // Parsing and hashing (threads of their own) overlap with reading the store's state.
        // The hash is of exactly the bytes parsed, taken as they are read: one read of the file.
        let memo = self.memo
        async let parsed = BlockingExecutor.shared.run {
            var hasher = ContentHash.Stream()
            let table = try source.reader.read(source.faqURL) { hasher.update($0) }
            return (Template.sheetTemplates(from: table, modelInput: source.modelInput, memo: memo), hasher.finalizeHex())
        }
        let model = embedder.model
        let versions = store.exists() ? try await store.versions() : []
        let generationBefore = try await store.generation()
        let current = versions.first(where: \.isCurrent)
        let target = versions.first(where: { $0.model == model })
        var stored: [String: StoredTemplateState] = [:]
        if let target {
            stored = if let remembered = statesMemo?.take(versionID: target.id, generation: generationBefore) { remembered } else {
                try await store.templateStates(versionID: target.id)
            }
        }
        let (sheet, sha256) = try await parsed
        let held = sheet.heldIdentities, force = options.force, desired = sheet.templates, states = stored
        let plan = try await BlockingExecutor.shared.run {
            Reconciler.plan(desired: desired, stored: states, held: held, reembedAll: force)
        }

        let cached: [String: [Float]]
        if options.force || plan.needingVectors.isEmpty || !store.exists() {
            cached = [:]
        } else {
            let hashes = Array(Set(plan.needingVectors.map { $0.inputHash }))
            cached = try await store.cachedVectors(model: model, inputHashes: hashes)
        }
        var knownRejections: [String: String] = [:]
        if target != nil, !plan.needingVectors.isEmpty {
            for entry in try await store.quarantine(model: model) { knownRejections[entry.inputHash] = entry.reason }
        }
        let texts = plan.textsToEmbed(skipping: { cached[$0] != nil || knownRejections[$0] != nil })
        if let statesMemo, let target {
            // Advanced by what this sync commits (`executeApplying`), or left as the store is.
            statesMemo.remember(stored, versionID: target.id, generation: generationBefore)
        } else {
            releaseLater(consume stored)
        }
        // Skipped rows travel in the report; the caller presents them (the summary, --json,
        // the daemon's log and STATUS= line), so they are not logged here a second time.
        return PreparedSync(sourcePath: source.faqURL.path, sourceSHA256: sha256,
                            settingsSHA256: source.settingsFingerprint(model: model), templates: sheet.templates,
                            skippedRows: sheet.skippedRows, model: model,
                            currentVersion: current, targetVersion: target, plan: plan, textsToEmbed: texts,
                            cachedVectors: cached, knownRejections: knownRejections, force: options.force,
                            batchSize: max(1, options.batchSize ?? embedder.preferredBatchSize),
                            maxConcurrency: options.maxConcurrency, historyRuns: options.historyRuns, startedAt: startedAt,
                            storeGenerationBefore: generationBefore)
    }

    /// Embeds what the plan needs and applies it in one transaction; returns what was written,
    /// which the snapshot is patched from.
    func executeApplying(_ prepared: PreparedSync, progress: @escaping @Sendable (EmbeddingProgress) -> Void)
        async throws -> (report: SyncReport, changes: StoreChanges, applied: AppliedChanges) {
        var report = prepared.baseReport()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let embedded = try await embedMissing(prepared, report: &report, start: start, clock: clock, progress: progress)
            var vectors = prepared.cachedVectors.merging(embedded.vectors) { _, new in new }
            let rejections = prepared.knownRejections.merging(embedded.rejections) { _, new in new }
            try Task.checkCancellation()

            // A rejected template keeps its previous stored state (or is left out if new).
            let now = Date()
            report.quarantined = prepared.plan.needingVectors.compactMap { template in
                rejections[template.inputHash].map {
                    QuarantinedTemplate(templateID: template.id, inputHash: template.inputHash, reason: $0, since: now)
                }
            }
            vectors = vectors.filter { rejections[$0.key] == nil }
            var changes = StoreChanges(model: prepared.model, run: prepared.runRecord(report: report, outcome: .succeeded))
            changes.inserts = prepared.plan.new.compactMap { template in
                vectors[template.inputHash].map { StoredTemplate(template, vector: $0) }
            }
            changes.vectorUpdates = prepared.plan.modified.compactMap { template in
                vectors[template.inputHash].map { StoredTemplate(template, vector: $0) }
            }
            changes.fieldUpdates = prepared.plan.metadataOnly.map { StoredTemplate($0, vector: []) }
            changes.deletions = prepared.plan.deleted
            // What the FAQ team sees changed: what was written (a quarantined template was not).
            changes.changeLog = changes.inserts.map { SyncChange(templateID: $0.id, question: $0.question, kind: .new) }
                + changes.vectorUpdates.map { SyncChange(templateID: $0.id, question: $0.question, kind: .modified) }
                + changes.fieldUpdates.map { SyncChange(templateID: $0.id, question: $0.question, kind: .metadataOnly) }
            changes.historyRuns = prepared.historyRuns
            changes.makeCurrent = prepared.makesCurrent
            changes.hybridDenseWeight = embedder.hybridDenseWeight
            changes.quarantine = report.quarantined
            let applied = try await store.apply(changes)
            statesMemo?.advance(versionID: applied.versionID, from: prepared.storeGenerationBefore, to: applied.generation, by: changes)
            report.versionID = applied.versionID
            report.templates = applied.templateCount
            report.durationS = Date().timeIntervalSince(prepared.startedAt)
            logger.info("sync complete", metadata: [
                "new": "\(report.new)", "modified": "\(report.modified)", "metadata_only": "\(report.metadataOnly)",
                "deleted": "\(report.deleted)", "unchanged": "\(report.unchanged)", "embedded": "\(report.embeddedTexts)",
                "cache_hits": "\(report.cacheHits)", "requests": "\(report.embeddingRequests)",
                "tokens": "\(report.tokens.map(String.init) ?? "-")", "quarantined": "\(report.quarantined.count)",
                "version": "\(applied.versionID)", "templates": "\(applied.templateCount)",
                "duration_s": "\(String(format: "%.3f", report.durationS))",
            ])
            return (report, changes, applied)
        } catch {
            await recordFailure(error, source: nil, sha256: prepared.sourceSHA256, startedAt: prepared.startedAt,
                                counts: prepared.runRecord(report: report, outcome: .failed))
            throw error
        }
    }

    /// Sends the texts the plan needs in batches, up to `maxConcurrency` at once. Each batch's
    /// accepted vectors are validated and cached as soon as it arrives, so a later failure
    /// loses nothing already paid for.
    private func embedMissing(_ prepared: PreparedSync, report: inout SyncReport, start: ContinuousClock.Instant,
                              clock: ContinuousClock, progress: @escaping @Sendable (EmbeddingProgress) -> Void)
        async throws -> (vectors: [String: [Float]], rejections: [String: String]) {
        let batches = stride(from: 0, to: prepared.textsToEmbed.count, by: prepared.batchSize).map {
            Array(prepared.textsToEmbed[$0..<min($0 + prepared.batchSize, prepared.textsToEmbed.count)])
        }
        guard !batches.isEmpty else { return ([:], [:]) }
        var vectors: [String: [Float]] = [:]
        var rejections: [String: String] = [:]
        var completed = 0
        let embedder = self.embedder, store = self.store, model = prepared.model
        try await withThrowingTaskGroup(of: (batch: [(inputHash: String, text: String)], result: EmbeddingBatchResult).self) { group in
            var next = 0
            func launch() {
                let batch = batches[next]
                next += 1
                group.addTask {
                    let result = try await embedder.embedReportingCosts(batch.map(\.text), as: .passage)
                    let accepted = zip(batch, result.vectors).compactMap { entry, vector in vector.map { (entry.inputHash, $0) } }
                    try EmbeddingValidation.validate(accepted.map(\.1), inputs: accepted.count, model: model)
                    try await store.cache(model: model, vectors: accepted.map { (inputHash: $0.0, vector: $0.1) })
                    return (batch, result)
                }
            }
            while next < min(prepared.maxConcurrency, batches.count) { launch() }
            while let (batch, result) = try await group.next() {
                completed += 1
                report.embeddingRequests += result.requests
                if let tokens = result.tokens { report.tokens = (report.tokens ?? 0) + tokens }
                for (entry, vector) in zip(batch, result.vectors) {
                    if let vector {
                        vectors[entry.inputHash] = vector
                        report.embeddedTexts += 1
                    }
                }
                for (index, reason) in result.rejections { rejections[batch[index].inputHash] = reason }
                progress(EmbeddingProgress(completedBatches: completed, totalBatches: batches.count,
                                           completedTexts: report.embeddedTexts, totalTexts: prepared.textsToEmbed.count,
                                           elapsed: clock.now - start))
                // Shutdown (SIGTERM) cancels the sync: stop sending; what arrived is cached.
                try Task.checkCancellation()
                if next < batches.count { launch() }
            }
        }
        return (vectors, rejections)
    }


    /// A dry run's report: what `execute` would do.
    func dryRunReport(_ prepared: PreparedSync) -> SyncReport {
        var report = prepared.baseReport()
        report.dryRun = true
        report.versionID = prepared.targetVersion?.id
        report.templates = prepared.templates.count
        report.durationS = Date().timeIntervalSince(prepared.startedAt)
        return report
    }

    private func recordFailure(_ error: any Error, source: SyncSource?, sha256: String?, startedAt: Date, counts: SyncRunRecord?) async {
        // When the store itself failed, writing the failure into it would only fail again.
        if error is StoreError { return }
        var run = counts ?? SyncRunRecord(startedAt: startedAt, finishedAt: Date(), sourcePath: source?.faqURL.path ?? "",
                                          sourceSHA256: sha256, outcome: .failed)
        run.outcome = .failed
        run.finishedAt = Date()
        // Kept in the store and shown by status, the page and /v1/syncs: masked and bounded.
        run.error = Redaction.bounded(String(describing: error), limit: 2_000)
        do {
            try await store.record(failedRun: run)
        } catch {
            logger.warning("could not record the failed sync in the store", metadata: ["error": "\(error)"])
        }
    }
}

extension PreparedSync {
    func baseReport() -> SyncReport {
        var report = SyncReport(model: model, sourcePath: sourcePath, sourceSHA256: sourceSHA256)
        report.new = plan.new.count
        report.modified = plan.modified.count
        report.metadataOnly = plan.metadataOnly.count
        report.deleted = plan.deleted.count
        report.unchanged = plan.unchanged.count
        report.cacheHits = Set(plan.needingVectors.map { $0.inputHash }).count - textsToEmbed.count
        report.previousModel = changesModel ? currentVersion?.model : nil
        report.skippedRows = skippedRows
        return report
    }

    func runRecord(report: SyncReport, outcome: SyncRunRecord.Outcome) -> SyncRunRecord {
        var run = SyncRunRecord(startedAt: startedAt, finishedAt: Date(), sourcePath: sourcePath,
                                sourceSHA256: sourceSHA256, outcome: outcome)
        run.versionID = targetVersion?.id
        run.counts = report.counts
        run.settingsSHA256 = settingsSHA256
        run.quarantined = report.quarantined.count
        run.skippedRowsJSON = SkippedRow.encodeList(report.skippedRows)
        return run
    }
}
