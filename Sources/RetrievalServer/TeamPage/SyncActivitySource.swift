import Foundation
import NIOPosix
import Synchronization
import SyncActivity
import SystemIO

/// Where `serve` gets the writer's recent activity: the document beside the snapshot (the usual
/// case: the store is the writer's alone), or a store it can query itself (PostgreSQL).
package struct SyncActivitySource: Sendable {
    /// Named in errors and in the page's "cannot be shown" line.
    package let origin: String
    package let read: @Sendable () async throws -> SyncActivity?

    package init(origin: String, read: @escaping @Sendable () async throws -> SyncActivity?) {
        self.origin = origin
        self.read = read
    }

    /// The document a writer publishes beside the snapshot, read on NIO's blocking pool. It is
    /// decoded again only when the file changed (another inode, size, modification or change time): the
    /// page reloads every few seconds in every editor's browser, the writer replaces it per sync.
    package static func file(_ file: SyncActivityFile) -> SyncActivitySource {
        let cache = DecodedFileCache()
        return SyncActivitySource(origin: file.path) {
            try await NIOThreadPool.singleton.runIfActive {
                let identity = FileIdentity.of(path: file.path, followSymlinks: false)
                if let identity, let cached = cache.value(for: identity) { return cached }
                let activity = try file.read()
                if let identity, let activity { cache.store(activity, for: identity) }
                return activity
            }
        }
    }
}

/// The last decoded document and the file version it came from.
final class DecodedFileCache: Sendable {
    private let entry = Mutex<(identity: FileIdentity, activity: SyncActivity)?>(nil)

    func value(for identity: FileIdentity) -> SyncActivity? {
        entry.withLock { $0.flatMap { $0.identity == identity ? $0.activity : nil } }
    }

    func store(_ activity: SyncActivity, for identity: FileIdentity) {
        entry.withLock { $0 = (identity, activity) }
    }
}
