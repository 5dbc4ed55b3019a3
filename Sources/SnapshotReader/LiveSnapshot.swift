import Foundation
import Logging
import PathNames
import SnapshotFormat
import Synchronization

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
                       templates: state.current?.view.count, reloads: state.reloads,
                       failedReloads: state.failedReloads, lastFailure: state.lastFailure, switchedAt: state.switchedAt)
        }
    }

    /// Why the reader is behind: the file now at the path was examined and rejected (damaged, not
    /// newer, not a regular file), so the previous snapshot keeps serving. Nil while the reader
    /// serves the file at the path (or the path is empty for a moment, mid-rename).
    public var rejectedFileAtPath: SnapshotError? {
        guard let identity = FileIdentity.of(path: path) else { return nil }
        return state.withLock { state in
            guard identity != state.current?.identity, identity == state.rejected else { return nil }
            return state.lastFailure
        }
    }

    public func search(_ query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> SearchResults {
        guard let snapshot = current else {
            throw SearchError(message: "no snapshot is loaded yet (\(path)); run `faqsync sync` to publish one")
        }
        return try reloadingIfTorn { try snapshot.search(query, k: k, filter: filter) }
    }

    /// A search whose mapping turned out torn (`changedUnderReader`) starts a reload before the
    /// error reaches the caller, who may retry on the reloaded snapshot.
    private func reloadingIfTorn<T>(_ body: () throws -> T) throws -> T {
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
        if identity == known || identity == rejected { return .unchanged }
        do {
            let candidate = try MappedSnapshot(path: path)
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
                                                       "to": "\(candidate.generation)", "templates": "\(candidate.view.count)"])
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

/// The thread that waits on inotify (and the fallback timeout) and calls `reloadIfChanged`.
/// A thread of its own because `poll` blocks; it never runs on the cooperative pool.
final class Follower: Sendable {
    private let wakePipe: (read: Int32, write: Int32)
    private let done = Mutex(false)

    init(live: LiveSnapshot, fallbackInterval: Duration, logger: Logger) {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wakePipe = (fds[0], fds[1])
        let directory = PathName.directoryOrCurrent(of: live.path)
        let fileName = PathName.fileName(of: live.path)
        let timeoutMillis = Int32(fallbackInterval.components.seconds * 1000 + fallbackInterval.components.attoseconds / 1_000_000_000_000_000)
        let wake = wakePipe.read
        let started = Thread { [weak live] in
            let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            if inotify >= 0 {
                let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF)
                if inotify_add_watch(inotify, directory, mask) < 0 {
                    logger.warning("cannot watch the snapshot directory; checking every interval instead",
                                   metadata: ["directory": "\(directory)", "error": "\(String(cString: strerror(errno)))"])
                }
            }
            defer { if inotify >= 0 { close(inotify) } }
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                                   pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&descriptors, inotify >= 0 ? 2 : 1, timeoutMillis)
                if ready > 0, descriptors[0].revents != 0 { return }
                if ready > 0, inotify >= 0, descriptors[1].revents != 0 {
                    // Only events naming the snapshot file matter, not the publisher's temp files.
                    var relevant = false
                    while true {
                        let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
                        if count <= 0 { break }
                        relevant = relevant || Follower.names(fileName, in: buffer, count: count)
                    }
                    if !relevant { continue }
                }
                guard let live else { return }
                live.reloadIfChanged()
            }
        }
        started.name = "faqsync-snapshot-follower"
        started.start()
    }

    func stop() {
        let alreadyDone = done.withLock { done -> Bool in defer { done = true }; return done }
        guard !alreadyDone else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    deinit {
        stop()
        close(wakePipe.write)
        // The read end is left to the thread's lifetime; it exits on the wake byte.
    }

    /// Whether any event in the inotify buffer names `fileName`.
    static func names(_ fileName: String, in buffer: [UInt8], count: Int) -> Bool {
        let wanted = Array(fileName.utf8)
        var offset = 0
        let headerSize = MemoryLayout<inotify_event>.size
        while offset + headerSize <= count {
            let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
            let nameStart = offset + headerSize
            let name = buffer[nameStart..<min(count, nameStart + length)].prefix { $0 != 0 }
            if Array(name) == wanted { return true }
            offset = nameStart + length
        }
        return false
    }
}
