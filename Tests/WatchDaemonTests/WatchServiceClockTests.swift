import Foundation
import Logging
import Reconciliation
import Synchronization
import SystemIO
import Testing
import TestSupport
import WatchDaemon

/// `WatchService` in the process, with real inotify on a real file and time on a clock the test
/// moves: that a save waits out its debounce, and that a failed sync waits out its backoff, is
/// shown while the service is parked on the clock, with no sleep standing in for "nothing happened".
@Suite("the watch service on a manual clock", .serialized)
struct WatchServiceClockTests {
    /// Records the syncs the service asks for; fails the ones the test says to.
    final class Syncs: Sendable {
        private let state = Mutex<(count: Int, failuresLeft: Int)>((0, 0))
        let path: String

        init(path: String) { self.path = path }

        var count: Int { state.withLock { $0.count } }
        func failNext(_ count: Int) { state.withLock { $0.failuresLeft = count } }

        func run(_ reason: WatchPolicy.SyncReason) throws -> (summary: WatchPolicy.SyncSummary, sha256: String, costs: (embedded: Int, cacheHits: Int)) {
            let fail = state.withLock { state -> Bool in
                state.count += 1
                guard state.failuresLeft > 0 else { return false }
                state.failuresLeft -= 1
                return true
            }
            if fail { throw URLError(.cannotConnectToHost) }
            let sha = ContentHash.sha256Hex(try Data(contentsOf: URL(fileURLWithPath: path)))
            return (.init(templates: 1, model: "m", changes: "1 modified", generation: nil, finishedAt: Date()), sha, (0, 0))
        }

        func waitFor(_ expected: Int) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if count >= expected { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
    }

    /// The service's log lines, so the test can wait for what it decided.
    struct RecordingLogHandler: LogHandler {
        final class Lines: Sendable {
            private let lines = Mutex<[String]>([])
            func append(_ line: String) { lines.withLock { $0.append(line) } }
            func waitFor(_ text: String) async throws -> Bool {
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if lines.withLock({ $0.contains { $0.contains(text) } }) { return true }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return false
            }
        }

        let lines: Lines
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            lines.append("\(message)")
        }
    }

    static func start(_ directory: TemporaryDirectory, clock: ManualClock,
                      log: RecordingLogHandler.Lines = .init()) throws -> (Syncs, Task<Void, any Error>) {
        let faq = directory.path("faq.csv")
        try Data("a\nb\nc\nd\n".utf8).write(to: URL(fileURLWithPath: faq))
        let syncs = Syncs(path: faq)
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: log) }
        let service = WatchService(configuration: .init(faqPath: faq, debounce: .milliseconds(500)), lastSyncedSHA256: nil,
                                   logger: logger, clock: clock, classify: { _ in .transient }, sync: { try syncs.run($0) })
        let task = Task { try await service.run() }
        return (syncs, task)
    }

    /// Past its start: the start-up sync done, and the debounce that the watcher's first event
    /// ("the directory is watched", sent so that a save while it starts is not missed) started,
    /// run out (the file is as synced, so it syncs nothing).
    static func startIdle(_ directory: TemporaryDirectory, clock: ManualClock) async throws -> (Syncs, Task<Void, any Error>) {
        let log = RecordingLogHandler.Lines()
        let (syncs, service) = try start(directory, clock: clock, log: log)
        #expect(try await syncs.waitFor(1), "the start-up sync")
        #expect(try await clock.waitForSleepers(1), "the watcher's first event started a debounce")
        clock.advance(by: .milliseconds(500))
        #expect(try await log.waitFor("content unchanged"), "the check after it found the content synced")
        #expect(clock.sleeperCount == 0)
        return (syncs, service)
    }

    /// A save as an editor makes it, renamed into place: one `IN_MOVED_TO`.
    static func save(_ text: String, in directory: TemporaryDirectory) throws {
        try Data(text.utf8).write(to: directory.file(".faq.csv.tmp"))
        guard rename(directory.path(".faq.csv.tmp"), directory.path("faq.csv")) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// A change written in place, with exactly one inotify event (`truncate` by path: one
    /// `IN_MODIFY`), so the test knows how many timers to expect.
    static func cut(to length: Int, in directory: TemporaryDirectory) throws {
        guard truncate(directory.path("faq.csv"), off_t(length)) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    @Test func aWriteInPlaceWaitsOutItsDebounceAndNoLonger() async throws {
        let directory = try TemporaryDirectory("watch-clock-debounce")
        defer { directory.remove() }
        let clock = ManualClock()
        let (syncs, service) = try await Self.startIdle(directory, clock: clock)
        defer { service.cancel() }

        try Self.cut(to: 6, in: directory)
        #expect(try await clock.waitForSleepers(1), "the write started the debounce timer")
        #expect(syncs.count == 1, "nothing syncs while the debounce runs")
        clock.advance(by: .milliseconds(499))
        #expect(clock.sleeperCount == 1 && syncs.count == 1, "a millisecond before the end, still waiting")
        clock.advance(by: .milliseconds(1))
        #expect(try await syncs.waitFor(2), "the debounce over, the write syncs")

        // A second write inside the debounce restarts it: one sync for both.
        try Self.cut(to: 4, in: directory)
        #expect(try await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(300))
        try Self.cut(to: 2, in: directory)
        #expect(try await clock.waitForSleepers(2), "the second write started a new timer")
        clock.advance(by: .milliseconds(200))
        #expect(syncs.count == 2, "the first timer fired into a restarted debounce")
        #expect(try await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(300))
        #expect(try await syncs.waitFor(3))
        service.cancel()
        _ = await service.result
        #expect(syncs.count == 3)
    }

    /// The atomic save's fast path: no debounce, the clock never moves, and the save syncs.
    @Test func aSaveRenamedIntoPlaceSyncsAtOnce() async throws {
        let directory = try TemporaryDirectory("watch-clock-rename")
        defer { directory.remove() }
        let clock = ManualClock()
        let (syncs, service) = try await Self.startIdle(directory, clock: clock)
        defer { service.cancel() }
        let before = clock.now
        try Self.save("b\n", in: directory)
        #expect(try await syncs.waitFor(2), "synced with no timer run out")
        #expect(clock.now == before && clock.sleeperCount == 0)
        // Renamed in again while nothing changed: checked, found as synced, not synced again.
        try Self.save("b\n", in: directory)
        try Self.save("c\n", in: directory)
        #expect(try await syncs.waitFor(3), "the last content syncs")
        service.cancel()
        _ = await service.result
    }

    @Test func aFailedSyncWaitsOutItsBackoffBeforeTheRetry() async throws {
        let directory = try TemporaryDirectory("watch-clock-backoff")
        defer { directory.remove() }
        let clock = ManualClock()
        let (syncs, service) = try await Self.startIdle(directory, clock: clock)
        defer { service.cancel() }

        syncs.failNext(2)
        try Self.cut(to: 6, in: directory)
        #expect(try await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(500))
        #expect(try await syncs.waitFor(2), "the save's sync, which fails")
        #expect(try await clock.waitForSleepers(1), "the retry is scheduled, not run")
        #expect(syncs.count == 2)
        clock.advance(by: .milliseconds(999))
        #expect(syncs.count == 2, "the first retry waits 1 s")
        clock.advance(by: .milliseconds(1))
        #expect(try await syncs.waitFor(3), "the first retry, which fails too")
        #expect(try await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(1_999))
        #expect(syncs.count == 3, "the second retry waits 2 s")
        clock.advance(by: .milliseconds(1))
        #expect(try await syncs.waitFor(4), "the second retry, which succeeds")
        service.cancel()
        _ = await service.result
    }

    /// Merges as the service runs them: each waits for its stop, as the writer's blocking work
    /// does at its checkpoints, unless the test lets the next one finish.
    final class Merges: Sendable {
        private let state = Mutex<(started: Int, stopped: Int, finishNext: Bool)>((0, 0, false))
        var started: Int { state.withLock { $0.started } }
        var stopped: Int { state.withLock { $0.stopped } }
        func finishNext() { state.withLock { $0.finishNext = true } }

        func run(_ stop: CancellationFlag) async throws -> UInt64? {
            let finishes = state.withLock { state -> Bool in
                state.started += 1
                defer { state.finishNext = false }
                return state.finishNext
            }
            if finishes { return 9 }
            while !stop.isRaised { try await Task.sleep(for: .milliseconds(2)) }
            state.withLock { $0.stopped += 1 }
            throw CancellationError()
        }

        func waitFor(_ keyPath: KeyPath<Merges, Int>, _ expected: Int) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if self[keyPath: keyPath] >= expected { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
    }

    /// Every sync of a save leaves a delta to merge: the merge runs after five idle seconds on the
    /// clock, a save renamed in during it stops it and is synced, and the next merge is published.
    @Test func aMergeRunsWhenIdleAndGivesWayToASave() async throws {
        let directory = try TemporaryDirectory("watch-clock-merge")
        defer { directory.remove() }
        let clock = ManualClock()
        let faq = directory.path("faq.csv")
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: faq))
        let syncs = Syncs(path: faq), merges = Merges(), log = RecordingLogHandler.Lines(), metrics = DaemonMetrics()
        let service = WatchService(configuration: .init(faqPath: faq, debounce: .milliseconds(500), idleBeforeMerge: .seconds(5)),
                                   lastSyncedSHA256: nil, metrics: metrics, logger: Logger(label: "test") { _ in RecordingLogHandler(lines: log) },
                                   clock: clock, classify: { _ in .transient }, merge: { try await merges.run($0) }) { reason in
            let synced = try syncs.run(reason)
            // Not the start-up sync's: its merge timer could race the watcher's first event.
            return (.init(templates: 1, model: "m", changes: "1 modified", generation: 3, finishedAt: Date(), mergeDue: reason != .startUp),
                    synced.sha256, synced.costs)
        }
        let task = Task { try await service.run() }
        defer { task.cancel() }
        #expect(try await syncs.waitFor(1), "the start-up sync")
        #expect(try await clock.waitForSleepers(1), "the watcher's first event started a debounce")
        clock.advance(by: .milliseconds(500))
        #expect(try await log.waitFor("content unchanged"))
        #expect(clock.sleeperCount == 0)

        try Self.save("b\n", in: directory)
        #expect(try await syncs.waitFor(2), "a save, synced at once")
        #expect(try await clock.waitForSleepers(1), "its delta is to merge: the merge timer")
        clock.advance(by: .milliseconds(4_999))
        #expect(merges.started == 0, "not before five quiet seconds")
        clock.advance(by: .milliseconds(1))
        #expect(try await merges.waitFor(\.started, 1), "idle for five seconds: the merge starts")

        try Self.save("c\n", in: directory)
        #expect(try await merges.waitFor(\.stopped, 1), "the save stopped the merge")
        #expect(try await syncs.waitFor(3), "and was synced at once, the clock unmoved")
        #expect(try await clock.waitForSleepers(1), "its delta is to merge again: the merge timer")
        merges.finishNext()
        clock.advance(by: .seconds(5))
        #expect(try await merges.waitFor(\.started, 2))
        #expect(try await log.waitFor("generation 9 is a whole file"))
        #expect(merges.stopped == 1 && syncs.count == 3)
        let exposition = metrics.exposition()
        #expect(exposition.contains(#"faqsync_snapshot_merges_total{outcome="cancelled"} 1"#), "\(exposition)")
        #expect(exposition.contains(#"faqsync_snapshot_merges_total{outcome="merged"} 1"#))
        #expect(exposition.contains("faqsync_snapshot_generation 9"), "the merge's generation is the one served")
        task.cancel()
        _ = await task.result
    }
}
