import ServiceLifecycle
import SnapshotReader

/// Keeps a `LiveSnapshot` following new snapshots while the service group runs: started with
/// the group, stopped at its graceful shutdown.
package struct LiveSnapshotFollowing: Service {
    let live: LiveSnapshot

    package init(live: LiveSnapshot) { self.live = live }

    package func run() async throws {
        live.startFollowing()
        defer { live.stopFollowing() }
        try? await gracefulShutdown()
    }
}
