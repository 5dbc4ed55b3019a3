import Foundation
import PostgresClient
import TemplateStore

extension PostgresTemplateStore: ChangeFeed {
    /// The current version's rows changed after `generation` (all of them when `generation` is
    /// nil or `versionID` is no longer current), read in one repeatable-read snapshot so the
    /// returned generation matches the rows exactly.
    package func changes(since generation: Int64?, versionID: Int64?) async throws -> TemplateChangeSet {
        let location = self.location
        return try await run { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { if connection.isAlive { _ = try? connection.execute("COMMIT") } }
            let now = try connection.execute("SELECT generation FROM store_state").integer(0, 0)
            let current = try connection.execute("SELECT \(Self.versionColumns) FROM embedding_versions v WHERE v.is_current")
            guard current.rowCount == 1 else {
                return TemplateChangeSet(generation: now, version: nil, isComplete: true, changed: [], deleted: [])
            }
            let version = Self.version(current, 0)
            let columns = "template_id, category, subcategory, question, answer, metadata::text, input_hash, content_hash, embedding"
            guard let generation, versionID == version.id else {
                let all = try connection.execute("SELECT \(columns) FROM templates WHERE version_id = $1", [.integer(version.id)])
                return TemplateChangeSet(generation: now, version: version, isComplete: true,
                                         changed: try Self.storedTemplates(all, location: location), deleted: [])
            }
            let changed = try connection.execute("SELECT \(columns) FROM templates WHERE version_id = $1 AND changed_generation > $2",
                                                 [.integer(version.id), .integer(generation)])
            let deleted = try connection.execute("SELECT template_id FROM template_deletions WHERE version_id = $1 AND generation > $2",
                                                 [.integer(version.id), .integer(generation)])
            return TemplateChangeSet(generation: now, version: version, isComplete: false,
                                     changed: try Self.storedTemplates(changed, location: location),
                                     deleted: (0..<deleted.rowCount).map { deleted.string($0, 0) })
        }
    }

    /// This store's change notifications (LISTEN faqsync_changed), on a connection of its own.
    package func subscribe() -> any ChangeSubscription {
        NotificationSubscription(listener: PostgresNotificationListener(settings: settings, channel: Self.notificationChannel))
    }
}

/// LISTEN as a change subscription.
struct NotificationSubscription: ChangeSubscription {
    let listener: PostgresNotificationListener

    func next() async throws -> ChangeEvent {
        switch try await listener.next() {
        case .connected: .connected
        case .notified: .notified
        case .idle: .idle
        }
    }

    func close() async { await listener.close() }
}
