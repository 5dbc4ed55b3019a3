import Foundation
import Testing
import WatchDaemon

/// The daemon's rules, with no process, no file and no clock: events in, actions out, time given
/// by the test. The end-to-end daemon tests (DaemonBehaviourTests, SavePatternTests) keep the few
/// checks that need real inotify and a real child process.
@Suite("the watch policy")
struct WatchPolicyTests {
    typealias Policy = WatchPolicy
    let t0 = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    /// The check after a write in place's quiet: the file must also hold still a moment.
    static let checkAfterQuiet = Policy.Action.checkFile(holdStill: .milliseconds(10))
    /// The check of a file renamed into place: new and whole, so no waiting.
    static let checkRenamed = Policy.Action.checkFile(holdStill: .zero)

    func policy(watchdog: Duration? = nil, maxRetry: Duration = .seconds(60)) -> Policy {
        Policy(configuration: .init(faqPath: "/srv/faq/faq.xlsx", debounce: .milliseconds(500), settleLimit: .seconds(5),
                                    maxRetryDelay: maxRetry, watchdogInterval: watchdog),
               lastSyncedSHA256: "A")
    }

    static func summary(_ templates: Int = 201) -> Policy.SyncSummary {
        .init(templates: templates, model: "m 1 (8 dimensions)", changes: "1 new", generation: 2,
              finishedAt: Date(timeIntervalSince1970: 0))
    }

    /// A policy past its start-up sync, idle, having synced content "A".
    func idle(watchdog: Duration? = nil, maxRetry: Duration = .seconds(60)) -> Policy {
        var policy = policy(watchdog: watchdog, maxRetry: maxRetry)
        _ = policy.on(.started(at: at(0)))
        _ = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "A"), at: at(10)))
        return policy
    }

    /// A save of `sha256` at `start` ms, checked after the debounce, as the service would feed it.
    func save(_ policy: inout Policy, _ sha256: String, at start: Int) -> [Policy.Action] {
        _ = policy.on(.fileChanged(at: at(start)))
        let fired = policy.on(.timerFired(.debounce, at: at(start + 500)))
        guard fired == [Self.checkAfterQuiet] else { return fired }
        return policy.on(.fileChecked(.ready(sha256: sha256), at: at(start + 510)))
    }

    static func syncs(_ actions: [Policy.Action]) -> [Policy.SyncReason] {
        actions.compactMap { if case .sync(let reason) = $0 { reason } else { nil } }
    }

    static func timers(_ actions: [Policy.Action]) -> [Policy.Timer: Duration] {
        var timers: [Policy.Timer: Duration] = [:]
        for case .startTimer(let timer, let after) in actions { timers[timer] = after }
        return timers
    }

    @Test func startUpSyncsOnceThenReportsReady() {
        var policy = policy(watchdog: .milliseconds(200))
        let start = policy.on(.started(at: at(0)))
        #expect(Self.syncs(start) == [.startUp])
        #expect(start.contains(.notify(.watchdog)))
        #expect(Self.timers(start)[.watchdog] == .milliseconds(200))
        #expect(start.first == .notify(.status("Starting: syncing /srv/faq/faq.xlsx")))

        let done = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "A"), at: at(100)))
        let ready = done.compactMap { if case .notify(.ready(let status)) = $0 { status } else { nil } }
        #expect(ready.count == 1)
        #expect(ready.first?.hasPrefix("201 templates, m 1 (8 dimensions), snapshot generation 2") == true)
    }

    @Test func aBurstOfEventsIsOneCheckAfterTheQuiet() {
        var policy = idle()
        #expect(Self.timers(policy.on(.fileChanged(at: at(1_000))))[.debounce] == .milliseconds(500))
        _ = policy.on(.fileChanged(at: at(1_200)))
        _ = policy.on(.fileChanged(at: at(1_400)))
        // The first timer fires 500 ms after the first event, but the last one was 100 ms ago.
        let early = policy.on(.timerFired(.debounce, at: at(1_500)))
        #expect(early == [.startTimer(.debounce, after: .milliseconds(400))])
        #expect(policy.on(.timerFired(.debounce, at: at(1_900))) == [Self.checkAfterQuiet])
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "B"), at: at(1_910)))) == [.saved])
    }

    /// The atomic save: a file renamed into place is checked at once, and a complete one synced
    /// at once; the debounce is for writes in place only.
    @Test func aFileRenamedIntoPlaceIsCheckedAtOnceWithNoDebounce() {
        var policy = idle()
        let renamed = policy.on(.fileReplaced(at: at(1_000)))
        #expect(renamed.contains(Self.checkRenamed) && Self.timers(renamed).isEmpty)
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "B"), at: at(1_005)))) == [.saved])
    }

    @Test func aRenameCutsAWriteInPlacesDebounceShortAndAStaleTimerDoesNothing() {
        var policy = idle()
        #expect(Self.timers(policy.on(.fileChanged(at: at(1_000))))[.debounce] == .milliseconds(500))
        #expect(policy.on(.fileReplaced(at: at(1_100))).contains(Self.checkRenamed))
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "B"), at: at(1_110)))) == [.saved])
        #expect(policy.on(.timerFired(.debounce, at: at(1_500))).isEmpty, "the write's timer finds a sync, not a debounce")
    }

    @Test func aRenamedFileThatIsNotWholeWaitsLikeAnyOther() {
        var policy = idle()
        _ = policy.on(.fileReplaced(at: at(1_000)))
        let settling = policy.on(.fileChecked(.settling(reason: "not a complete zip yet"), at: at(1_005)))
        #expect(Self.timers(settling)[.settle] == .milliseconds(500) && Self.syncs(settling).isEmpty)
        // Looked at again like a write in place: it must hold still this time.
        #expect(policy.on(.timerFired(.settle, at: at(1_505))) == [Self.checkAfterQuiet])
    }

    @Test func aBurstOfRenamesDuringASyncEndsInOneCheckOfTheLastContent() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        #expect(policy.on(.fileReplaced(at: at(1_600))).isEmpty, "remembered, not acted on")
        #expect(policy.on(.fileReplaced(at: at(1_700))).isEmpty)
        let done = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "B"), at: at(1_900)))
        #expect(done.filter { $0 == Self.checkRenamed }.count == 1 && Self.timers(done)[.debounce] == nil, "checked at once, once")
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "D"), at: at(1_910)))) == [.saved])
        // A write in place after the rename, during a sync: the quiet period again.
        _ = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "D"), at: at(2_000)))
        _ = save(&policy, "E", at: 3_000)
        _ = policy.on(.fileReplaced(at: at(3_600)))
        _ = policy.on(.fileChanged(at: at(3_700)))
        let after = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "E"), at: at(3_800)))
        #expect(Self.timers(after)[.debounce] == .milliseconds(400) && !after.contains { if case .checkFile = $0 { true } else { false } })
    }

    @Test func theSameContentAsTheLastSyncIsNotSyncedAgain() {
        var policy = idle()
        let actions = save(&policy, "A", at: 1_000)
        #expect(Self.syncs(actions).isEmpty)
        #expect(actions.contains(.log(.debug, "content unchanged (same SHA-256 as the last sync); nothing to do")))
        // …and the policy is idle again: the next real change syncs.
        #expect(Self.syncs(save(&policy, "B", at: 3_000)) == [.saved])
    }

    @Test func theLastSyncedContentComesFromTheStoreAtStartUp() {
        var policy = policy()
        _ = policy.on(.started(at: at(0)))
        _ = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "A"), at: at(10)))
        #expect(Self.syncs(save(&policy, "A", at: 1_000)).isEmpty)
    }

    @Test func aFileStillSettlingIsLookedAtAgainThenReadOnceTheLimitPasses() {
        var policy = idle()
        _ = policy.on(.fileChanged(at: at(1_000)))
        #expect(policy.on(.timerFired(.debounce, at: at(1_500))) == [Self.checkAfterQuiet])
        let settling = policy.on(.fileChecked(.settling(reason: "no zip directory yet"), at: at(1_510)))
        #expect(Self.timers(settling)[.settle] == .milliseconds(500))
        #expect(Self.syncs(settling).isEmpty)
        #expect(policy.on(.timerFired(.settle, at: at(2_010))) == [Self.checkAfterQuiet])
        // Still settling 5 s after the check began: read anyway, with a warning.
        let late = policy.on(.fileChecked(.settling(reason: "size changing"), at: at(6_600)))
        #expect(Self.syncs(late) == [.saved])
        #expect(late.contains { if case .log(.warning, let text) = $0 { text.contains("kept changing") } else { false } })
    }

    @Test func aWriterStillAtWorkSendsTheCheckBackToTheDebounce() {
        var policy = idle()
        _ = policy.on(.fileChanged(at: at(1_000)))
        _ = policy.on(.timerFired(.debounce, at: at(1_500)))
        // A new event while the check waits for the file to settle: the quiet period starts over,
        // and the answer of the check in flight no longer counts.
        #expect(Self.timers(policy.on(.fileChanged(at: at(1_505))))[.debounce] == .milliseconds(500))
        #expect(policy.on(.fileChecked(.ready(sha256: "HALF"), at: at(1_510))).isEmpty)
        #expect(policy.on(.timerFired(.settle, at: at(2_000))).isEmpty)
        #expect(policy.on(.timerFired(.debounce, at: at(2_005))) == [Self.checkAfterQuiet])
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "WHOLE"), at: at(2_010)))) == [.saved])
    }

    @Test func aFileCutOffForGoodIsReadOnceThenRecognised() {
        var policy = idle()
        _ = policy.on(.fileChanged(at: at(1_000)))
        _ = policy.on(.timerFired(.debounce, at: at(1_500)))
        let late = policy.on(.fileChecked(.settling(reason: "no zip directory", sha256: "CUT"), at: at(7_000)))
        #expect(Self.syncs(late) == [.saved], "read once the settle limit passed")
        _ = policy.on(.syncFinished(.failed(.incompleteFile, problem: "truncated"), at: at(7_100)))
        // The same cut-off bytes touched again: recognised without waiting out the settle limit.
        _ = policy.on(.fileChanged(at: at(9_000)))
        _ = policy.on(.timerFired(.debounce, at: at(9_500)))
        let again = policy.on(.fileChecked(.settling(reason: "no zip directory", sha256: "CUT"), at: at(9_510)))
        #expect(Self.syncs(again).isEmpty && Self.timers(again).isEmpty)
        #expect(again.contains(.log(.debug, "the same bad content as before; nothing to do until the next save")))
    }

    @Test func aMissingFileIsAWarningAndDegradedNotASync() {
        var policy = idle()
        _ = policy.on(.fileChanged(at: at(1_000)))
        _ = policy.on(.timerFired(.debounce, at: at(1_500)))
        let actions = policy.on(.fileChecked(.missing, at: at(1_510)))
        #expect(Self.syncs(actions).isEmpty)
        #expect(policy.statusLine.contains("DEGRADED: /srv/faq/faq.xlsx is missing"))
        // Brought back unchanged: no sync, and no longer degraded.
        #expect(Self.syncs(save(&policy, "A", at: 3_000)).isEmpty)
        #expect(!policy.statusLine.contains("DEGRADED"))
    }

    @Test func aBadFileWaitsForTheNextSaveAndItsContentIsNotReadAgain() {
        var policy = idle()
        #expect(Self.syncs(save(&policy, "BAD", at: 1_000)) == [.saved])
        let failed = policy.on(.syncFinished(.failed(.badFile, problem: "no header"), at: at(1_600)))
        #expect(Self.timers(failed).isEmpty, "no retry of a bad file")
        #expect(policy.statusLine.contains("DEGRADED: no header"))
        #expect(Self.syncs(save(&policy, "BAD", at: 3_000)).isEmpty, "the same bad bytes are not read again")
        // Undone to the content the store serves: no sync, and nothing is wrong any more.
        let undone = save(&policy, "A", at: 5_000)
        #expect(Self.syncs(undone).isEmpty)
        #expect(undone.contains(.reportRecovered), "the page is told the last sync's content serves again")
        #expect(!policy.statusLine.contains("DEGRADED"))
        // A new save is read.
        #expect(Self.syncs(save(&policy, "FIXED", at: 7_000)) == [.saved])
    }

    @Test func aRefusedChangeIsNotRetriedUnchangedButSighupTriesAgain() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let failed = policy.on(.syncFinished(.failed(.permanent, problem: "store refused"), at: at(1_600)))
        #expect(Self.timers(failed)[.retry] == nil)
        #expect(Self.syncs(save(&policy, "B", at: 3_000)).isEmpty)
        #expect(Self.syncs(policy.on(.reloadRequested(at: at(4_000)))) == [.reload])
    }

    @Test func transientFailuresBackOffDoublingUpToTheMaximum() {
        var policy = idle(maxRetry: .seconds(5))
        _ = save(&policy, "B", at: 1_000)
        var delays: [Duration] = []
        var now = 2_000
        for _ in 1...5 {
            let actions = policy.on(.syncFinished(.failed(.transient, problem: "API down"), at: at(now)))
            let delay = try? #require(Self.timers(actions)[.retry])
            delays.append(delay ?? .zero)
            now += 100
            #expect(Self.syncs(policy.on(.timerFired(.retry, at: at(now)))) == [.retry])
        }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        // Success resets the count.
        _ = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "B"), at: at(now + 10)))
        _ = save(&policy, "C", at: now + 1_000)
        let again = policy.on(.syncFinished(.failed(.transient, problem: "API down"), at: at(now + 2_000)))
        #expect(Self.timers(again)[.retry] == .seconds(1))
    }

    @Test func oneRetryIsScheduledAtATime() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        _ = policy.on(.syncFinished(.failed(.transient, problem: "API down"), at: at(1_600)))
        // The same content saved again while the retry waits: the retry covers it.
        #expect(Self.syncs(save(&policy, "B", at: 1_700)).isEmpty)
        // Different content syncs now; if that fails too, the retry already scheduled stays the only one.
        #expect(Self.syncs(save(&policy, "C", at: 1_800)) == [.saved])
        let second = policy.on(.syncFinished(.failed(.transient, problem: "API down"), at: at(2_400)))
        #expect(Self.timers(second)[.retry] == nil)
    }

    @Test func eventsDuringASyncAreHandledAfterIt() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        #expect(policy.on(.fileChanged(at: at(1_700))).isEmpty, "remembered, not acted on")
        let done = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "B"), at: at(1_900)))
        // The debounce counts from the event, which was 200 ms ago.
        #expect(Self.timers(done)[.debounce] == .milliseconds(300))
        #expect(Self.syncs(done).isEmpty)
    }

    @Test func sighupDuringASyncSyncsAgainAfterIt() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        #expect(Self.syncs(policy.on(.reloadRequested(at: at(1_600)))).isEmpty)
        let done = policy.on(.syncFinished(.succeeded(Self.summary(), sha256: "B"), at: at(1_900)))
        #expect(Self.syncs(done) == [.reload])
    }

    @Test func theWatchdogPingsAtItsIntervalFromTheSameLoop() {
        var policy = idle(watchdog: .milliseconds(200))
        for step in 1...3 {
            #expect(policy.on(.timerFired(.watchdog, at: at(step * 200))) == [.notify(.watchdog), .startTimer(.watchdog, after: .milliseconds(200))])
        }
        var unwatched = idle()
        #expect(unwatched.on(.timerFired(.watchdog, at: at(200))).isEmpty, "no watchdog configured: no pings")
    }

    @Test func skippedRowsShowInTheStatusLineAndTheLog() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let summary = Policy.SyncSummary(templates: 200, model: "m", changes: "1 modified", generation: 3,
                                         finishedAt: Date(timeIntervalSince1970: 0),
                                         skippedRows: ["row 7, column F (Шаблонный ответ): the answer is empty", "row 9: same identity"])
        let done = policy.on(.syncFinished(.succeeded(summary, sha256: "B"), at: at(1_600)))
        #expect(policy.statusLine.contains("2 rows skipped: row 7, column F (Шаблонный ответ): the answer is empty and 1 more"))
        #expect(!policy.statusLine.contains("DEGRADED"), "skipped rows are the editors' to fix; the daemon is healthy")
        #expect(done.contains { if case .log(.warning, let text) = $0 { text.contains("2 rows skipped") && text.contains("row 9") } else { false } })
    }

    @Test func shutdownStopsAndNothingFollows() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let stop = policy.on(.shutdownRequested)
        #expect(stop.first == .notify(.stopping))
        #expect(stop.last == .stop)
        #expect(policy.isStopping)
        #expect(policy.on(.syncFinished(.cancelled, at: at(2_000))).isEmpty)
        #expect(policy.on(.fileChanged(at: at(2_100))).isEmpty)
        #expect(policy.on(.reloadRequested(at: at(2_200))).isEmpty)
    }

    @Test func aCancelledSyncLeavesNoProblemBehind() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let done = policy.on(.syncFinished(.cancelled, at: at(1_500)))
        #expect(done.contains(.log(.notice, "sync cancelled; the store keeps its last committed state")))
        #expect(!policy.statusLine.contains("DEGRADED"))
    }

    /// Two renames in quick succession: the first check may have read the first save (the
    /// content already synced) before the second rename, so only the last check's result counts,
    /// in whichever order the two end.
    @Test func onlyTheLastCheckAskedForCountsWhateverOrderTheyEndIn() {
        var policy = idle()
        #expect(policy.on(.fileReplaced(at: at(1_000))).contains(Self.checkRenamed))
        #expect(policy.on(.fileReplaced(at: at(1_001))).contains(Self.checkRenamed))
        let stale = policy.on(.fileChecked(.ready(sha256: "A"), at: at(1_002), number: 1))
        #expect(Self.syncs(stale).isEmpty && !stale.contains { if case .log(.debug, let text) = $0 { text.contains("unchanged") } else { false } },
                "the first check read the content synced, but a later check is on its way")
        #expect(Self.syncs(policy.on(.fileChecked(.ready(sha256: "C"), at: at(1_003), number: 2))) == [.saved])

        var reversed = idle()
        _ = reversed.on(.fileReplaced(at: at(1_000)))
        _ = reversed.on(.fileReplaced(at: at(1_001)))
        #expect(Self.syncs(reversed.on(.fileChecked(.ready(sha256: "C"), at: at(1_002), number: 2))) == [.saved])
        #expect(Self.syncs(reversed.on(.fileChecked(.ready(sha256: "A"), at: at(1_003), number: 1))).isEmpty)
        #expect(Self.syncs(reversed.on(.syncFinished(.succeeded(Self.summary(), sha256: "C"), at: at(1_500)))).isEmpty,
                "the stale check left nothing behind")
    }

    // MARK: Merging a delta snapshot when idle

    static func summary(mergeDue: Bool, generation: UInt64 = 3) -> Policy.SyncSummary {
        .init(templates: 100_000, model: "m", changes: "1,000 modified", generation: generation,
              finishedAt: Date(timeIntervalSince1970: 0), mergeDue: mergeDue)
    }

    static func merges(_ actions: [Policy.Action]) -> Int { actions.filter { $0 == .merge }.count }

    /// Idle after the sync of "B" (saved at 1,000 ms, synced by 1,600), whose snapshot is a delta
    /// to merge: the merge timer runs.
    func idleWithADeltaToMerge() -> Policy {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let done = policy.on(.syncFinished(.succeeded(Self.summary(mergeDue: true), sha256: "B"), at: at(1_600)))
        #expect(Self.timers(done)[.merge] == .seconds(5), "the merge waits for five quiet seconds")
        #expect(Self.merges(done) == 0)
        return policy
    }

    @Test func aDeltaIsMergedAfterQuietAndTheStatusNamesTheWholeFile() {
        var policy = idleWithADeltaToMerge()
        let merging = policy.on(.timerFired(.merge, at: at(6_600)))
        #expect(Self.merges(merging) == 1)
        #expect(Self.syncs(merging).isEmpty && !merging.contains { if case .notify(.reloading) = $0 { true } else { false } },
                "a merge is not a reload: readers see one more generation of the same templates")
        let merged = policy.on(.mergeFinished(.merged(generation: 4), at: at(9_000)))
        #expect(merged.contains(.notify(.status(policy.statusLine))))
        #expect(policy.statusLine.contains("snapshot generation 4"))
        #expect(Self.timers(merged).isEmpty, "merged: nothing more to do")
        #expect(policy.on(.timerFired(.merge, at: at(20_000))).isEmpty, "a stale merge timer does nothing")
    }

    @Test func aSnapshotThatIsNotADeltaToMergeIsLeftAlone() {
        var policy = idle()
        _ = save(&policy, "B", at: 1_000)
        let done = policy.on(.syncFinished(.succeeded(Self.summary(mergeDue: false), sha256: "B"), at: at(1_600)))
        #expect(Self.timers(done)[.merge] == nil)
        #expect(policy.on(.timerFired(.merge, at: at(10_000))).isEmpty)
    }

    @Test func theMergeWaitsUntilNothingHappenedForItsQuiet() {
        var policy = idleWithADeltaToMerge()
        // A save of the same content at 3,000 ms: checked, nothing to sync, the quiet starts again.
        _ = policy.on(.fileChanged(at: at(3_000)))
        #expect(policy.on(.timerFired(.merge, at: at(3_100))).isEmpty, "not while a save is being looked at")
        _ = policy.on(.timerFired(.debounce, at: at(3_500)))
        let unchanged = policy.on(.fileChecked(.ready(sha256: "B"), at: at(3_510)))
        #expect(Self.timers(unchanged)[.merge] == .seconds(5))
        // A timer that fires before five quiet seconds since the last event waits for the rest.
        #expect(policy.on(.timerFired(.merge, at: at(6_600))) == [.startTimer(.merge, after: .milliseconds(1_400))])
        #expect(Self.merges(policy.on(.timerFired(.merge, at: at(8_000)))) == 1)
    }

    @Test func aSaveDuringAMergeCancelsItAndIsSyncedOnceItStopped() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        let saved = policy.on(.fileReplaced(at: at(7_000)))
        #expect(saved.contains(.cancelMerge))
        #expect(Self.syncs(saved).isEmpty && !saved.contains(Self.checkRenamed), "the sync waits for the merge to let go")
        #expect(!policy.on(.fileReplaced(at: at(7_010))).contains(.cancelMerge), "cancelled once")
        let stopped = policy.on(.mergeFinished(.cancelled, at: at(7_050)))
        #expect(stopped.contains(Self.checkRenamed), "the save renamed into place is checked at once")
        let synced = policy.on(.fileChecked(.ready(sha256: "C"), at: at(7_060)))
        #expect(Self.syncs(synced) == [.saved])
        // The sync's snapshot is a delta to merge again: the merge is tried again after quiet.
        let done = policy.on(.syncFinished(.succeeded(Self.summary(mergeDue: true, generation: 5), sha256: "C"), at: at(8_000)))
        #expect(Self.timers(done)[.merge] == .seconds(5))
        #expect(Self.merges(policy.on(.timerFired(.merge, at: at(13_000)))) == 1)
    }

    @Test func aWriteInPlaceDuringAMergeWaitsOutItsDebounceAfterIt() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        #expect(policy.on(.fileChanged(at: at(7_000))).contains(.cancelMerge))
        let stopped = policy.on(.mergeFinished(.cancelled, at: at(7_200)))
        #expect(Self.timers(stopped)[.debounce] == .milliseconds(300), "what is left of the debounce")
    }

    @Test func aMergeThatFinishedBeforeItsCancelArrivedStillCounts() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        #expect(policy.on(.fileReplaced(at: at(7_000))).contains(.cancelMerge))
        let merged = policy.on(.mergeFinished(.merged(generation: 4), at: at(7_010)))
        #expect(policy.statusLine.contains("snapshot generation 4"))
        #expect(merged.contains(Self.checkRenamed))
    }

    @Test func sighupAndARetryDuringAMergeCancelItAndSyncAfter() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        let reload = policy.on(.reloadRequested(at: at(7_000)))
        #expect(reload.contains(.cancelMerge) && Self.syncs(reload).isEmpty)
        #expect(Self.syncs(policy.on(.mergeFinished(.cancelled, at: at(7_100)))) == [.reload])

        // A failed sync leaves the delta the last success published: still to merge.
        var withDelta = idleWithADeltaToMerge()
        _ = save(&withDelta, "C", at: 7_000)
        let failed = withDelta.on(.syncFinished(.failed(.transient, problem: "database unreachable"), at: at(7_600)))
        #expect(Self.timers(failed)[.retry] == .seconds(1))
        #expect(Self.timers(failed)[.merge] == .seconds(5), "the delta is still the one served: it is still to merge")
        _ = withDelta.on(.timerFired(.retry, at: at(8_600)))
        _ = withDelta.on(.syncFinished(.failed(.transient, problem: "database unreachable"), at: at(8_700)))
        #expect(Self.merges(withDelta.on(.timerFired(.merge, at: at(13_700)))) == 1)
        let retry = withDelta.on(.timerFired(.retry, at: at(14_000)))
        #expect(retry.contains(.cancelMerge) && Self.syncs(retry).isEmpty)
        #expect(Self.syncs(withDelta.on(.mergeFinished(.cancelled, at: at(14_050)))) == [.reload])
    }

    @Test func aFailedMergeLeavesTheDeltaServingUntilTheNextSyncAsksAgain() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        let failed = policy.on(.mergeFinished(.failed(problem: "disk full"), at: at(7_000)))
        #expect(failed.contains { if case .log(.warning, let text) = $0 { text.contains("disk full") && text.contains("keeps serving") } else { false } })
        #expect(Self.timers(failed).isEmpty, "not retried in a loop")
        #expect(!policy.statusLine.contains("DEGRADED"), "readers are served: the delta is a complete snapshot")
        _ = save(&policy, "C", at: 8_000)
        let done = policy.on(.syncFinished(.succeeded(Self.summary(mergeDue: true), sha256: "C"), at: at(8_600)))
        #expect(Self.timers(done)[.merge] == .seconds(5))
    }

    @Test func shutdownDuringAMergeStops() {
        var policy = idleWithADeltaToMerge()
        _ = policy.on(.timerFired(.merge, at: at(6_600)))
        #expect(policy.on(.shutdownRequested).last == .stop)
        #expect(policy.on(.mergeFinished(.cancelled, at: at(7_000))).isEmpty)
    }
}
