import Crypto
import Foundation
import Logging
import ServiceLifecycle
import SpreadsheetReading
import Synchronization
import UnixSignals

/// What one sync did, as the daemon reports it.
public struct WatchSyncSummary: Sendable {
    public let templates: Int
    public let model: String
    public let changes: String
    public let generation: UInt64?

    public init(templates: Int, model: String, changes: String, generation: UInt64?) {
        self.templates = templates
        self.model = model
        self.changes = changes
        self.generation = generation
    }
}

/// How a failed sync should be handled.
public enum WatchFailureKind: Sendable {
    /// The file is bad (wrong header, empty question, duplicate identity): wait for the next save.
    case badFile
    /// The file may have been caught half-written: look again shortly.
    case incompleteFile
    /// The store (or the snapshot format) refused the change: retrying the same content cannot
    /// succeed, so wait for the next save or SIGHUP.
    case permanent
    /// The model API or the store failed: retry with backoff.
    case transient
}

public struct WatchConfiguration: Sendable {
    public var faqPath: String
    /// Quiet time after the last event before a burst counts as one save (`WATCH_DEBOUNCE_MS`).
    public var debounce: Duration = .milliseconds(500)
    /// How long a file may stay an incomplete zip, with no new events, before it is read anyway
    /// (and reported if it is still broken).
    public var settleLimit: Duration = .seconds(5)
    public var maxRetryDelay: Duration = .seconds(60)

    public init(faqPath: String) { self.faqPath = faqPath }
}

/// `faqsync watch`: sync at start-up, then whenever the spreadsheet's content changes (and on
/// SIGHUP), keeping the last good store and snapshot serving through every failure.
public struct WatchService: Service {
    public typealias Sync = @Sendable () async throws -> WatchSyncSummary
    public typealias Classify = @Sendable (any Error) -> WatchFailureKind

    let configuration: WatchConfiguration
    let sync: Sync
    let classify: Classify
    let lastSyncedSHA256: String?
    let notifier: SystemdNotifier
    let metrics: DaemonMetrics?
    let logger: Logger

    public init(configuration: WatchConfiguration, lastSyncedSHA256: String?, notifier: SystemdNotifier = SystemdNotifier(),
                metrics: DaemonMetrics? = nil, logger: Logger, classify: @escaping Classify, sync: @escaping Sync) {
        self.configuration = configuration
        self.sync = sync
        self.classify = classify
        self.lastSyncedSHA256 = lastSyncedSHA256
        self.notifier = notifier
        self.metrics = metrics
        self.logger = logger
    }

    enum Trigger: Sendable { case fileChanged(String), reload, retry }

    public func run() async throws {
        let state = WatchState(lastSyncedSHA256: lastSyncedSHA256)
        let watcher = SpreadsheetWatcher(path: configuration.faqPath, logger: logger)
        let (triggers, triggerSink) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(32))

        try await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in watcher.changes {
                        state.noteEvent()
                        triggerSink.yield(.fileChanged(event))
                    }
                }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { triggerSink.yield(.reload) }
                }
                if let interval = notifier.watchdogInterval {
                    group.addTask { await watchdog(every: interval) }
                }

                // Start-up: costs nothing when nothing changed, and makes sure a snapshot exists.
                notifier.status("Starting: syncing \(configuration.faqPath)")
                await runSync(reason: "start-up", state: state, triggerSink: triggerSink, force: true)
                notifier.ready(status: state.statusLine(faq: configuration.faqPath))

                for await trigger in triggers {
                    // Triggers queued before the shutdown are still delivered; none may start a sync.
                    if state.isStopping { break }
                    switch trigger {
                    case .fileChanged(let event):
                        logger.debug("spreadsheet event", metadata: ["event": "\(event)"])
                        guard await settle(state: state) else { continue }
                        await runSync(reason: "saved", state: state, triggerSink: triggerSink, force: false)
                    case .reload:
                        logger.info("SIGHUP: syncing again")
                        await runSync(reason: "SIGHUP", state: state, triggerSink: triggerSink, force: true)
                    case .retry:
                        state.retryFired()
                        await runSync(reason: "retry", state: state, triggerSink: triggerSink, force: true)
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            state.stop()
            notifier.stopping()
            logger.info("stopping: an in-flight sync is cancelled and rolls back; the store keeps its last committed state")
            triggerSink.finish()
            watcher.stop()
            state.running.withLock { $0 }?.cancel()
        }
    }

    /// Waits for the burst of events to end and the file to be readable. False when there is
    /// nothing to read (the file is missing).
    private func settle(state: WatchState) async -> Bool {
        do {
            while let age = state.timeSinceLastEvent(), age < configuration.debounce {
                try await Task.sleep(for: configuration.debounce - age)
            }
            var started = ContinuousClock.now
            while true {
                // A writer still at work (new events) restarts the wait.
                if let age = state.timeSinceLastEvent(), age < configuration.debounce { started = .now }
                switch try await FileStability.check(configuration.faqPath) {
                case .ready:
                    return true
                case .missing:
                    logger.warning("the spreadsheet is missing; still serving the last good snapshot, waiting for it to come back",
                                   metadata: ["file": "\(configuration.faqPath)"])
                    state.setProblem("\(configuration.faqPath) is missing")
                    notifier.status(state.statusLine(faq: configuration.faqPath))
                    return false
                case .settling(let why):
                    if ContinuousClock.now - started > configuration.settleLimit {
                        logger.warning("the spreadsheet kept changing; reading it anyway", metadata: ["reason": "\(why)"])
                        return true
                    }
                    logger.debug("waiting for the save to finish", metadata: ["reason": "\(why)"])
                    try await Task.sleep(for: configuration.debounce)
                }
            }
        } catch {
            return false
        }
    }

    private func runSync(reason: String, state: WatchState, triggerSink: AsyncStream<Trigger>.Continuation, force: Bool) async {
        let path = configuration.faqPath
        if state.isStopping { return }
        let sha256 = try? await Self.sha256(of: path)
        if !force, let sha256, sha256 == state.lastSyncedSHA256 {
            logger.debug("content unchanged (same SHA-256 as the last sync); nothing to do")
            // The file is back to what the store serves (a bad save undone): nothing is wrong any more.
            if state.clearProblem() {
                logger.info("the spreadsheet is back to the content last synced; no longer degraded")
                notifier.status(state.statusLine(faq: path))
            }
            return
        }
        if !force, let sha256, sha256 == state.lastBadSHA256 {
            logger.debug("the same bad content as before; waiting for the next save")
            return
        }
        if !force, state.retryPending(for: sha256) {
            logger.debug("a retry of this content is already scheduled")
            return
        }
        notifier.reloading(status: "Syncing \(path) (\(reason))")
        let started = ContinuousClock.now
        let task = Task { [sync, classify, logger, metrics, notifier, configuration] in
            do {
                let summary = try await sync()
                state.succeeded(summary: summary, sha256: sha256)
                metrics?.syncSucceeded(duration: ContinuousClock.now - started, generation: summary.generation)
                logger.info("sync done", metadata: ["reason": "\(reason)", "templates": "\(summary.templates)", "changes": "\(summary.changes)",
                                                    "generation": "\(summary.generation.map(String.init) ?? "-")"])
            } catch where error is CancellationError || Task.isCancelled {
                logger.notice("sync cancelled; the store keeps its last committed state")
            } catch {
                metrics?.syncFailed()
                let kind = classify(error)
                switch kind {
                case .badFile:
                    state.failed(problem: "\(error)", badSHA256: sha256)
                    logger.error("the spreadsheet was not synced; still serving the last good snapshot until the next save",
                                 metadata: ["error": "\(error)"])
                case .permanent:
                    state.failed(problem: "\(error)", badSHA256: sha256)
                    logger.error("the store refused the change; not retrying it unchanged, still serving the last good snapshot until the next save or SIGHUP",
                                 metadata: ["error": "\(error)"])
                case .incompleteFile:
                    // settle() already waited for a complete zip; a file still cut off is reported once.
                    state.failed(problem: "\(error)", badSHA256: sha256)
                    logger.error("the spreadsheet stays unreadable (cut off); still serving the last good snapshot until the next save",
                                 metadata: ["error": "\(error)"])
                case .transient:
                    let attempt = state.failed(problem: "\(error)", badSHA256: nil)
                    let delay = min(Duration.seconds(1) * (1 << min(attempt - 1, 6)), configuration.maxRetryDelay)
                    if state.scheduleRetry(sha256: sha256) {
                        logger.error("sync failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)",
                                                                          "retry_in_s": "\(delay.components.seconds)"])
                        Self.schedule(.retry, after: delay, into: triggerSink)
                    } else {
                        logger.error("sync failed; a retry is already scheduled", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                    }
                }
            }
            notifier.ready(status: state.statusLine(faq: configuration.faqPath))
        }
        state.running.withLock { $0 = task }
        await task.value
        state.running.withLock { $0 = nil }
    }

    private static func schedule(_ trigger: Trigger, after delay: Duration, into sink: AsyncStream<Trigger>.Continuation) {
        Task {
            try? await Task.sleep(for: delay)
            sink.yield(trigger)
        }
    }

    /// Pings the watchdog at half its interval. The pings come from the same task group as the
    /// watch loop, so a wedged runtime stops them and systemd restarts the service.
    private func watchdog(every interval: Duration) async {
        while !Task.isCancelled {
            notifier.watchdog()
            metrics?.watchdogPinged()
            try? await Task.sleep(for: interval)
        }
    }

    static func sha256(of path: String) async throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The daemon's view: last good sync, current problem, what to put in STATUS=.
final class WatchState: Sendable {
    private struct Values {
        var lastSyncedSHA256: String?
        var lastBadSHA256: String?
        var lastSummary: WatchSyncSummary?
        var lastSuccess: Date?
        var problem: String?
        var consecutiveFailures = 0
        var lastEvent: ContinuousClock.Instant?
        /// A retry is scheduled (for this content): more events for the same content wait for
        /// it rather than each running a sync and scheduling a retry of its own.
        var retryScheduled = false
        var retrySHA256: String?
    }

    private let values: Mutex<Values>
    /// The sync in progress, so shutdown can cancel it.
    let running = Mutex<Task<Void, Never>?>(nil)
    private let stopping = Mutex(false)

    var isStopping: Bool { stopping.withLock { $0 } }
    func stop() { stopping.withLock { $0 = true } }

    init(lastSyncedSHA256: String?) { values = Mutex(Values(lastSyncedSHA256: lastSyncedSHA256)) }

    var lastSyncedSHA256: String? { values.withLock { $0.lastSyncedSHA256 } }
    var lastBadSHA256: String? { values.withLock { $0.lastBadSHA256 } }

    func noteEvent() { values.withLock { $0.lastEvent = .now } }
    func timeSinceLastEvent() -> Duration? { values.withLock { $0.lastEvent.map { .now - $0 } } }

    func succeeded(summary: WatchSyncSummary, sha256: String?) {
        values.withLock {
            $0.lastSummary = summary
            $0.lastSuccess = Date()
            $0.lastSyncedSHA256 = sha256 ?? $0.lastSyncedSHA256
            $0.lastBadSHA256 = nil
            $0.problem = nil
            $0.consecutiveFailures = 0
            $0.retrySHA256 = nil
        }
    }

    @discardableResult
    func failed(problem: String, badSHA256: String?) -> Int {
        values.withLock {
            $0.problem = problem
            if let badSHA256 { $0.lastBadSHA256 = badSHA256 }
            $0.consecutiveFailures += 1
            return $0.consecutiveFailures
        }
    }

    /// True when the caller should schedule the retry (none is pending yet).
    func scheduleRetry(sha256: String?) -> Bool {
        values.withLock {
            $0.retrySHA256 = sha256
            if $0.retryScheduled { return false }
            $0.retryScheduled = true
            return true
        }
    }

    func retryFired() { values.withLock { $0.retryScheduled = false } }

    /// A retry of exactly this content is already scheduled.
    func retryPending(for sha256: String?) -> Bool {
        values.withLock { $0.retryScheduled && sha256 != nil && $0.retrySHA256 == sha256 }
    }

    func setProblem(_ problem: String) { values.withLock { $0.problem = problem } }

    /// Clears the current problem; true when there was one.
    func clearProblem() -> Bool {
        values.withLock { values in
            defer { values.problem = nil; values.lastBadSHA256 = nil; values.consecutiveFailures = 0 }
            return values.problem != nil
        }
    }

    func statusLine(faq: String) -> String {
        values.withLock { values in
            var parts: [String] = []
            if let summary = values.lastSummary {
                parts.append("\(summary.templates) templates, \(summary.model), snapshot generation \(summary.generation.map(String.init) ?? "-")")
                if let when = values.lastSuccess { parts.append("last sync \(when.formatted(.iso8601)): \(summary.changes)") }
            }
            if let problem = values.problem { parts.append("DEGRADED: \(problem)") }
            return parts.isEmpty ? "Watching \(faq)" : parts.joined(separator: "; ")
        }
    }
}
