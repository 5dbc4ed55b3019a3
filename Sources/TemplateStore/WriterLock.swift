/// "One writer at a time", the part both backends share: poll a non-blocking lock (an flock on
/// SQLite, an advisory lock on PostgreSQL) until it is taken, so that waiting never blocks a
/// thread and a shutdown can cancel the wait, run the body, and release the lock on every path.
package enum WriterLock {
    package static func exclusively<T: Sendable>(
        pollInterval: Duration,
        tryAcquire: () async throws -> Bool,
        onFirstWait: () -> Void = {},
        release: () async -> Void,
        _ body: () async throws -> T
    ) async throws -> T {
        var announced = false
        while try await !tryAcquire() {
            if !announced {
                onFirstWait()
                announced = true
            }
            try await Task.sleep(for: pollInterval)
        }
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }
}
