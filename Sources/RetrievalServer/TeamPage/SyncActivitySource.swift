import NIOPosix
import SyncActivity

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

    /// The document a writer publishes beside the snapshot, read on NIO's blocking pool.
    package static func file(_ file: SyncActivityFile) -> SyncActivitySource {
        SyncActivitySource(origin: file.path) {
            try await NIOThreadPool.singleton.runIfActive { try file.read() }
        }
    }
}
