import Dispatch
import Foundation
import Synchronization

/// One connection with a serial queue of its own: every libpq call on it runs there, so blocking
/// network waits never occupy the cooperative thread pool. Connects on first use and again after
/// the server dropped it, so a restarted server costs one failed call, not a dead process.
package final class PostgresSession: Sendable {
    package let settings: PostgresSettings
    private let queue: DispatchQueue
    private let applicationName: String
    /// Touched only on `queue`.
    private nonisolated(unsafe) var connection: PostgresConnection?

    package init(settings: PostgresSettings, label: String, applicationName: String = "faqsync") {
        self.settings = settings
        self.applicationName = applicationName
        queue = DispatchQueue(label: "faqsync.postgres.\(label)")
    }

    package func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.runOnQueue(body) })
            }
        }
    }

    private func runOnQueue<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if let existing = connection, !existing.isAlive { connection = nil }
        let active: PostgresConnection
        if let existing = connection {
            active = existing
        } else {
            active = try PostgresConnection.connect(settings, applicationName: applicationName)
            connection = active
        }
        do {
            return try body(active)
        } catch {
            if !active.isAlive { connection = nil }
            throw error
        }
    }

    /// Closes the connection (ending its session: advisory locks and LISTENs go with it).
    package func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection = nil
                continuation.resume()
            }
        }
    }
}

/// `POSTGRES_POOL_SIZE` sessions shared by a process's concurrent store calls (a sync caches
/// vectors from several embedding batches at once while the server reads).
package final class PostgresPool: Sendable {
    package let settings: PostgresSettings
    private let sessions: [PostgresSession]
    private let free: Mutex<FreeList>

    private struct FreeList {
        var indices: [Int]
        var waiters: [CheckedContinuation<Int, Never>] = []
    }

    package init(settings: PostgresSettings, applicationName: String = "faqsync") {
        self.settings = settings
        let size = max(1, settings.poolSize)
        sessions = (0..<size).map { PostgresSession(settings: settings, label: "pool-\($0)", applicationName: applicationName) }
        free = Mutex(FreeList(indices: Array(0..<size)))
    }

    package func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let index = await acquire()
        defer { release(index) }
        return try await sessions[index].run(body)
    }

    private func acquire() async -> Int {
        await withCheckedContinuation { continuation in
            let index: Int? = free.withLock { list in
                if let index = list.indices.popLast() { return index }
                list.waiters.append(continuation)
                return nil
            }
            if let index { continuation.resume(returning: index) }
        }
    }

    private func release(_ index: Int) {
        let waiter: CheckedContinuation<Int, Never>? = free.withLock { list in
            if list.waiters.isEmpty {
                list.indices.append(index)
                return nil
            }
            return list.waiters.removeFirst()
        }
        waiter?.resume(returning: index)
    }

    package func close() async {
        for session in sessions { await session.close() }
    }
}
