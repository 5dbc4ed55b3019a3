import Foundation
import Logging
import PathNames
import Synchronization

/// Watches the spreadsheet's directory with inotify and reports content changes of the file.
///
/// The directory, not the file, is watched, so every way of saving is seen: writing in place,
/// writing a temp file and renaming it over (LibreOffice, rsync, most editors), Excel's rename
/// away and rename in, `cp` over it, `git checkout` deleting and creating it. Only events naming
/// the file count, and only those that change content: lock and temp files (`.~lock.NAME#`,
/// `~$NAME`, `lu123.tmp`) and the daemon's own reads (OPEN, ACCESS, CLOSE_NOWRITE) never do.
/// When the directory itself is moved or deleted, the watch is re-established once the path
/// exists again. Runs on a thread of its own, because `poll` blocks.
package final class SpreadsheetWatcher: Sendable {
    package let path: String
    package let changes: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let wakePipe: (read: Int32, write: Int32)
    private let stopped = Mutex(false)

    package init(path: String, logger: Logger) {
        self.path = path
        (changes, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(64))
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakePipe = (fds[0], fds[1])
        let directory = PathName.directoryOrCurrent(of: path)
        let name = PathName.fileName(of: path)
        let continuation = self.continuation
        let wake = wakePipe.read
        let thread = Thread {
            Self.watch(directory: directory, name: name, wake: wake, logger: logger) { continuation.yield($0) }
            continuation.finish()
            close(wake)
        }
        thread.name = "faqsync-inotify"
        thread.start()
    }

    package func stop() {
        let already = stopped.withLock { value -> Bool in defer { value = true }; return value }
        guard !already else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        close(wakePipe.write)
    }

    deinit { stop() }

    /// Content-changing events for a file in the directory.
    static let fileMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY)
    /// The directory itself going away.
    static let selfMask = UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    private static func watch(directory: String, name: String, wake: Int32, logger: Logger, report: (String) -> Void) {
        let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else {
            logger.error("inotify is unavailable; the spreadsheet will only be synced at start-up and on SIGHUP",
                         metadata: ["error": "\(String(cString: strerror(errno)))"])
            return
        }
        defer { close(inotify) }
        var watch: Int32 = -1
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if watch < 0 {
                watch = inotify_add_watch(inotify, directory, fileMask | selfMask)
                if watch >= 0 {
                    report("the directory is watched")
                } else {
                    logger.warning("cannot watch the spreadsheet's directory; retrying", metadata: [
                        "directory": "\(directory)", "error": "\(String(cString: strerror(errno)))"])
                }
            }
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
            // Blocks until an event; wakes every second only while the directory is missing.
            let ready = poll(&descriptors, 2, watch < 0 ? 1_000 : -1)
            if ready < 0, errno == EINTR { continue }
            if descriptors[0].revents != 0 { return }
            guard descriptors[1].revents != 0 else { continue }
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
                        logger.warning("the spreadsheet's directory was moved or deleted; waiting for it to come back",
                                       metadata: ["directory": "\(directory)"])
                        continue
                    }
                    if String(decoding: nameBytes, as: UTF8.self) == name, mask & fileMask != 0 {
                        report(describe(mask))
                    }
                }
            }
        }
    }

    static func describe(_ mask: UInt32) -> String {
        var names: [String] = []
        if mask & UInt32(IN_CLOSE_WRITE) != 0 { names.append("close-write") }
        if mask & UInt32(IN_MOVED_TO) != 0 { names.append("moved-to") }
        if mask & UInt32(IN_MOVED_FROM) != 0 { names.append("moved-from") }
        if mask & UInt32(IN_CREATE) != 0 { names.append("create") }
        if mask & UInt32(IN_DELETE) != 0 { names.append("delete") }
        if mask & UInt32(IN_MODIFY) != 0 { names.append("modify") }
        return names.joined(separator: ",")
    }
}
