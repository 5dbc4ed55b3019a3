import Foundation
import Synchronization

/// Where blocking work runs (file reads and writes, SQLite's backup, parsing a workbook, a
/// snapshot's mapping): a fixed set of threads of its own, never the cooperative pool, whose
/// few threads a blocked call would take from every task.
///
/// Cancellable: a job cancelled before a thread takes it is never run and throws
/// `CancellationError`; one already running finishes (a blocking call cannot be interrupted) and
/// its result is returned.
package final class BlockingExecutor: Sendable {
    /// The process's executor. Immutable once made; its threads live as long as the process.
    package static let shared = BlockingExecutor(threads: 8, name: "faqsync-blocking")

    private final class Job: Sendable {
        enum State {
            case waiting(body: @Sendable () -> Void, cancel: @Sendable () -> Void)
            case taken
        }
        let state: Mutex<State>
        init(body: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
            state = Mutex(.waiting(body: body, cancel: cancel))
        }

        /// The body, if nobody has taken or cancelled the job yet.
        func take() -> (@Sendable () -> Void)? {
            state.withLock { state in
                guard case .waiting(let body, _) = state else { return nil }
                state = .taken
                return body
            }
        }

        func cancel() {
            let cancel = state.withLock { state -> (@Sendable () -> Void)? in
                guard case .waiting(_, let cancel) = state else { return nil }
                state = .taken
                return cancel
            }
            cancel?()
        }
    }

    /// The job a `run` call handed over, for its cancellation handler.
    private final class Slot: Sendable {
        let job = Mutex<Job?>(nil)
    }

    private let queue = Mutex<[Job]>([])
    private let available = DispatchSemaphore(value: 0)

    /// The threads hold the executor: it lives as long as the process.
    package init(threads: Int, name: String) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [self] in
                while true {
                    available.wait()
                    let job = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                    job?.take()?()
                }
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Jobs handed over and not yet taken by a thread (for tests and diagnostics).
    package var queuedJobs: Int { queue.withLock { $0.count } }

    /// Runs `body` on one of the executor's threads and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let slot = Slot()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(body: { continuation.resume(with: Result(catching: body)) },
                              cancel: { continuation.resume(throwing: CancellationError()) })
                slot.job.withLock { $0 = job }
                queue.withLock { $0.append(job) }
                available.signal()
                if Task.isCancelled { job.cancel() }
            }
        } onCancel: {
            slot.job.withLock { $0 }?.cancel()
        }
    }
}
