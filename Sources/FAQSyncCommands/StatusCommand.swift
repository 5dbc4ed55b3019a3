import ArgumentParser
import Embedding
import Foundation
import RetrievalChecks
import Settings
import SpreadsheetReading
import SnapshotReader
import SyncActivity
import TemplateStore

extension FAQSyncCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the store, its versions, the last sync and the snapshot, and check its integrity.",
            discussion: """
                For monitoring, the exit code says what is wrong: 0 all is well; 1 the store cannot be read, there is \
                none, or it fails its integrity check; 3 the last sync failed (the last good state keeps serving); \
                4 there is no snapshot showing the store as it is (missing, unreadable, or older than the store's \
                last change; the next sync publishes it). When several hold, the lowest code is given.
                """)

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await withFailureHandling(json: common.json) { try await status() }
        }

        private func status() async throws {
            let configuration = try common.configuration()
            let store = configuration.makeStore()
            guard store.exists() else {
                throw StoreError(code: .openFailed, location: store.location, message: "there is no store yet",
                                 hint: "run `faqsync sync` to create it")
            }
            let versions = try await store.versions()
            // The recent syncs as the FAQ team's page and GET /v1/syncs have them (same bounds).
            let activity = try await SyncActivity.read(from: store, lastAttempt: nil)
            let runs = activity.recentSyncs
            let quarantined = activity.quarantined
            let integrity = try await store.checkIntegrity()
            let publication = try await store.lastSnapshotPublication()
            let snapshot = SnapshotStatus(path: configuration.snapshotPath, publication: publication)
            let health = StatusHealth(integrityPassed: integrity.passed, lastRun: runs.first, hasCurrentVersion: versions.contains(where: \.isCurrent),
                                      snapshot: snapshot, storeGeneration: try await store.generation())
            // The checks and the last cut-over decision, from the document the writer published
            // beside the snapshot (the store keeps no check results); those of the current version only.
            let published = try? SyncActivityFile(besideSnapshot: configuration.snapshotPath).read()
            let current = versions.first(where: \.isCurrent)
            let checks = published?.checks.flatMap { report in
                report.modelName == current?.model.name && report.modelVersion == current?.model.version ? report : nil
            }
            let output = StatusOutput(
                store: store.location, backend: configuration.backend.rawValue,
                currentVersion: versions.first(where: \.isCurrent).map(VersionOutput.init),
                versions: versions.map(VersionOutput.init),
                lastRun: runs.first.map(RunOutput.init),
                lastSuccess: runs.first(where: { $0.outcome == .succeeded }).map(RunOutput.init),
                quarantined: quarantined,
                recentSyncs: runs.map(RunOutput.init),
                snapshot: snapshot,
                integrity: IntegrityOutput(integrity),
                checks: checks, cutOver: published?.cutOver, health: health)
            if common.json {
                try JSONOutput.print(output)
            } else {
                print(output.text)
            }
            if health.exitCode != 0 { throw ExitCode(health.exitCode) }
        }
    }
}

struct VersionOutput: Encodable {
    let id: Int64
    let modelName: String
    let modelVersion: String
    let dimension: Int
    let current: Bool
    let templates: Int
    let createdAt: Date

    init(_ version: StoredVersion) {
        id = version.id
        modelName = version.model.name
        modelVersion = version.model.version
        dimension = version.model.dimension
        current = version.isCurrent
        templates = version.templateCount
        createdAt = version.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, modelName = "model_name", modelVersion = "model_version", dimension, current, templates, createdAt = "created_at"
    }

    var line: String {
        "\(current ? "*" : " ") \(id)  \(modelName) \(modelVersion)  \(dimension) dims  \(templates) templates  created \(createdAt.formatted(.iso8601))"
    }
}

struct RunOutput: Encodable {
    let run: SyncActivity.Run

    init(_ run: SyncActivity.Run) { self.run = run }

    /// The public document's names for a run, shared with `GET /v1/syncs`.
    func encode(to encoder: any Encoder) throws { try run.encode(to: encoder) }

    var line: String {
        let when = run.finishedAt.formatted(.iso8601)
        switch run.outcome {
        case .succeeded:
            return "\(when) succeeded: \(run.new) new, \(run.modified) modified, \(run.metadataOnly) metadata-only, \(run.deleted) deleted, \(run.unchanged) unchanged; \(run.embeddedTexts) embedded in \(Summary.count(run.embeddingRequests, "request"))\(run.tokens.map { " (\($0) tokens)" } ?? ""), \(run.cacheHits) from cache\(run.quarantined > 0 ? ", \(run.quarantined) quarantined" : "")\(run.skippedRows.isEmpty ? "" : ", \(Summary.count(run.skippedRows.count, "row")) skipped")"
        case .failed:
            return "\(when) FAILED: \(run.error ?? "unknown error")"
        }
    }
}

struct StatusOutput: Encodable {
    let store: String
    let backend: String
    let currentVersion: VersionOutput?
    let versions: [VersionOutput]
    let lastRun: RunOutput?
    let lastSuccess: RunOutput?
    let quarantined: [SyncActivity.Quarantined]
    /// The last 20 runs, newest first, each with the templates it touched.
    let recentSyncs: [RunOutput]
    /// The rows the last successful sync left out: what the spreadsheet still needs fixed.
    var skippedRows: [SkippedRow] { lastSuccess?.run.skippedRows ?? [] }
    let snapshot: SnapshotStatus
    let integrity: IntegrityOutput
    /// The FAQ team's checks on the current version after the last sync that ran them.
    let checks: CheckReport?
    /// The last decision on a new model version (held ones say why, with both scores).
    let cutOver: CutOverDecision?
    let health: StatusHealth

    enum CodingKeys: String, CodingKey {
        case store, backend, currentVersion = "current_version", versions, lastRun = "last_run"
        case lastSuccess = "last_success", quarantined, skippedRows = "skipped_rows", recentSyncs = "recent_syncs", snapshot, integrity
        case checks, cutOver = "cut_over", exitCode = "exit_code", problems
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(store, forKey: .store)
        try c.encode(backend, forKey: .backend)
        try c.encode(currentVersion, forKey: .currentVersion)
        try c.encode(versions, forKey: .versions)
        try c.encode(lastRun, forKey: .lastRun)
        try c.encode(lastSuccess, forKey: .lastSuccess)
        try c.encode(quarantined, forKey: .quarantined)
        try c.encode(skippedRows, forKey: .skippedRows)
        try c.encode(recentSyncs, forKey: .recentSyncs)
        try c.encode(snapshot, forKey: .snapshot)
        try c.encode(integrity, forKey: .integrity)
        try c.encode(checks, forKey: .checks)
        try c.encode(cutOver, forKey: .cutOver)
        try c.encode(health.exitCode, forKey: .exitCode)
        try c.encode(health.problems.map(\.text), forKey: .problems)
    }

    var text: String {
        var table = KeyValueTable()
        table.add("store", "\(store) (\(backend))")
        if let current = currentVersion {
            table.add("current", "version \(current.id): \(current.modelName) \(current.modelVersion) (\(current.dimension) dimensions), \(current.templates) templates")
        } else {
            table.add("current", "none")
        }
        table.add("last sync", lastRun?.line ?? "never")
        if let lastRun, lastRun.run.outcome == .failed, let lastSuccess {
            table.add("last success", lastSuccess.line)
        }
        table.add("snapshot", snapshot.line)
        table.add("integrity", integrity.passed ? "passed (\(integrity.checkedTemplates) templates checked)" : "FAILED")
        if let checks { table.add("checks", Summary.render(checks).trimmingCharacters(in: .whitespaces).dropFirst("checks".count).trimmingCharacters(in: .whitespaces)) }
        if let cutOver, !cutOver.madeCurrent { table.add("new model", "HELD: \(cutOver.reason)") }
        table.add("health", health.problems.isEmpty ? "ok" : health.problems.map { "\($0.text) (exit \($0.exitCode))" }.joined(separator: "; "))
        var text = "faqsync status\n" + table.render()
        text += "\nversions:\n" + versions.map { "  " + $0.line }.joined(separator: "\n")
        if !quarantined.isEmpty {
            text += "\nquarantined (the provider rejected their text; they keep their previous state until it changes):\n"
                + quarantined.map { "  - \($0.templateID) since \($0.since.formatted(.iso8601)): \($0.reason)" }.joined(separator: "\n")
        }
        let touched = recentSyncs.filter { !$0.run.changes.isEmpty }.prefix(5)
        if !touched.isEmpty {
            text += "\nrecent changes:\n" + touched.map { output in
                let changes = output.run.changes
                let listed = changes.prefix(5).map { "      \($0.kind.rawValue): \($0.question.prefix(100))" }.joined(separator: "\n")
                return "  \(output.run.finishedAt.formatted(.iso8601)):\n" + listed + (changes.count > 5 ? "\n      … and \(changes.count - 5) more" : "")
            }.joined(separator: "\n")
        }
        if !skippedRows.isEmpty {
            text += "\nskipped rows (fix them in the spreadsheet; the rest of it synced):\n"
                + skippedRows.map { "  - \($0.summary)" }.joined(separator: "\n")
        }
        if !integrity.passed { text += "\nproblems:\n" + integrity.problems.map { "  - \($0)" }.joined(separator: "\n") }
        return text
    }
}

/// The snapshot as readers see it (the file's header) and as the store last published it.
struct SnapshotStatus: Encodable {
    let path: String
    let fileGeneration: UInt64?
    let fileTemplates: Int?
    let fileProblem: String?
    let lastPublished: PublishedSnapshot?

    init(path: String, publication: PublishedSnapshot?) {
        self.path = path
        lastPublished = publication
        do {
            let mapped = try MappedSnapshot(path: path)
            fileGeneration = mapped.generation
            fileTemplates = mapped.contents.count
            fileProblem = nil
        } catch {
            fileGeneration = nil
            fileTemplates = nil
            fileProblem = "\(error)"
        }
    }

    enum CodingKeys: String, CodingKey {
        case path, fileGeneration = "generation", fileTemplates = "templates", fileProblem = "problem"
        case lastPublishedGeneration = "last_published_generation", lastPublishedAt = "last_published_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(fileGeneration, forKey: .fileGeneration)
        try c.encodeIfPresent(fileTemplates, forKey: .fileTemplates)
        try c.encodeIfPresent(fileProblem, forKey: .fileProblem)
        try c.encodeIfPresent(lastPublished?.generation, forKey: .lastPublishedGeneration)
        try c.encodeIfPresent(lastPublished?.publishedAt, forKey: .lastPublishedAt)
    }

    /// Why the file does not show the store as it is now, or nil when it does.
    func problem(storeGeneration: Int64) -> String? {
        guard let fileGeneration else { return "no snapshot at \(path)" + (fileProblem.map { " (\($0))" } ?? "") }
        guard let lastPublished else { return "the snapshot at \(path) was not published by this store" }
        if fileGeneration != lastPublished.generation {
            return "the snapshot at \(path) is generation \(fileGeneration), not the \(lastPublished.generation) this store published last"
        }
        if lastPublished.storeGeneration != storeGeneration { return "the snapshot at \(path) is older than the store's last change" }
        return nil
    }

    var line: String {
        if let fileGeneration, let fileTemplates {
            let stale = lastPublished.map { $0.generation != fileGeneration } ?? false
            return "\(path): generation \(fileGeneration), \(fileTemplates) templates" + (stale ? " (the store last published \(lastPublished!.generation))" : "")
        }
        return "\(path): \(fileProblem ?? "not published yet")"
    }
}

/// What `status` reports to monitoring: each problem with its exit code, the lowest one given.
struct StatusHealth {
    struct Problem {
        let exitCode: Int32
        let text: String
    }

    let problems: [Problem]

    var exitCode: Int32 { problems.map(\.exitCode).min() ?? 0 }

    init(integrityPassed: Bool, lastRun: SyncActivity.Run?, hasCurrentVersion: Bool, snapshot: SnapshotStatus, storeGeneration: Int64) {
        var problems: [Problem] = []
        if !integrityPassed { problems.append(Problem(exitCode: 1, text: "the integrity check failed")) }
        if lastRun?.outcome == .failed { problems.append(Problem(exitCode: 3, text: "the last sync failed")) }
        if !hasCurrentVersion {
            problems.append(Problem(exitCode: 4, text: "the store has no current version to publish"))
        } else if let problem = snapshot.problem(storeGeneration: storeGeneration) {
            problems.append(Problem(exitCode: 4, text: problem))
        }
        self.problems = problems
    }
}
