import Foundation
import Logging
import Synchronization

/// The one inotify loop: watches a directory on a thread of its own (poll blocks) and reports the
/// events that name files in it, until stopped.
///
/// Directories, not files, are watched, so every way of replacing a file is seen (a rename over
/// it, a write in place, a delete and create). When the directory itself is moved or deleted, the
/// watch is re-established once the path exists again. A `poll` that fails with anything but
/// EINTR is logged and retried after a pause, never spun on. The spreadsheet watcher and the
/// snapshot reader's follower both run on it.
package final class DirectoryWatcher: Sendable {
    package enum Event: Sendable, Equatable {
        /// The directory is watched (at start, and again after it came back).
        case watching
        /// An event naming a file in the directory.
        case file(name: String, mask: UInt32)
        /// The directory was moved or deleted; the watcher waits for it to come back.
        case directoryGone
        /// The fallback interval passed without an event (only with `fallbackInterval`).
        case quiet
    }

    /// The system calls the loop makes, replaceable by tests that need them to fail.
    package struct Calls: Sendable {
        package var poll: @Sendable (UnsafeMutablePointer<pollfd>, nfds_t, Int32) -> Int32 = { Glibc.poll($0, $1, $2) }
        package var pipe: @Sendable (UnsafeMutablePointer<Int32>) -> Int32 = { Glibc.pipe($0) }
        package init() {}
    }

    package let directory: String
    private let wakePipe: WakePipe
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Pause after a failed `poll` before the next.
    package static let failurePause: Int32 = 1_000

    /// Starts watching. `onEvent` is called on the watcher's thread.
    /// - Parameters:
    ///   - fileMask: the inotify events wanted for files in the directory.
    ///   - fallbackInterval: also wake this often without events (`.quiet`), for file systems
    ///     where inotify says nothing (NFS, some containers); nil waits for events only.
    package init(directory: String, fileMask: UInt32, fallbackInterval: Duration? = nil, threadName: String, logger: Logger,
                calls: Calls = Calls(), onEvent: @escaping @Sendable (Event) -> Void) throws(SystemCallError) {
        self.directory = directory
        let wakePipe = try WakePipe(makePipe: calls.pipe)
        self.wakePipe = wakePipe
        let finished = self.finished
        let fallback = fallbackInterval.map { Int32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
        let thread = Thread {
            Self.loop(directory: directory, fileMask: fileMask, fallbackMillis: fallback, wake: wakePipe.readEnd, logger: logger,
                      calls: calls, onEvent: onEvent)
            wakePipe.closeReadEnd()
            finished.signal()
        }
        thread.name = threadName
        thread.start()
    }

    /// Stops the thread; returns once it has finished (no `onEvent` call after this returns,
    /// unless called from `onEvent` itself).
    package func stop(waitForThread: Bool = true) {
        let already = stopped.withLock { value -> Bool in defer { value = true }; return value }
        guard !already else { return }
        wakePipe.wake()
        wakePipe.closeWriteEnd()
        if waitForThread { finished.wait() }
    }

    deinit { stop(waitForThread: false) }

    static let selfMask = UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    private static func loop(directory: String, fileMask: UInt32, fallbackMillis: Int32?, wake: Int32, logger: Logger,
                             calls: Calls, onEvent: (Event) -> Void) {
        let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if inotify < 0 {
            logger.error("inotify is unavailable; changes are noticed only by the fallback check, if any",
                         metadata: ["directory": "\(directory)", "error": "\(String(cString: strerror(errno)))"])
        }
        defer { if inotify >= 0 { SystemCall.close(inotify) } }
        var watch: Int32 = -1
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if inotify >= 0, watch < 0 {
                watch = inotify_add_watch(inotify, directory, fileMask | selfMask)
                if watch >= 0 {
                    onEvent(.watching)
                } else {
                    logger.warning("cannot watch the directory; retrying", metadata: [
                        "directory": "\(directory)", "error": "\(String(cString: strerror(errno)))"])
                }
            }
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
            // Blocks until an event; wakes every second while the directory is missing, and at
            // the fallback interval when there is one.
            let timeout: Int32 = watch < 0 ? min(1_000, fallbackMillis ?? 1_000) : (fallbackMillis ?? -1)
            let ready = descriptors.withUnsafeMutableBufferPointer { calls.poll($0.baseAddress!, inotify >= 0 ? 2 : 1, timeout) }
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                logger.error("poll failed; pausing before the next", metadata: ["directory": "\(directory)", "error": "\(String(cString: strerror(code)))"])
                var pause = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
                if Glibc.poll(&pause, 1, failurePause) > 0 { return }
                continue
            }
            if descriptors[0].revents != 0 { return }
            if ready == 0 {
                if watch >= 0 || inotify < 0 { onEvent(.quiet) }
                continue
            }
            guard inotify >= 0, descriptors[1].revents != 0 else { continue }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                var offset = 0
                let headerSize = MemoryLayout<inotify_event>.size
                while offset + headerSize <= count {
                    let (mask, length) = buffer.withUnsafeBytes { raw in
                        (raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                         Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                    }
                    let nameBytes = buffer[(offset + headerSize)..<min(count, offset + headerSize + length)].prefix { $0 != 0 }
                    offset += headerSize + length
                    if mask & selfMask != 0 || mask & UInt32(IN_IGNORED) != 0 {
                        if watch >= 0 { inotify_rm_watch(inotify, watch) }
                        watch = -1
                        onEvent(.directoryGone)
                        continue
                    }
                    if !nameBytes.isEmpty, mask & fileMask != 0 {
                        onEvent(.file(name: String(decoding: nameBytes, as: UTF8.self), mask: mask))
                    }
                }
            }
        }
    }
}
