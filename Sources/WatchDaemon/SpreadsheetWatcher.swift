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
    package let path: String
    package let changes: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let watcher: DirectoryWatcher

    /// Throws when the watcher cannot be set up at all (no descriptor for its wake pipe).
    package init(path: String, logger: Logger) throws {
        self.path = path
        let (changes, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(64))
        self.changes = changes
        self.continuation = continuation
        let directory = PathName.directoryOrCurrent(of: path)
        let name = PathName.fileName(of: path)
        watcher = try DirectoryWatcher(directory: directory, fileMask: Self.fileMask, threadName: "faqsync-inotify", logger: logger) { event in
            switch event {
            case .watching: continuation.yield("the directory is watched")
            case .file(name, let mask): continuation.yield(Self.describe(mask))
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
