import SystemIO
import Foundation
import Reconciliation
import SpreadsheetReading

/// Decides whether the spreadsheet can be read now: it exists, its size and modification time
/// held still over a short interval, and (for xlsx) its zip central directory is readable.
/// A file caught half-written is retried by the caller, not reported as corrupt.
package enum FileStability {
    package enum Verdict: Sendable, Equatable {
        case ready
        case missing
        /// Still changing: try again shortly.
        case settling(String)
        /// Holding still but not a complete zip: being written, or cut off for good.
        case incomplete(String)
    }

    /// - Parameter interval: how long size and time must hold still. The watcher calls it after a
    ///   debounce with no inotify events (every write raises one), which already proves that, so
    ///   it passes a short interval; polling callers without events pass a longer one. A file
    ///   renamed into place is new and whole, so it is checked with zero (completeness alone).
    ///   The watch policy decides it (`WatchPolicy.Configuration.holdStill`).
    package static func check(_ path: String, interval: Duration) async throws -> Verdict {
        // stat and the zip read block: on the executor's threads, never the cooperative pool's.
        guard let first = try await BlockingExecutor.shared.run({ signature(path) }) else { return .missing }
        if interval > .zero {
            try await Task.sleep(for: interval)
            guard let second = try await BlockingExecutor.shared.run({ signature(path) }) else { return .missing }
            guard first == second else { return .settling("the file is still being written (size or time changed)") }
        }
        if path.lowercased().hasSuffix(".csv") { return .ready }
        guard try await BlockingExecutor.shared.run({ SpreadsheetReader.containerIsComplete(URL(fileURLWithPath: path)) }) else {
            return .incomplete("the file is not a complete zip yet (no readable central directory)")
        }
        return .ready
    }

    static func signature(_ path: String) -> [Int64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec), Int64(info.st_ino)]
    }
}

/// The SHA-256 of the spreadsheet as it is now, to tell a save of new content from a save (or a
/// touch) of the content already synced. Blocking reads: on the blocking executor.
enum FileHashing {
    static func sha256(of path: String) async throws -> String {
        try await BlockingExecutor.shared.run { try ContentHash.sha256Hex(ofFileAt: path) }
    }
}
