/// What a follower needs to bring its copy of the current version up to date.
package struct TemplateChangeSet: Sendable {
    /// The store generation these changes bring the follower to.
    package let generation: Int64
    /// The current version; nil when the store has none yet.
    package let version: StoredVersion?
    /// True when `changed` is the whole version (first load, or the current version changed):
    /// the follower replaces its copy instead of patching it.
    package let isComplete: Bool
    package let changed: [StoredTemplate]
    package let deleted: [String]

    package init(generation: Int64, version: StoredVersion?, isComplete: Bool, changed: [StoredTemplate], deleted: [String]) {
        self.generation = generation
        self.version = version
        self.isComplete = isComplete
        self.changed = changed
        self.deleted = deleted
    }
}

/// A store that tells followers on other hosts what changed (PostgreSQL: LISTEN/NOTIFY and
/// generations on every row). `SnapshotFollower` depends on this, not on a backend.
package protocol ChangeFeed: Sendable {
    var location: String { get }
    /// The current version's rows changed after `generation` (all of them when `generation` is
    /// nil or `versionID` is no longer current), as of one consistent moment.
    func changes(since generation: Int64?, versionID: Int64?) async throws -> TemplateChangeSet
    /// A subscription to change notifications, on a connection of its own.
    func subscribe() -> any ChangeSubscription
    func close() async
}

package protocol ChangeSubscription: Sendable {
    /// Waits a short while (so cancellation is noticed) for the next event.
    func next() async throws -> ChangeEvent
    func close() async
}

package enum ChangeEvent: Sendable, Equatable {
    /// (Re)connected: anything sent meanwhile was missed, so catch up.
    case connected
    /// The store committed a change.
    case notified
    /// Nothing happened in the wait.
    case idle
}
