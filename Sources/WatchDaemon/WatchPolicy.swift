import Foundation

/// The daemon's decisions, with no I/O and no clock of its own: events in, actions out. Time
/// comes in with each event; `WatchService` turns inotify, timers, signals and finished syncs
/// into events and performs the actions.
///
/// The rules it keeps:
/// - **Start-up** syncs once (which costs nothing when nothing changed); READY=1 follows it.
/// - **Debounce.** A burst of file events becomes one check after `debounce` of quiet.
/// - **Atomic saves need none.** A file renamed into place (Excel, LibreOffice, rsync, editors that
///   write a temporary file first) is whole the moment it appears: it is checked at once, and
///   synced at once when the check finds it complete. Only writes in place wait for quiet.
/// - **Stability.** The check must find the file complete (a zip with its directory, sizes that
///   held still); a file still settling is looked at again after another `debounce`, and read
///   anyway once it has settled for longer than `settleLimit`.
/// - **The last check counts.** Checks run concurrently and may end out of order; only the result
///   of the last one asked for is acted on, since only it began after the last event (a second
///   rename before the first check ended would otherwise be lost).
/// - **Same content, no sync.** A file whose SHA-256 is the one last synced is not synced again
///   (and if a bad save had left the daemon degraded, that is over); a file whose SHA-256 is the
///   last bad one waits for the next save.
/// - **Failures.** A bad or half-saved file, or a change the store refused, waits for the next
///   save (or SIGHUP); a transient failure is retried with backoff, 1 s doubling up to
///   `maxRetryDelay`, one retry scheduled at a time.
/// - **One sync at a time.** Events during a sync are remembered and handled after it; SIGHUP
///   during a sync syncs again after it.
/// - **Merge when idle.** A sync that leaves the snapshot a delta grown past its idle share
///   (`DeltaPolicy`, decided by the publication and reported in the summary) has it merged into
///   a whole file once nothing happened for `idleBeforeMerge`. A save, a SIGHUP or a retry during
///   the merge cancels it (it stops before replacing anything) and is handled once it is over:
///   a save never waits for a whole merge. The merge is tried again after the next sync that
///   leaves a delta to merge.
/// - **Watchdog.** WATCHDOG=1 at its interval, from the same loop as everything else, so a
///   wedged loop stops the pings and systemd restarts the service.
/// - **Shutdown** stops everything; a sync in flight is cancelled (its transaction rolls back).
package struct WatchPolicy: Sendable {
    package struct Configuration: Sendable {
        package var debounce: Duration
        package var settleLimit: Duration
        package var maxRetryDelay: Duration
        package var watchdogInterval: Duration?
        /// How long a file written in place must keep its size and time when it is checked
        /// after the debounce's quiet. A file renamed into place is checked without waiting.
        package var holdStill: Duration
        /// The spreadsheet, as status lines name it.
        package var faqPath: String
        /// How long nothing must happen after a sync before a delta snapshot is merged: editors
        /// save in bursts, and a merge of a large snapshot takes seconds.
        package var idleBeforeMerge: Duration

        package init(faqPath: String, debounce: Duration = .milliseconds(500), settleLimit: Duration = .seconds(5),
                     maxRetryDelay: Duration = .seconds(60), watchdogInterval: Duration? = nil,
                     holdStill: Duration = .milliseconds(10), idleBeforeMerge: Duration = .seconds(5)) {
            self.faqPath = faqPath
            self.idleBeforeMerge = idleBeforeMerge
            self.holdStill = holdStill
            self.debounce = debounce
            self.settleLimit = settleLimit
            self.maxRetryDelay = maxRetryDelay
            self.watchdogInterval = watchdogInterval
        }
    }

    package typealias Instant = ContinuousClock.Instant

    package enum Timer: Hashable, Sendable { case debounce, settle, retry, watchdog, merge }

    package enum SyncReason: String, Sendable, Equatable { case startUp = "start-up", saved, reload = "SIGHUP", retry }

    /// What a check of the file found.
    package enum FileCheck: Sendable, Equatable {
        case ready(sha256: String)
        case missing
        /// `sha256`: of a file that holds still but is not complete (a save cut off), so the
        /// same cut-off bytes are recognised after they were read once.
        case settling(reason: String, sha256: String? = nil)
    }

    /// What one sync did, as the daemon reports it.
    package struct SyncSummary: Sendable, Equatable {
        package let templates: Int
        package let model: String
        package let changes: String
        package let generation: UInt64?
        package let finishedAt: Date
        /// The rows the sync left out, each as `row 14, column F (…): reason`.
        package let skippedRows: [String]
        /// The snapshot is a delta to merge when the daemon is idle.
        package let mergeDue: Bool

        package init(templates: Int, model: String, changes: String, generation: UInt64?, finishedAt: Date, skippedRows: [String] = [],
                     mergeDue: Bool = false) {
            self.templates = templates
            self.model = model
            self.changes = changes
            self.generation = generation
            self.finishedAt = finishedAt
            self.skippedRows = skippedRows
            self.mergeDue = mergeDue
        }

        /// The same sync, its snapshot since merged into generation `generation`.
        func merged(into generation: UInt64) -> SyncSummary {
            SyncSummary(templates: templates, model: model, changes: changes, generation: generation, finishedAt: finishedAt,
                        skippedRows: skippedRows, mergeDue: false)
        }
    }

    package enum SyncResult: Sendable, Equatable {
        /// `sha256`: of the bytes the sync parsed.
        case succeeded(SyncSummary, sha256: String)
        case failed(WatchFailureKind, problem: String)
        case cancelled
    }

    /// What a merge of a delta snapshot did.
    package enum MergeResult: Sendable, Equatable {
        case merged(generation: UInt64)
        /// The snapshot was whole already, or did not show the store as it is.
        case nothingToMerge
        case failed(problem: String)
        case cancelled
    }

    package enum Event: Sendable, Equatable {
        case started(at: Instant)
        /// inotify named the file with a content-changing event: written in place, created,
        /// deleted or renamed away (and the watcher's first "the directory is watched").
        case fileChanged(at: Instant)
        /// A file was renamed into place at the path (`IN_MOVED_TO`): an atomic save, whole.
        case fileReplaced(at: Instant)
        case timerFired(Timer, at: Instant)
        /// `number`: which check this answers, counting the `.checkFile` actions from 1 (nil:
        /// the latest). Checks run concurrently and may end out of order.
        case fileChecked(FileCheck, at: Instant, number: Int? = nil)
        case syncFinished(SyncResult, at: Instant)
        case mergeFinished(MergeResult, at: Instant)
        case reloadRequested(at: Instant)
        case shutdownRequested
    }

    package enum Notification: Sendable, Equatable {
        case status(String)
        case ready(status: String)
        case reloading(status: String)
        case stopping
        case watchdog
    }

    package enum LogLevel: Sendable, Equatable { case debug, info, notice, warning, error }

    package enum Action: Sendable, Equatable {
        /// (Re)start `timer`: an earlier one of the same kind no longer counts.
        case startTimer(Timer, after: Duration)
        /// Check that the file held still for `holdStill` and is complete, and take its SHA-256;
        /// answers with `.fileChecked`. A file renamed into place is checked with zero: it is a
        /// new file, whole the moment it appears, so only its completeness is looked at.
        case checkFile(holdStill: Duration)
        /// Run a sync; answers with `.syncFinished`.
        case sync(SyncReason)
        /// Merge the delta snapshot into a whole file; answers with `.mergeFinished`.
        case merge
        /// Stop the merge in flight before it replaces anything; it answers `.cancelled`.
        case cancelMerge
        case notify(Notification)
        case log(LogLevel, String)
        /// The spreadsheet is back to the content last synced after a problem: tell those who
        /// show the last sync's outcome (the FAQ team's page) that nothing is wrong any more.
        case reportRecovered
        /// Cancel a sync in flight and end the loop once it is over.
        case stop
    }

    private enum Phase: Equatable {
        case starting, idle, debouncing, checking(since: Instant), syncing, merging, stopping
    }

    let configuration: Configuration
    private var phase = Phase.starting
    private var lastEvent: Instant?
    private var lastSyncedSHA256: String?
    private var lastBadSHA256: String?
    private var problem: String?
    private var lastSummary: SyncSummary?
    private var consecutiveFailures = 0
    private var retryScheduled = false
    private var retrySHA256: String?
    /// The content the check found before a sync of a save (nil for the other syncs): a bad file
    /// is remembered by it, so the same bad content is not read again.
    private var syncingSHA256: String?
    /// Remembered while a sync or a merge runs.
    private var fileChangedWhileBusy = false
    /// The last change while busy was a rename into place: checked at once after it.
    private var replacedLastWhileBusy = false
    private var reloadWhileBusy = false
    /// The last sync left a delta snapshot to merge when idle.
    private var mergeDue = false
    /// `.cancelMerge` was asked for the merge in flight (once is enough).
    private var mergeCancelRequested = false
    /// How many `.checkFile` actions were emitted: the number of the last one.
    private var checksAsked = 0

    /// - Parameter lastSyncedSHA256: what the store says was synced last from this file (from
    ///   its audit log), so that a restart does not treat unchanged content as new.
    package init(configuration: Configuration, lastSyncedSHA256: String? = nil) {
        self.configuration = configuration
        self.lastSyncedSHA256 = lastSyncedSHA256
    }

    package var isStopping: Bool { phase == .stopping }

    package mutating func on(_ event: Event) -> [Action] {
        let wasIdle = phase == .idle
        let actions = handle(event)
        // Back to idle with a delta to merge, however it got there: the merge timer, which waits
        // for `idleBeforeMerge` of quiet. (Decided here once, not at every way back to idle.)
        if !wasIdle, phase == .idle, mergeDue { return actions + [.startTimer(.merge, after: configuration.idleBeforeMerge)] }
        return actions
    }

    private mutating func handle(_ event: Event) -> [Action] {
        if phase == .stopping { return [] }
        switch event {
        case .started:
            var actions: [Action] = [.notify(.status("Starting: syncing \(configuration.faqPath)"))]
            if let interval = configuration.watchdogInterval { actions += [.notify(.watchdog), .startTimer(.watchdog, after: interval)] }
            return actions + beginSync(.startUp)

        case .fileReplaced(let at):
            lastEvent = at
            switch phase {
            case .syncing, .merging:
                fileChangedWhileBusy = true
                replacedLastWhileBusy = true
                return cancelMerge(because: "the spreadsheet was saved")
            case .starting:
                return []
            default:
                phase = .checking(since: at)
                return [.log(.debug, "spreadsheet renamed into place: checking it now"), checkFile(holdStill: .zero)]
            }

        case .fileChanged(let at):
            lastEvent = at
            switch phase {
            case .syncing, .merging:
                fileChangedWhileBusy = true
                replacedLastWhileBusy = false
                return cancelMerge(because: "the spreadsheet changed")
            case .starting:
                return []
            default:
                phase = .debouncing
                return [.log(.debug, "spreadsheet event"), .startTimer(.debounce, after: configuration.debounce)]
            }

        case .timerFired(.watchdog, _):
            guard let interval = configuration.watchdogInterval else { return [] }
            return [.notify(.watchdog), .startTimer(.watchdog, after: interval)]

        case .timerFired(.debounce, let at):
            guard phase == .debouncing else { return [] }
            if let quiet = quietTime(at), quiet < configuration.debounce {
                return [.startTimer(.debounce, after: configuration.debounce - quiet)]
            }
            phase = .checking(since: at)
            return [checkFile(holdStill: configuration.holdStill)]

        case .timerFired(.settle, _):
            guard case .checking = phase else { return [] }
            return [checkFile(holdStill: configuration.holdStill)]

        case .timerFired(.retry, _):
            retryScheduled = false
            if phase == .syncing || phase == .merging {
                reloadWhileBusy = true
                return cancelMerge(because: "a retry is due")
            }
            return beginSync(.retry)

        case .timerFired(.merge, let at):
            guard phase == .idle, mergeDue else { return [] }
            if let quiet = quietTime(at), quiet < configuration.idleBeforeMerge {
                return [.startTimer(.merge, after: configuration.idleBeforeMerge - quiet)]
            }
            phase = .merging
            mergeCancelRequested = false
            return [.log(.info, "idle: merging the snapshot's delta into a whole file"), .merge]

        case .fileChecked(let check, let at, let number):
            // Only the last check asked for counts: it began after the last event, so what it read
            // is the file as the last save left it. An earlier one (a rename, then another rename
            // before the first check ended) may have read the earlier content.
            if let number, number != checksAsked { return [.log(.debug, "an earlier check of the file ended; waiting for the last one")] }
            guard case .checking(let since) = phase else { return [] }
            return fileChecked(check, at: at, since: since)

        case .syncFinished(let result, let at):
            return syncFinished(result, startedSHA256: syncingSHA256, at: at)

        case .mergeFinished(let result, let at):
            guard phase == .merging else { return [] }
            return mergeFinished(result, at: at)

        case .reloadRequested:
            if phase == .syncing || phase == .starting {
                reloadWhileBusy = true
                return [.log(.info, "SIGHUP: syncing again after the sync in progress")]
            }
            if phase == .merging {
                reloadWhileBusy = true
                return [.log(.info, "SIGHUP: syncing again once the merge in progress has stopped")] + cancelMerge(because: "SIGHUP")
            }
            return [.log(.info, "SIGHUP: syncing again")] + beginSync(.reload)

        case .shutdownRequested:
            phase = .stopping
            return [.notify(.stopping),
                    .log(.info, "stopping: an in-flight sync is cancelled and rolls back; the store keeps its last committed state"),
                    .stop]
        }
    }

    // MARK: Rules

    private mutating func fileChecked(_ check: FileCheck, at: Instant, since: Instant) -> [Action] {
        switch check {
        case .missing:
            phase = .idle
            problem = "\(configuration.faqPath) is missing"
            return [.log(.warning, "the spreadsheet is missing; still serving the last good snapshot, waiting for it to come back"),
                    .notify(.status(statusLine))]
        case .settling(let reason, let sha256):
            if let sha256, sha256 == lastBadSHA256 {
                phase = .idle
                return [.log(.debug, "the same bad content as before; nothing to do until the next save")]
            }
            // (A writer still at work sends new events, which put the policy back to debouncing.)
            guard at - since <= configuration.settleLimit else {
                return [.log(.warning, "the spreadsheet kept changing; reading it anyway (\(reason))")] + beginSync(.saved, sha256: sha256)
            }
            return [.log(.debug, "waiting for the save to finish (\(reason))"), .startTimer(.settle, after: configuration.debounce)]
        case .ready(let sha256):
            phase = .idle
            if sha256 == lastSyncedSHA256 {
                var actions: [Action] = [.log(.debug, "content unchanged (same SHA-256 as the last sync); nothing to do")]
                if problem != nil {
                    // Back to what the store serves (a bad save undone): nothing is wrong any more.
                    problem = nil
                    lastBadSHA256 = nil
                    consecutiveFailures = 0
                    actions += [.log(.info, "the spreadsheet is back to the content last synced; no longer degraded"),
                                .notify(.status(statusLine)), .reportRecovered]
                }
                return actions
            }
            if sha256 == lastBadSHA256 {
                return [.log(.debug, "the same bad content as before; nothing to do until the next save")]
            }
            if retryScheduled, sha256 == retrySHA256 {
                return [.log(.debug, "a retry of this content is already scheduled; nothing to do")]
            }
            return beginSync(.saved, sha256: sha256)
        }
    }

    private mutating func syncFinished(_ result: SyncResult, startedSHA256: String?, at: Instant) -> [Action] {
        var actions: [Action] = []
        switch result {
        case .succeeded(let summary, let sha256):
            lastSummary = summary
            mergeDue = summary.mergeDue
            lastSyncedSHA256 = sha256
            lastBadSHA256 = nil
            problem = nil
            consecutiveFailures = 0
            retrySHA256 = nil
            actions.append(.log(.info, "sync done: \(summary.templates) templates, \(summary.changes), generation \(summary.generation.map(String.init) ?? "-")"))
            if !summary.skippedRows.isEmpty {
                actions.append(.log(.warning, "\(summary.skippedRows.count == 1 ? "1 row" : "\(summary.skippedRows.count) rows") skipped (the rest synced): \(summary.skippedRows.joined(separator: "; "))"))
            }
        case .cancelled:
            actions.append(.log(.notice, "sync cancelled; the store keeps its last committed state"))
        case .failed(let kind, let problem):
            self.problem = problem
            consecutiveFailures += 1
            switch kind {
            case .badFile:
                lastBadSHA256 = startedSHA256
                actions.append(.log(.error, "the spreadsheet was not synced; still serving the last good snapshot until the next save: \(problem)"))
            case .incompleteFile:
                lastBadSHA256 = startedSHA256
                actions.append(.log(.error, "the spreadsheet stays unreadable (cut off); still serving the last good snapshot until the next save: \(problem)"))
            case .permanent:
                lastBadSHA256 = startedSHA256
                actions.append(.log(.error, "the store refused the change; not retrying it unchanged, still serving the last good snapshot until the next save or SIGHUP: \(problem)"))
            case .transient:
                let delay = retryDelay(attempt: consecutiveFailures)
                retrySHA256 = startedSHA256
                if !retryScheduled {
                    retryScheduled = true
                    actions += [.log(.error, "sync failed (attempt \(consecutiveFailures)); retrying in \(delay): \(problem)"),
                                .startTimer(.retry, after: delay)]
                } else {
                    actions.append(.log(.error, "sync failed (attempt \(consecutiveFailures)); a retry is already scheduled: \(problem)"))
                }
            }
        }
        phase = .idle
        actions.append(.notify(.ready(status: statusLine)))
        return actions + resume(at: at)
    }

    private mutating func mergeFinished(_ result: MergeResult, at: Instant) -> [Action] {
        var actions: [Action] = []
        switch result {
        case .merged(let generation):
            mergeDue = false
            lastSummary = lastSummary?.merged(into: generation)
            actions += [.log(.info, "the snapshot's delta is merged: generation \(generation) is a whole file"), .notify(.status(statusLine))]
        case .nothingToMerge:
            mergeDue = false
        case .failed(let problem):
            // The delta keeps serving; the next sync that leaves one to merge tries again, and
            // an edit past the hard limit merges inline.
            mergeDue = false
            actions.append(.log(.warning, "merging the snapshot's delta failed; the delta keeps serving: \(problem)"))
        case .cancelled:
            actions.append(.log(.debug, "the merge stopped before replacing the snapshot; the delta keeps serving"))
        }
        phase = .idle
        return actions + resume(at: at)
    }

    /// Back to idle after a sync or a merge, unless something came in meanwhile.
    private mutating func resume(at: Instant) -> [Action] {
        if reloadWhileBusy {
            reloadWhileBusy = false
            fileChangedWhileBusy = false
            return beginSync(.reload)
        }
        if fileChangedWhileBusy, replacedLastWhileBusy {
            fileChangedWhileBusy = false
            replacedLastWhileBusy = false
            phase = .checking(since: at)
            return [checkFile(holdStill: .zero)]
        }
        if fileChangedWhileBusy {
            fileChangedWhileBusy = false
            phase = .debouncing
            let waited = quietTime(at) ?? .zero
            return [.startTimer(.debounce, after: max(.zero, configuration.debounce - waited))]
        }
        return []
    }

    /// A check of the file, counted so that only the last one's result is acted on.
    private mutating func checkFile(holdStill: Duration) -> Action {
        checksAsked += 1
        return .checkFile(holdStill: holdStill)
    }

    /// During a merge: stop it (once), so that what came in is handled without waiting for it.
    private mutating func cancelMerge(because reason: String) -> [Action] {
        guard phase == .merging, !mergeCancelRequested else { return [] }
        mergeCancelRequested = true
        return [.log(.debug, "\(reason): the merge in progress gives way"), .cancelMerge]
    }

    private mutating func beginSync(_ reason: SyncReason, sha256: String? = nil) -> [Action] {
        phase = .syncing
        syncingSHA256 = sha256
        fileChangedWhileBusy = false
        replacedLastWhileBusy = false
        return [.notify(.reloading(status: "Syncing \(configuration.faqPath) (\(reason.rawValue))")), .sync(reason)]
    }

    private func quietTime(_ now: Instant) -> Duration? { lastEvent.map { now - $0 } }

    /// 1 s, 2 s, 4 s, … up to the maximum.
    func retryDelay(attempt: Int) -> Duration {
        min(Duration.seconds(1) * (1 << min(max(attempt - 1, 0), 10)), configuration.maxRetryDelay)
    }

    /// STATUS=: what is served, the last sync, and what is wrong.
    package var statusLine: String {
        var parts: [String] = []
        if let summary = lastSummary {
            parts.append("\(summary.templates) templates, \(summary.model), snapshot generation \(summary.generation.map(String.init) ?? "-")")
            parts.append("last sync \(summary.finishedAt.formatted(.iso8601)): \(summary.changes)")
            if let first = summary.skippedRows.first {
                let more = summary.skippedRows.count > 1 ? " and \(summary.skippedRows.count - 1) more" : ""
                parts.append("\(summary.skippedRows.count == 1 ? "1 row" : "\(summary.skippedRows.count) rows") skipped: \(first)\(more)")
            }
        }
        if let problem { parts.append("DEGRADED: \(problem)") }
        return parts.isEmpty ? "Watching \(configuration.faqPath)" : parts.joined(separator: "; ")
    }
}
