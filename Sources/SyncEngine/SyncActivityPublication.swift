import SystemIO
import Foundation
import Logging
import RetrievalChecks
import SyncActivity
import TemplateStore

/// Keeps the activity document beside the snapshot up to date for `faqsync serve`'s page. Best
/// effort: a document that cannot be written is logged and never fails the sync it describes.
package struct SyncActivityPublication: Sendable {
    package let store: any TemplateStore
    package let file: SyncActivityFile
    let logger: Logger

    package init(store: any TemplateStore, snapshotPath: String, logger: Logger) {
        self.store = store
        file = SyncActivityFile(besideSnapshot: snapshotPath)
        self.logger = logger
    }

    /// Writes the store's recent activity. `attempt` is this sync's outcome; nil keeps the one the
    /// previous document had (a version switch or a publication is not a sync). When the store
    /// cannot be read, the previous document is kept with this attempt, so the page still says
    /// that the last sync failed, and why.
    /// - Parameter places: the spreadsheet the sync read, so quarantined templates are named by
    ///   question and row; those it does not name keep the previous document's names.
    /// - Parameter checks: the checks this sync ran; nil keeps the previous document's while they
    ///   are of the current version. `cutOver` likewise, while the current version is the same.
    package func publish(attempt: SyncActivity.Attempt?, places: SyncActivity.SpreadsheetPlaces = [:],
                         checks: CheckReport? = nil, cutOver: CutOverDecision? = nil) async {
        // No store yet (a first sync that failed): reading it would create an empty one, and there
        // is nothing to show beside a snapshot that does not exist.
        guard store.exists() else { return }
        let file = self.file
        // The previous document is read only when something is taken from it (most syncs need nothing).
        var previousRead = false
        var previousDocument: SyncActivity?
        func previous() async -> SyncActivity? {
            if previousRead { return previousDocument }
            previousRead = true
            do { previousDocument = try await BlockingExecutor.shared.run { try file.read() } } catch {
                logger.notice("replacing an unreadable activity document", metadata: ["error": "\(error)"])
            }
            return previousDocument
        }
        var activity: SyncActivity
        do {
            let lastAttempt = if let attempt { attempt } else { await previous()?.lastAttempt }
            activity = try await SyncActivity.read(from: store, lastAttempt: lastAttempt, places: places)
            if activity.quarantined.contains(where: { $0.question == nil }), let old = await previous() {
                activity.keepPlaces(from: old)
            }
            activity.checks = checks
            activity.cutOver = cutOver
            if checks == nil || cutOver == nil, let old = await previous(), let current = activity.currentVersion {
                if checks == nil, let kept = old.checks, kept.modelName == current.modelName, kept.modelVersion == current.modelVersion {
                    activity.checks = kept
                }
                if cutOver == nil, old.currentVersion?.id == current.id { activity.cutOver = old.cutOver }
            }
        } catch {
            guard var kept = await previous() ?? (attempt.map { SyncActivity(writtenAt: Date(), currentVersion: nil, lastAttempt: $0, recentSyncs: [], quarantined: []) }) else {
                logger.warning("could not read the store for the activity document", metadata: ["error": "\(error)"])
                return
            }
            kept.writtenAt = Date()
            if let attempt { kept.lastAttempt = attempt }
            activity = kept
        }
        let document = activity
        do {
            try await BlockingExecutor.shared.run { try file.write(document) }
        } catch {
            logger.warning("could not write the activity document", metadata: ["error": "\(error)"])
        }
    }
}
