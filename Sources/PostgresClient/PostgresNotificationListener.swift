import Dispatch
import Foundation

/// LISTENs on one channel over a connection of its own, on a queue of its own.
///
/// `next` reports `.connected` after every (re)connection, because notifications sent while no
/// connection was listening are lost: the caller catches up by reading what changed.
package final class PostgresNotificationListener: Sendable {
    package enum Event: Sendable, Equatable {
        case connected
        case notified(payloads: [String])
        case idle
    }

    package let settings: PostgresSettings
    package let channel: String
    private let queue = DispatchQueue(label: "faqsync.postgres.listener")
    /// Touched only on `queue`.
    private nonisolated(unsafe) var connection: PostgresConnection?

    package init(settings: PostgresSettings, channel: String) {
        self.settings = settings
        self.channel = channel
    }

    /// Waits up to `timeout` (short, so that cancellation is noticed) for the next event.
    package func next(timeout: Duration = .seconds(1)) async throws -> Event {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.nextOnQueue(timeout: timeout) })
            }
        }
    }

    private func nextOnQueue(timeout: Duration) throws -> Event {
        if let connection, connection.isAlive {
            do {
                let notifications = try connection.waitForNotifications(timeout: timeout)
                    .filter { $0.channel == channel }
                return notifications.isEmpty ? .idle : .notified(payloads: notifications.map(\.payload))
            } catch {
                self.connection = nil
                throw error
            }
        }
        self.connection = nil
        let fresh = try PostgresConnection.connect(settings, applicationName: "faqsync-follower")
        // The channel name is a constant of the caller's, never user input; LISTEN takes no parameters.
        try fresh.executeScript("LISTEN \(channel)")
        self.connection = fresh
        return .connected
    }

    package func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection = nil
                continuation.resume()
            }
        }
    }
}
