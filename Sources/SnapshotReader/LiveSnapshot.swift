import Foundation
import Logging
import PathNames
import SnapshotFormat
import Synchronization
import SystemIO

/// The snapshot a retrieval process serves from, kept current as new ones are published.
///
/// ```swift
/// let live = try LiveSnapshot(path: "/run/faqsync/faqsync.snapshot")
/// live.startFollowing()                       // inotify on the directory + a 1 s stat fallback
/// let results = try live.search(queryVector, k: 5)
/// ```
///
/// A new file is mapped and fully validated (checksum included) before the switch; the switch is
/// one pointer swap, and queries already running finish on the mapping they started with. An
/// invalid new file is logged and the previous snapshot keeps serving.
public final class LiveSnapshot: Sendable {
    public let path: String
    private let logger: Logger
    private let state = Mutex<State>(State())
    private let follower = Mutex<Follower?>(nil)

    struct State {
        var current: MappedSnapshot?
        var reloads = 0
        var failedReloads = 0
        var lastFailure: SnapshotError?
        /// The file identity last rejected, so an invalid file is reported once, not every second.
        var rejected: FileIdentity?
        var switchedAt: ContinuousClock.Instant?
    }

    /// What the snapshot's users may want to report (health, metrics).
    public struct Statistics: Sendable {
        public let generation: UInt64?
        public let createdMillis: Int64?
        public let templates: Int?
        public let reloads: Int
        public let failedReloads: Int
        public let lastFailure: SnapshotError?
        /// When the last switch to a new snapshot happened.
        public let switchedAt: ContinuousClock.Instant?
    }

    public enum ReloadOutcome: Sendable, Equatable {
        case unchanged
        case switched(from: UInt64?, to: UInt64)
        case rejected(SnapshotError.Code)
    }

    /// Maps the snapshot now if there is one. With `requireSnapshot` a missing or invalid file
    /// throws; otherwise the reader starts empty and picks the file up when it appears.
    public init(path: String, requireSnapshot: Bool = true, logger: Logger = Logger(label: "faqsync.snapshot-reader")) throws {
        self.path = path
        self.logger = logger
        do {
            let mapped = try MappedSnapshot(path: path)
            state.withLock { $0.current = mapped }
        } catch let error as SnapshotError where !requireSnapshot {
            logger.warning("no usable snapshot yet", metadata: ["path": "\(path)", "reason": "\(error.message)"])
        }
    }

    /// The snapshot queries should use now. Hold the reference for the whole query.
    public var current: MappedSnapshot? { state.withLock { $0.current } }

    public var statistics: Statistics {
        state.withLock { state in
            Statistics(generation: state.current?.generation, createdMillis: state.current?.header.createdMillis,
                       templates: state.current?.contents.count, reloads: state.reloads,
                       failedReloads: state.failedReloads, lastFailure: state.lastFailure, switchedAt: state.switchedAt)
        }
    }

    /// Why the reader is behind: the file now at the path was examined and rejected (damaged, not
    /// newer, not a regular file), so the previous snapshot keeps serving. Nil while the reader
    /// serves the file at the path (or the path is empty for a moment, mid-rename).
    public var rejectedFileAtPath: SnapshotError? {
        guard let identity = FileIdentity.of(path: path) else { return nil }
        return state.withLock { state in
            guard !identity.hasSameContent(as: state.current?.identity), identity.hasSameContent(as: state.rejected) else { return nil }
            return state.lastFailure
        }
    }

    public func search(_ query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> SearchResults {
        guard let snapshot = current else {
            throw SearchError(message: "no snapshot is loaded yet (\(path)); run `faqsync sync` to publish one")
        }
        return try reloadingIfTorn { try snapshot.search(query, k: k, filter: filter) }
    }

    /// A read whose mapping turned out torn (`changedUnderReader`) starts a reload before the
    /// error reaches the caller, who may retry on the reloaded snapshot. The one place that
    /// decision is made: `serve`, which holds a snapshot across a query's embedding, reads
    /// through it too.
    package func reloadingIfTorn<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as SnapshotError where error.code == .changedUnderReader {
            reloadIfChanged()
            throw error
        }
    }

    /// Top-k for a query in its mode (hybrid by default), from the snapshot served now.
    public func search(_ query: SearchQuery, k: Int, filter: SearchFilter = SearchFilter(),
                       tuning: SearchTuning = SearchTuning()) throws -> SearchResults {
        guard let snapshot = current else {
            throw SearchError(message: "no snapshot is loaded yet (\(path)); run `faqsync sync` to publish one")
        }
        return try reloadingIfTorn { try snapshot.search(query, k: k, filter: filter, tuning: tuning) }
    }

    /// Switches to the file at the path if it is another, valid file with a newer generation.
    @discardableResult
    public func reloadIfChanged() -> ReloadOutcome {
        guard let identity = FileIdentity.of(path: path) else { return .unchanged }
        let (known, rejected) = state.withLock { ($0.current?.identity, $0.rejected) }
        if identity.hasSameContent(as: known) || identity.hasSameContent(as: rejected) { return .unchanged }
        do {
            let candidate = try MappedSnapshot(path: path, known: current)
            let previous = current?.generation
            // A generation that is not newer is refused, unless the one served was torn (changed
            // in place): then any valid file is better than none, a restored backup included.
            if let previous, candidate.generation <= previous, current?.isIntact != false {
                throw SnapshotError(code: .inconsistent, path: path,
                                    message: "generation \(candidate.generation) is not newer than the one being served (\(previous))")
            }
            let replaced = state.withLock { state -> MappedSnapshot? in
                let replaced = state.current
                state.current = candidate
                state.reloads += 1
                state.rejected = nil
                state.switchedAt = .now
                return replaced
            }
            // Released here, outside the lock: unmapping a large snapshot (and the kernel freeing a
            // replaced file's page cache) takes tens of milliseconds that no query should wait for.
            // In-flight queries still holding it keep it mapped until they finish.
            withExtendedLifetime(replaced) {}
            logger.info("switched snapshot", metadata: ["from": "\(previous.map(String.init) ?? "none")",
                                                       "to": "\(candidate.generation)", "templates": "\(candidate.contents.count)"])
            return .switched(from: previous, to: candidate.generation)
        } catch {
            let failure = (error as? SnapshotError) ?? SnapshotError(code: .io, path: path, message: "\(error)")
            // A missing file mid-rename is not a failure: the next event brings the new one.
            if failure.code == .missing { return .unchanged }
            state.withLock { state in
                state.failedReloads += 1
                state.lastFailure = failure
                state.rejected = identity
            }
            logger.error("new snapshot rejected, still serving the previous one", metadata: [
                "path": "\(path)", "code": "\(failure.code.rawValue)", "reason": "\(failure.message)",
                "serving": "\(current?.generation.description ?? "none")"])
            return .rejected(failure.code)
        }
    }

    /// Follows the path: inotify on its directory wakes the reload at once; a stat every
    /// `fallbackInterval` covers filesystems where inotify says nothing (NFS, some containers).
    public func startFollowing(fallbackInterval: Duration = .seconds(1)) {
        follower.withLock { follower in
            guard follower == nil else { return }
            follower = Follower(live: self, fallbackInterval: fallbackInterval, logger: logger)
        }
    }

    public func stopFollowing() {
        let stopped = follower.withLock { follower -> Follower? in
            defer { follower = nil }
            return follower
        }
        stopped?.stop()
    }

    deinit {
        follower.withLock { $0 }?.stop()
    }
}

/// Calls `reloadIfChanged` when inotify reports the snapshot file replaced or written, and at the
/// fallback interval (`DirectoryWatcher`, on a thread of its own).
final class Follower: Sendable {
    private let watcher: DirectoryWatcher?

    init(live: LiveSnapshot, fallbackInterval: Duration, logger: Logger) {
        let fileName = PathName.fileName(of: live.path)
        let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
        do {
            watcher = try DirectoryWatcher(directory: PathName.directoryOrCurrent(of: live.path), fileMask: mask,
                                           fallbackInterval: fallbackInterval, threadName: "faqsync-snapshot-follower",
                                           logger: logger) { [weak live] event in
                switch event {
                // Only events naming the snapshot file matter, not the publisher's temp files.
                case .file(let name, _) where name != fileName: return
                case .directoryGone: return
                default: live?.reloadIfChanged()
                }
            }
        } catch {
            logger.error("cannot follow the snapshot: new snapshots are not picked up until restart",
                         metadata: ["path": "\(live.path)", "error": "\(error)"])
            watcher = nil
        }
    }

    func stop() {
        // Not waiting: stop may be called from the follower's own thread (a reload dropping the
        // last reference to the LiveSnapshot).
        watcher?.stop(waitForThread: false)
    }

    deinit { stop() }
}
