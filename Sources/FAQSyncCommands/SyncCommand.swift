import SpreadsheetReading
import ArgumentParser
import RetrievalChecks
import Foundation
import Logging
import SyncEngine
import Settings
import SQLiteStore
import TemplateStore

extension FAQSyncCommand {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the spreadsheet, embed only what changed, and store it in one transaction.")

        @OptionGroup var common: CommonOptions

        @Flag(help: "Re-embed every template, bypassing the embedding cache.")
        var force = false

        @Flag(help: "Show what would change and what it would cost; write nothing.")
        var dryRun = false

        @Flag(help: "Run the integrity check after the sync; fail if it fails.")
        var validate = false

        @Flag(help: "Answer yes to the question asked before re-embedding everything for a new model.")
        var yes = false

        func run() async throws {
            try await withFailureHandling(json: common.json) { try await sync() }
        }

        private func sync() async throws {
            let configuration = try common.configuration()
            // A failed start leaves nothing behind: no store, lock or activity document for a
            // spreadsheet that is not there.
            try SpreadsheetReader.checkReadable(configuration.faqURL)
            let store = configuration.makeStore()
            // Nor beside a store it refuses (the original system's): no lock, no activity document.
            try store.refuseForeignStore()
            try await store.closingAfterwards { try await sync(configuration, store) }
        }

        private func sync(_ configuration: FAQSyncConfiguration, _ store: any TemplateStore) async throws {
            let embedder = try await configuration.makeEmbedder(knownDimension: try await configuration.knownDimension(in: store))
            let coordinator = configuration.makeCoordinator(store: store, embedder: embedder, logger: Logger(label: "faqsync.sync"))
            let options = SyncOptions(force: force, batchSize: configuration.embedding.batchSize,
                                      maxConcurrency: configuration.embedding.maxConcurrency, historyRuns: configuration.syncHistory)
            if dryRun {
                let (report, prepared) = try await coordinator.dryRun(options)
                if common.json { try JSONOutput.print(DryRunOutput(report: report, textsToEmbed: prepared.textsToEmbed.count)) }
                else { print(Summary.render(report, textsToEmbed: prepared.textsToEmbed.count, batches: prepared.batchCount, store: store.location, dryRun: true, forced: force)) }
                return
            }
            let bar = (Terminal.stderrIsTerminal && !common.json) ? ProgressBar() : nil
            let ask = yes || !Terminal.stdinIsTerminal ? nil : { @Sendable (prepared: PreparedSync) async -> Bool in
                Terminal.writeError("""
                    The embedding model changed: \(prepared.currentVersion.map { "\($0.model)" } ?? "none") → \(prepared.model).
                    \(Summary.count(prepared.textsToEmbed.count, "text")) will be embedded into a new version; the current one keeps serving until it is complete.

                    """)
                return Terminal.confirm("Re-embed now?")
            }
            let report: SyncReport
            do {
                // Planned, embedded, applied and published as the store's only writer: a second
                // `faqsync sync` (or a daemon on another host) waits, then plans from this one's result.
                report = try await coordinator.sync(options, confirmModelChange: ask) { bar?.update($0) }
            } catch is SyncDeclined {
                Terminal.writeError("Nothing changed.\n")
                throw ExitCode(1)
            }
            var integrity: IntegrityReport?
            if validate { integrity = try await store.checkIntegrity() }

            if common.json {
                try JSONOutput.print(SyncOutput(report: report, integrity: integrity.map(IntegrityOutput.init),
                                                snapshot: SnapshotOutput(path: configuration.snapshotPath, published: report.publication)))
            } else {
                print(Summary.render(report, textsToEmbed: 0, batches: 0, store: store.location, dryRun: false, forced: force))
                print(report.publication.map { "  snapshot       generation \($0.generation) published to \($0.path)" }
                      ?? "  snapshot       \(configuration.snapshotPath) is current")
                if let checks = report.checks { print(Summary.render(checks)) }
                if let cutOver = report.cutOver {
                    if cutOver.madeCurrent { print("  new model      made current: \(cutOver.reason)") }
                    else { Terminal.writeError("faqsync: the new model version was built but not made current: \(cutOver.reason)\n") }
                }
                if let integrity { print(Summary.render(integrity)) }
            }
            if let integrity, !integrity.passed { throw ExitCode(1) }
        }
    }
}

struct SyncOutput: Encodable {
    let report: SyncReport
    let integrity: IntegrityOutput?
    let snapshot: SnapshotOutput

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(integrity, forKey: .integrity)
        try container.encode(snapshot, forKey: .snapshot)
    }

    enum Key: String, CodingKey { case integrity, snapshot }
}

struct SnapshotOutput: Encodable {
    let path: String
    /// The generation published by this command; nil when the file was already current.
    let published: PublishedSnapshot?

    enum CodingKeys: String, CodingKey { case path, publishedGeneration = "published_generation" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encodeIfPresent(published?.generation, forKey: .publishedGeneration)
    }
}

struct DryRunOutput: Encodable {
    let report: SyncReport
    let textsToEmbed: Int

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(textsToEmbed, forKey: .textsToEmbed)
    }

    enum Key: String, CodingKey { case textsToEmbed = "texts_to_embed" }
}

struct IntegrityOutput: Encodable {
    let passed: Bool
    let checkedTemplates: Int
    let problems: [String]

    init(_ report: IntegrityReport) {
        passed = report.passed
        checkedTemplates = report.checkedTemplates
        problems = report.problems
    }

    enum CodingKeys: String, CodingKey { case passed, checkedTemplates = "checked_templates", problems }
}

enum Summary {
    /// The checks line: how the current version did, and where the misses are listed.
    static func render(_ checks: CheckReport) -> String {
        guard let primary = checks.primary, primary.total > 0 else {
            return "  checks         none usable in \(checks.source)\(checks.problem.map { ": \($0)" } ?? "")"
        }
        var line = "  checks         \(primary.top3) of \(primary.total) in the top 3, \(primary.top1) first (\(primary.mode))"
        if !checks.misses.isEmpty { line += "; \(checks.misses.count) missed, listed by `faqsync eval`" }
        if !checks.skipped.isEmpty { line += "; \(checks.skipped.count) check row(s) skipped" }
        return line
    }

    /// - Parameter forced: `--force`: every stored template counts as modified for the planner;
    ///   the table says "re-embedded" then, since most did not change.
    static func render(_ report: SyncReport, textsToEmbed: Int, batches: Int, store: String, dryRun: Bool, forced: Bool = false) -> String {
        var table = KeyValueTable()
        if report.unchangedFile {
            table.add("source", "\(report.sourcePath) (sha256 \(report.sourceSHA256.prefix(12))…)")
            table.add("store", store)
            table.add("templates", "\(report.templates), version \(report.versionID.map { "\($0)" } ?? "-")")
            table.add("duration", String(format: "%.3f s", report.durationS))
            if !report.skippedRows.isEmpty { table.add("skipped", "\(Self.count(report.skippedRows.count, "row")) (below), as at the last sync") }
            return "Unchanged: the same bytes and settings as the last sync, which the store and the snapshot show;\n"
                + "nothing was read (`faqsync sync --force` reads and re-embeds it anyway).\n" + table.render()
                + skippedRowsSection(report)
        }
        table.add("source", "\(report.sourcePath) (sha256 \(report.sourceSHA256.prefix(12))…)")
        table.add("store", store)
        if let previous = report.previousModel { table.add("model", "\(previous) → \(report.model)") }
        else { table.add("model", "\(report.model)") }
        table.add("new", "\(report.new)")
        if forced { table.add("re-embedded", "\(report.modified) (--force: every stored template, changed or not)") }
        else { table.add("modified", "\(report.modified)") }
        table.add("metadata only", "\(report.metadataOnly)")
        table.add("deleted", "\(report.deleted)")
        table.add("unchanged", "\(report.unchanged)")
        if dryRun {
            table.add("to embed", "\(Self.count(textsToEmbed, "text")) in \(Self.count(batches, "request")) (\(report.cacheHits) from cache)")
        } else {
            table.add("embedded", "\(Self.count(report.embeddedTexts, "text")) in \(Self.count(report.embeddingRequests, "request")) (\(report.cacheHits) from cache)")
            table.add("version", report.versionID.map { "\($0)" } ?? "-")
        }
        table.add("templates", "\(report.templates)")
        table.add("duration", String(format: "%.3f s", report.durationS))
        if !report.skippedRows.isEmpty { table.add("skipped", "\(Self.count(report.skippedRows.count, "row")) (below); the rest synced") }
        return (dryRun ? "Dry run, nothing written:\n" : "Sync complete:\n") + table.render() + skippedRowsSection(report)
    }

    static func skippedRowsSection(_ report: SyncReport) -> String {
        guard !report.skippedRows.isEmpty else { return "" }
        return "\nskipped rows (fix them in the spreadsheet and save again; a template stored before keeps its last state):\n"
            + report.skippedRows.map { "  - \($0.summary)" }.joined(separator: "\n")
    }

    static func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }

    static func render(_ integrity: IntegrityReport) -> String {
        if integrity.passed { return "Integrity check passed (\(integrity.checkedTemplates) templates)." }
        return "Integrity check FAILED:\n" + integrity.problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
