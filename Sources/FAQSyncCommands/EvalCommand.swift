import ArgumentParser
import Foundation
import Logging
import RetrievalChecks
import Settings
import SnapshotReader
import SyncEngine
import TemplateStore

extension FAQSyncCommand {
    /// `faqsync eval`: the FAQ team's checks against a stored version: top-1, top-3 and MRR per
    /// mode, and every miss with what came first instead.
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the FAQ team's checks (the «Проверка» sheet, or CHECKS_PATH) against a model version.",
            discussion: """
                A check is a customer question and the template it must find, by the template's question or id. \
                Exit status: 0 with results, 3 when there are no checks to run.
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "hybrid, dense or lexical (default: all three, hybrid first).") var mode: SearchMode?
        @Option(help: ArgumentHelp("The version id from `faqsync versions list` (default: the current one).", valueName: "id")) var version: Int64?

        static let noChecksExitCode: Int32 = 3

        func run() async throws {
            try await withFailureHandling(json: common.json) {
                let configuration = try common.configuration()
                let store = configuration.makeStore()
                guard store.exists() else {
                    throw StoreError(code: .versionNotFound, location: store.location, message: "there is no store yet: run `faqsync sync` first")
                }
                let versions = try await store.versions()
                guard let target = version.map({ id in versions.first { $0.id == id } }) ?? versions.first(where: \.isCurrent) else {
                    throw StoreError(code: .versionNotFound, location: store.location,
                                     message: version.map { "there is no version \($0); `faqsync versions list` shows them" } ?? "there is no current version: run `faqsync sync` first")
                }
                let logger = Logger(label: "faqsync.eval")
                // The configured model is built only when it is the version's; another version's model
                // is built by the factory if this machine can run it.
                let configured = try? await configuration.makeEmbedder(logger: logger)
                let run = RetrievalCheckRun(store: store, source: configuration.source, snapshotPath: configuration.snapshotPath,
                                            queryEmbedder: configuration.queryEmbedderFactory(configured: configured), logger: logger)
                let modes = mode.map { [$0] } ?? [.hybrid, .dense, .lexical]
                guard let report = try await run.evaluate(version: target, modes: modes) else {
                    let message = "no checks: the FAQ workbook has no «Проверка» (Checks) sheet, and CHECKS_PATH is not set"
                    if common.json { try JSONOutput.print(NoChecks(message: message)) } else { Terminal.writeError("faqsync: \(message)\n") }
                    throw ExitCode(Self.noChecksExitCode)
                }
                if common.json { try JSONOutput.print(report) } else { print(Self.text(report, version: target)) }
                if report.primary?.total ?? 0 == 0 { throw ExitCode(Self.noChecksExitCode) }
            }
        }

        struct NoChecks: Encodable { let message: String }

        static func text(_ report: CheckReport, version: StoredVersion) -> String {
            var lines = ["Checks from \(report.source), version \(version.id) (\(report.modelName) \(report.modelVersion)):"]
            if let problem = report.problem { lines.append("  no checks read: \(problem)") }
            for score in report.scores {
                lines.append(String(format: "  %-8@ top-1 %d/%d, top-3 %d/%d, MRR %.3f", score.mode as NSString, score.top1, score.total, score.top3, score.total, score.mrr))
            }
            if let primary = report.primary, !report.misses.isEmpty {
                lines.append("Not in the top 3 (\(primary.mode)): \(report.misses.count)")
                for miss in report.misses {
                    let rank = miss.rank.map { "came \($0)" } ?? "not in the top 10"
                    lines.append("  row \(miss.row): «\(miss.question)» → expected «\(miss.expectedQuestion)» (\(rank)); first: «\(miss.firstQuestion ?? "-")»")
                }
            }
            if !report.skipped.isEmpty {
                lines.append("Skipped rows: \(report.skipped.count)")
                for skipped in report.skipped { lines.append("  row \(skipped.row): \(skipped.reason)") }
            }
            return lines.joined(separator: "\n")
        }
    }
}
