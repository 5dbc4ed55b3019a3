import Foundation
import Logging
import PathNames
import SystemIO

/// Reports content changes of the spreadsheet, from inotify on its directory (`DirectoryWatcher`).
///
/// Every way of saving is seen: writing in place, writing a temp file and renaming it over
/// (LibreOffice, rsync, most editors), Excel's rename away and rename in, `cp` over it, `git
/// checkout` deleting and creating it. Only events naming the file count, and only those that
/// change content: lock and temp files (`.~lock.NAME#`, `~$NAME`, `lu123.tmp`) and the daemon's
/// own reads (OPEN, ACCESS, CLOSE_NOWRITE) never do. When the directory itself is moved or deleted,
/// the watch is re-established once the path exists again.
package final class SpreadsheetWatcher: Sendable {
    /// What happened to the file, as far as the watch policy cares.
    package enum Change: Sendable, Equatable {
        /// Renamed into place (`IN_MOVED_TO`): an atomic save, whole when it appears.
        case replaced
        /// Anything else that may change the content: written in place, created (a file being
        /// created is not whole yet), deleted, renamed away; and "the directory is watched".
        case written
    }

    package let path: String
    package let changes: AsyncStream<Change>
    private let continuation: AsyncStream<Change>.Continuation
    private let watcher: DirectoryWatcher

    /// Throws when the watcher cannot be set up at all (no descriptor for its wake pipe).
    package init(path: String, logger: Logger) throws {
        self.path = path
        let (changes, continuation) = AsyncStream.makeStream(of: Change.self, bufferingPolicy: .bufferingNewest(64))
        self.changes = changes
        self.continuation = continuation
        let directory = PathName.directoryOrCurrent(of: path)
        let name = PathName.fileName(of: path)
        watcher = try DirectoryWatcher(directory: directory, fileMask: Self.fileMask, threadName: "faqsync-inotify", logger: logger) { event in
            switch event {
            case .watching: continuation.yield(.written)
            case .file(name, let mask): continuation.yield(Self.change(mask))
            case .directoryGone:
                logger.warning("the spreadsheet's directory was moved or deleted; waiting for it to come back",
                               metadata: ["directory": "\(directory)"])
            case .file, .quiet: break
            }
        }
    }

    package func stop() {
        watcher.stop()
        continuation.finish()
    }

    deinit { stop() }

    /// Content-changing events for a file in the directory.
    static let fileMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY)

    /// One inotify event's mask: a rename into place that did nothing else is `.replaced`.
    static func change(_ mask: UInt32) -> Change {
        mask & UInt32(IN_MOVED_TO) != 0 && mask & ~UInt32(IN_MOVED_TO | IN_ISDIR) == 0 ? .replaced : .written
    }
}
