import ArgumentParser
import Foundation
import RetrievalServer
import Logging
import Reconciliation
import ServiceLifecycle
import SnapshotFormat
import SpreadsheetReading
import SyncEngine
import Settings
import TemplateStore
import WatchDaemon

extension FAQSyncCommand {
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run as a daemon: sync at start-up, then whenever the spreadsheet is saved (and on SIGHUP).",
            discussion: """
                Under systemd (Type=notify) it reports READY=1, STATUS=, RELOADING=1 around each sync, WATCHDOG=1 and \
                STOPPING=1. SIGTERM stops it cleanly: a sync in flight is cancelled and its transaction rolls back.
                """)

        @OptionGroup var common: CommonOptions
        @Option(help: "Quiet time after the last file event before syncing (env WATCH_DEBOUNCE_MS; default 500).")
        var debounceMs: Int?

        func validate() throws {
            let range = FAQSyncConfiguration.DaemonSettings.debounceRange
            if let debounceMs, !range.contains(debounceMs) {
                throw ValidationError("--debounce-ms must be from \(range.lowerBound) to \(range.upperBound) milliseconds, not \(debounceMs)")
            }
        }

        func run() async throws {
            try await withFailureHandling(json: false) {
                let configuration = try common.configuration()
                let logger = Logger(label: "faqsync.watch")
                let store = configuration.makeStore()
                var knownDimension: Int?
                do { knownDimension = try await configuration.knownDimension(in: store) } catch let error as StoreError where error.code == .connectionFailed {}
                let embedder = try await configuration.makeEmbedder(knownDimension: knownDimension, logger: logger)
                let coordinator = configuration.makeCoordinator(store: store, embedder: embedder, logger: logger, syncsRepeatedly: true)
                let metrics = configuration.daemon.metricsAddress.map { _ in DaemonMetrics() }

                var watch = WatchPolicy.Configuration(faqPath: configuration.faqPath)
                if let debounce = configuration.daemon.debounce(flagMilliseconds: debounceMs) { watch.debounce = debounce }
                // An unreachable database at start-up is reported and retried by the sync loop, not fatal:
                // the snapshot on disk keeps serving meanwhile.
                var lastSynced: String?
                do {
                    lastSynced = store.exists()
                        ? try await store.recentRuns(limit: 100, changesPerRun: 0).first { $0.outcome == .succeeded && $0.sourcePath == configuration.faqURL.path }?.sourceSHA256
                        : nil
                } catch let error as StoreError where error.code == .connectionFailed {
                    logger.error("the store is unreachable; syncing will retry with backoff", metadata: ["error": "\(error)"])
                }
                // The page `serve` shows has the store's recent syncs from the start (after a reboot
                // /run is empty, and an unchanged spreadsheet is not synced again).
                if lastSynced != nil { await coordinator.activity.publish(attempt: nil) }
                let options = SyncOptions(batchSize: configuration.embedding.batchSize, maxConcurrency: configuration.embedding.maxConcurrency,
                                          historyRuns: configuration.syncHistory)
                let service = WatchService(configuration: watch, lastSyncedSHA256: lastSynced, metrics: metrics, logger: logger,
                                           classify: WatchFailureKind.init(classifying:),
                                           // The content of the last successful sync serves again: the page says so.
                                           recovered: { await coordinator.activity.publish(attempt: .init(finishedAt: Date(), succeeded: true, error: nil)) },
                                           merge: { stop in try await coordinator.mergeSnapshot(stop: stop)?.generation }) { _ in
                    let report = try await coordinator.sync(options, confirmModelChange: { prepared in
                        logger.notice("the embedding model changed; filling a new version while the current one keeps serving",
                                      metadata: ["from": "\(prepared.currentVersion.map { "\($0.model)" } ?? "-")", "to": "\(prepared.model)",
                                                 "texts": "\(prepared.textsToEmbed.count)"])
                        return true
                    })
                    if let score = report.checks?.primary {
                        metrics?.recordChecks(total: score.total, top1: score.top1, top3: score.top3, mrr: score.mrr,
                                              held: report.cutOver.map { !$0.madeCurrent })
                    }
                    let generation: UInt64? = if let published = report.publication { published.generation } else { try await store.lastSnapshotPublication()?.generation }
                    let summary = WatchPolicy.SyncSummary(
                        templates: report.templates, model: "\(report.model)",
                        changes: "\(report.new) new, \(report.modified) modified, \(report.metadataOnly) metadata-only, \(report.deleted) deleted; \(report.embeddedTexts) embedded, \(report.cacheHits) from cache\(report.quarantined.isEmpty ? "" : ", \(report.quarantined.count) quarantined")",
                        generation: generation, finishedAt: Date(), skippedRows: report.skippedRows.map(\.summary),
                        mergeDue: await coordinator.publication.mergeDueWhenIdle())
                    return (summary, report.sourceSHA256, (report.embeddedTexts, report.cacheHits))
                }
                var services: [any Service] = [service]
                if let metrics, let address = configuration.daemon.metricsAddress {
                    services.append(Self.metricsServer(address: address, metrics: metrics, logger: logger))
                }
                let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                // The store's connections close once every service has stopped.
                try await store.closingAfterwards { try await group.run() }
            }
        }

        static func metricsServer(address: ListenAddress, metrics: DaemonMetrics, logger: Logger) -> HTTPServer {
            HTTPServer.metricsEndpoint(host: address.host, port: address.port, logger: logger) { metrics.exposition() }
        }
    }
}
