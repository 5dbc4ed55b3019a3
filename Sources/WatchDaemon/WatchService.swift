import Foundation
import Logging
import ServiceLifecycle
import SpreadsheetReading
import SystemIO
import UnixSignals

/// `faqsync watch`: the loop around `WatchPolicy`. It turns inotify events, timers, SIGHUP,
/// shutdown and finished syncs into the policy's events, and performs its actions: timers,
/// file checks, syncs, systemd notifications and log lines. Every task it starts is a child of
/// one task group, cancelled together at shutdown (a sync in flight rolls back).
///
/// Time comes from `clock`: the system's continuous clock in the daemon, a clock the test moves
/// by hand in tests, so that a debounce or a retry can be shown to wait without sleeping.
package struct WatchService<ServiceClock: Clock>: Service
where ServiceClock.Instant == ContinuousClock.Instant, ServiceClock.Duration == Duration {
    /// Runs one sync (the `SyncCoordinator`'s) and says what it did and what it parsed.
    package typealias Sync = @Sendable (WatchPolicy.SyncReason) async throws -> (summary: WatchPolicy.SyncSummary, sha256: String,
                                                                                 costs: (embedded: Int, cacheHits: Int))
    package typealias Classify = @Sendable (any Error) -> WatchFailureKind
    /// Merges the delta snapshot into a whole file (the `SyncCoordinator`'s); returns the
    /// generation published, nil when there was nothing to merge. It stops with
    /// `CancellationError` once the flag is raised, before replacing anything.
    package typealias Merge = @Sendable (CancellationFlag) async throws -> UInt64?

    let configuration: WatchPolicy.Configuration
    let lastSyncedSHA256: String?
    let sync: Sync
    let merge: Merge
    let classify: Classify
    let notifier: SystemdNotifier
    let metrics: DaemonMetrics?
    let logger: Logger
    let clock: ServiceClock
    /// Called when the spreadsheet is back to the content last synced after a problem.
    let recovered: @Sendable () async -> Void

    package init(configuration: WatchPolicy.Configuration, lastSyncedSHA256: String?, notifier: SystemdNotifier = SystemdNotifier(),
                 metrics: DaemonMetrics? = nil, logger: Logger, clock: ServiceClock, classify: @escaping Classify,
                 recovered: @escaping @Sendable () async -> Void = {}, merge: @escaping Merge = { _ in nil }, sync: @escaping Sync) {
        var configuration = configuration
        if configuration.watchdogInterval == nil { configuration.watchdogInterval = notifier.watchdogInterval }
        self.configuration = configuration
        self.lastSyncedSHA256 = lastSyncedSHA256
        self.sync = sync
        self.merge = merge
        self.classify = classify
        self.notifier = notifier
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.recovered = recovered
    }

    /// What reaches the loop: the policy's events, and timers tagged so that a restarted timer's
    /// earlier firing is dropped.
    private enum Input: Sendable {
        case event(WatchPolicy.Event)
        case timer(WatchPolicy.Timer, token: Int)
    }

    package func run() async throws {
        let clock = clock
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self)
        let watcher = try SpreadsheetWatcher(path: configuration.faqPath, logger: logger)
        var policy = WatchPolicy(configuration: configuration, lastSyncedSHA256: lastSyncedSHA256)
        try await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // First in the stream, so every file event is handled after it: the watcher's
                // first one ("the directory is watched") always ends in one check of the file.
                sink.yield(.event(.started(at: clock.now)))
                group.addTask {
                    for await change in watcher.changes {
                        switch change {
                        case .replaced: sink.yield(.event(.fileReplaced(at: clock.now)))
                        case .written: sink.yield(.event(.fileChanged(at: clock.now)))
                        }
                    }
                }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { sink.yield(.event(.reloadRequested(at: clock.now))) }
                }
                var timerTokens: [WatchPolicy.Timer: Int] = [:]
                var nextToken = 0
                // The merge in flight's stop request.
                var mergeStop: CancellationFlag?
                // Checks counted as the policy counts them, so each result names its check.
                var checksPerformed = 0
                loop: for await input in inputs {
                    let event: WatchPolicy.Event
                    switch input {
                    case .event(let value): event = value
                    case .timer(let timer, let token):
                        guard timerTokens[timer] == token else { continue }
                        event = .timerFired(timer, at: clock.now)
                    }
                    for action in policy.on(event) {
                        switch action {
                        case .startTimer(let timer, let delay):
                            nextToken += 1
                            let token = nextToken
                            timerTokens[timer] = token
                            group.addTask {
                                guard (try? await clock.sleep(for: delay)) != nil else { return }
                                sink.yield(.timer(timer, token: token))
                            }
                        case .checkFile(let holdStill):
                            let path = configuration.faqPath
                            checksPerformed += 1
                            let number = checksPerformed
                            group.addTask {
                                sink.yield(.event(.fileChecked(await Self.check(path, holdStill: holdStill), at: clock.now, number: number)))
                            }
                        case .sync(let reason):
                            group.addTask { sink.yield(.event(.syncFinished(await runSync(reason), at: clock.now))) }
                        case .merge:
                            let stop = CancellationFlag()
                            mergeStop = stop
                            group.addTask { sink.yield(.event(.mergeFinished(await runMerge(stop), at: clock.now))) }
                        case .cancelMerge:
                            mergeStop?.raise()
                            mergeStop = nil
                        case .notify(let notification):
                            notify(notification)
                        case .log(let level, let message):
                            log(level, message)
                        case .reportRecovered:
                            group.addTask { await recovered() }
                        case .stop:
                            break loop
                        }
                    }
                }
                watcher.stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            sink.yield(.event(.shutdownRequested))
        }
    }

    private func runSync(_ reason: WatchPolicy.SyncReason) async -> WatchPolicy.SyncResult {
        let started = clock.now
        do {
            let result = try await sync(reason)
            metrics?.recordCosts(embedded: result.costs.embedded, cacheHits: result.costs.cacheHits)
            metrics?.syncSucceeded(duration: clock.now - started, generation: result.summary.generation,
                                   skippedRows: result.summary.skippedRows.count)
            return .succeeded(result.summary, sha256: result.sha256)
        } catch where error is CancellationError || Task.isCancelled {
            return .cancelled
        } catch {
            metrics?.syncFailed()
            return .failed(classify(error), problem: "\(error)")
        }
    }

    private func runMerge(_ stop: CancellationFlag) async -> WatchPolicy.MergeResult {
        let started = clock.now
        let result: WatchPolicy.MergeResult
        do {
            // A shutdown stops the merge's blocking work too, not only its task.
            let generation = try await withTaskCancellationHandler { try await merge(stop) } onCancel: { stop.raise() }
            result = generation.map { .merged(generation: $0) } ?? .nothingToMerge
        } catch where error is CancellationError || Task.isCancelled || stop.isRaised {
            result = .cancelled
        } catch {
            result = .failed(problem: "\(error)")
        }
        metrics?.merge(result, duration: clock.now - started)
        return result
    }

    /// Stable, complete and hashed, or why not.
    static func check(_ path: String, holdStill: Duration) async -> WatchPolicy.FileCheck {
        do {
            switch try await FileStability.check(path, interval: holdStill) {
            case .missing: return .missing
            case .settling(let why): return .settling(reason: why)
            case .incomplete(let why): return .settling(reason: why, sha256: try await FileHashing.sha256(of: path))
            case .ready:
                return .ready(sha256: try await FileHashing.sha256(of: path))
            }
        } catch {
            return .settling(reason: "the file could not be read (\(error))")
        }
    }

    private func notify(_ notification: WatchPolicy.Notification) {
        switch notification {
        case .status(let text): notifier.status(text)
        case .ready(let status): notifier.ready(status: status)
        case .reloading(let status): notifier.reloading(status: status)
        case .stopping: notifier.stopping()
        case .watchdog:
            notifier.watchdog()
            metrics?.watchdogPinged()
        }
    }

    private func log(_ level: WatchPolicy.LogLevel, _ message: String) {
        let file = ["file": Logger.MetadataValue.string(configuration.faqPath)]
        switch level {
        case .debug: logger.debug("\(message)", metadata: file)
        case .info: logger.info("\(message)")
        case .notice: logger.notice("\(message)")
        case .warning: logger.warning("\(message)", metadata: file)
        case .error: logger.error("\(message)")
        }
    }
}

extension WatchService where ServiceClock == ContinuousClock {
    /// The daemon's: on the system's continuous clock.
    package init(configuration: WatchPolicy.Configuration, lastSyncedSHA256: String?, notifier: SystemdNotifier = SystemdNotifier(),
                 metrics: DaemonMetrics? = nil, logger: Logger, classify: @escaping Classify,
                 recovered: @escaping @Sendable () async -> Void = {}, merge: @escaping Merge = { _ in nil }, sync: @escaping Sync) {
        self.init(configuration: configuration, lastSyncedSHA256: lastSyncedSHA256, notifier: notifier, metrics: metrics, logger: logger,
                  clock: ContinuousClock(), classify: classify, recovered: recovered, merge: merge, sync: sync)
    }
}
