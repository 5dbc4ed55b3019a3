import Reconciliation
import Synchronization
import SystemIO
import TemplateStore

/// The store's template states (id → input and content hash) as this process's own last sync
/// left them, valid while the store is at the generation that sync committed.
///
/// Each sync plans against the states of every template: at 100,000 templates, reading them back
/// is 100,000 rows from the database, competing for the cores with parsing the sheet. A process
/// that syncs again and again (the daemon) knows them already: they are what it read last time
/// with what it wrote applied. The store generation moves with every commit that changes
/// templates or the current version, by any writer, so a memo at another generation (another
/// host's sync, a `faqsync sync` run by hand, a version switch) is never used: the states are
/// read from the store again. A failed sync changes nothing, in the store or here.
final class StoredStatesMemo: Sendable {
    private struct Remembered {
        let versionID: Int64
        var generation: Int64
        var states: [String: StoredTemplateState]
    }

    private let last = Mutex<Remembered?>(nil)

    init() {}

    /// The states of version `versionID` when the memo holds them for the store at `generation`,
    /// taken out (give them back with `remember` once planned); nil otherwise.
    func take(versionID: Int64, generation: Int64) -> [String: StoredTemplateState]? {
        last.withLock { last in
            guard let held = last, held.versionID == versionID, held.generation == generation else { return nil }
            last = nil
            return held.states
        }
    }

    /// Keeps `states`, those of version `versionID` with the store at `generation`.
    func remember(_ states: consuming [String: StoredTemplateState], versionID: Int64, generation: Int64) {
        let remembered = Remembered(versionID: versionID, generation: generation, states: states)
        let replaced = last.withLock { last in
            defer { last = remembered }
            return last
        }
        releaseLater(replaced)
    }

    /// After `changes` were committed to version `versionID`, taking the store from `before` to
    /// `after`: the states updated in place. Anything else held (another version, another
    /// generation) is dropped: it no longer describes the store.
    func advance(versionID: Int64, from before: Int64, to after: Int64, by changes: StoreChanges) {
        let dropped = last.withLock { last -> Remembered? in
            guard last?.versionID == versionID, last?.generation == before else {
                defer { last = nil }
                return last
            }
            for template in changes.inserts + changes.vectorUpdates + changes.fieldUpdates {
                last!.states[template.id] = StoredTemplateState(inputHash: template.inputHash, contentHash: template.contentHash)
            }
            for id in changes.deletions { last!.states[id] = nil }
            last!.generation = after
            return nil
        }
        releaseLater(dropped)
    }

    /// The states held, for tests that compare them with the store's.
    var held: (versionID: Int64, generation: Int64, states: [String: StoredTemplateState])? {
        last.withLock { $0.map { ($0.versionID, $0.generation, $0.states) } }
    }
}
