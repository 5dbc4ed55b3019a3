import Dispatch

/// Runs two pieces of blocking work at once, on the calling thread and one more
/// (`concurrentPerform` over two iterations), and returns both outcomes when both are over.
/// For work already on a thread of its own (the blocking executor's), never the cooperative pool.
package func bothAtOnce<First: Sendable, Second: Sendable>(
    _ first: @Sendable () throws -> First, _ second: @Sendable () throws -> Second
) -> (first: Result<First, any Error>, second: Result<Second, any Error>) {
    let firstOutcome = Outcome<First>(), secondOutcome = Outcome<Second>()
    DispatchQueue.concurrentPerform(iterations: 2) { job in
        if job == 0 { firstOutcome.value = Result { try first() } } else { secondOutcome.value = Result { try second() } }
    }
    return (firstOutcome.value, secondOutcome.value)
}

/// One job's outcome: written by that job alone and read after `concurrentPerform` returned,
/// which orders the write before the read; hence `@unchecked Sendable`.
private final class Outcome<Value>: @unchecked Sendable {
    var value: Result<Value, any Error> = .failure(JobDidNotRun())
}

private struct JobDidNotRun: Error {}
