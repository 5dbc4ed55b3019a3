import Synchronization

/// A request to stop, raised from one task and checked by work on a thread of its own (a
/// `BlockingExecutor` job cannot see its task's cancellation). The work checks it only where
/// stopping leaves nothing half done: the daemon's background merge stops before it replaces the
/// snapshot, never after, so what a reader maps is always a publication.
package final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    package init() {}

    package func raise() { raised.store(true, ordering: .relaxed) }

    package var isRaised: Bool { raised.load(ordering: .relaxed) }

    /// Throws `CancellationError` once the flag is raised.
    package func check() throws {
        if isRaised { throw CancellationError() }
    }
}
