import Foundation
import Logging
import ServiceLifecycle
import SnapshotFormat
import SnapshotPublishing
import SystemIO
import TemplateStore

/// Keeps a local snapshot file built from a store's change feed (PostgreSQL's), for retrieval on
/// hosts other than the writer's: waits for change notifications, fetches only the rows changed
/// since its generation, patches its in-memory copy and publishes a new snapshot generation.
///
/// The first load (and a change of current version) fetches the whole version. A lost
/// connection is retried with backoff; after reconnecting it catches up on whatever it missed.
///
/// Like the writer's daemon, it merges a delta grown past `DeltaPolicy.idleMergeShare` into a
/// whole file once the store has been quiet for `idleBeforeMerge`; a notification during the
/// merge stops it before it replaces anything, and is handled at once.
package final class SnapshotFollower: Service, Sendable {
    package let store: any ChangeFeed
    package let fileWriter: SnapshotFileWriter
    private let logger: Logger
    private let onRebuild: @Sendable (Rebuild) -> Void
    private let backoff: (initial: Duration, maximum: Duration)
    private let pollInterval: Duration
    private let deltaPolicy: DeltaPolicy
    private let idleBeforeMerge: Duration
    private let publishing = DispatchQueue(label: "faqsync.follower.publish")

    /// One publication by the follower, with what it cost.
    package struct Rebuild: Sendable, Codable {
        package let storeGeneration: Int64
        package let snapshotGeneration: UInt64
        package let versionID: Int64
        package let templates: Int
        /// Rows fetched and written into the copy (all of them when `complete`).
        package let changedRows: Int
        package let deletedRows: Int
        /// Templates whose terms were tokenised for the lexical index; the rest came from the
        /// previous file.
        package let tokenisedTemplates: Int
        package let complete: Bool
        /// Fetching the changes and patching the copy; the rest of `seconds` is writing the file.
        package let fetchSeconds: Double
        package let seconds: Double
    }

    package init(store: any ChangeFeed, snapshotPath: String, logger: Logger,
                backoff: (initial: Duration, maximum: Duration) = (.milliseconds(500), .seconds(30)),
                pollInterval: Duration = .seconds(30), deltaPolicy: DeltaPolicy = DeltaPolicy(), idleBeforeMerge: Duration = .seconds(5),
                onRebuild: @escaping @Sendable (Rebuild) -> Void = { _ in }) {
        self.store = store
        self.deltaPolicy = deltaPolicy
        self.idleBeforeMerge = idleBeforeMerge
        fileWriter = SnapshotFileWriter(path: snapshotPath)
        self.logger = logger
        self.backoff = backoff
        self.pollInterval = pollInterval
        self.onRebuild = onRebuild
    }

    package func run() async throws {
        let listener = store.subscribe()
        var copy = FollowedCopy()
        var delay = backoff.initial
        // Set by a notification or a (re)connection, cleared only by a refresh that succeeded: a
        // refresh that fails is retried even if no further notification comes.
        var pending = false
        var lastRefresh = ContinuousClock.now
        // A refresh published since the last look: its file may be a delta to merge when quiet.
        var mayMerge = false
        logger.info("following the store", metadata: ["store": "\(store.location)", "snapshot": "\(fileWriter.path)"])
        // Ends on graceful shutdown (SIGTERM) or cancellation.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                switch try await listener.next() {
                case .connected, .notified:
                    pending = true
                case .idle:
                    // A safety net where notifications cannot arrive (a pooler in transaction
                    // mode drops LISTEN): an unchanged store costs one indexed query.
                    if ContinuousClock.now - lastRefresh >= pollInterval {
                        pending = true
                    } else if mayMerge, !pending, ContinuousClock.now - lastRefresh >= idleBeforeMerge {
                        mayMerge = false
                        if try await mergeWhileQuiet(&copy, listener: listener) != .idle { pending = true }
                    }
                }
                if pending {
                    try await refresh(&copy)
                    pending = false
                    mayMerge = true
                    lastRefresh = .now
                }
                delay = backoff.initial
            } catch is CancellationError {
                break
            } catch {
                logger.error("cannot follow the store; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, backoff.maximum)
            }
        }
        await listener.close()
        await store.close()
    }

    private func refresh(_ copy: inout FollowedCopy) async throws {
        let started = ContinuousClock.now
        let changes = try await store.changes(since: copy.generation, versionID: copy.versionID)
        guard let version = changes.version else {
            copy.generation = changes.generation
            return
        }
        guard changes.generation != copy.generation || changes.isComplete else { return }
        copy.apply(changes)
        let fetched = ContinuousClock.now
        let model = SnapshotEncoder.Model(name: version.model.name, version: version.model.version, dimension: version.model.dimension,
                                          hybridDenseWeight: version.hybridDenseWeight)
        copy.model = model
        let fileWriter = self.fileWriter
        let minimumGeneration = UInt64(max(1, changes.generation))
        var edited: (generation: UInt64, tokenised: Int)?
        if let edit = copy.edit(at: fileWriter.path, policy: deltaPolicy) {
            // An edit of the file it published last: a delta over its base, or a merge. A delta
            // that cannot be published here is published whole below.
            edited = try? await blocking {
                switch edit {
                case .whole(let rows):
                    (try fileWriter.publish(model: model, rows: rows, minimumGeneration: minimumGeneration), rows.tokenisedCount)
                case .delta(let rows, let delta, let base):
                    (try fileWriter.publishDelta(model: model, rows: rows, over: delta, base: base, minimumGeneration: minimumGeneration),
                     rows.tokenisedCount)
                }
            }
        }
        let generation: UInt64, tokenised: Int
        if let edited {
            (generation, tokenised) = edited
            copy.published(generation: generation)
        } else {
            let templates = copy.sortedTemplates()
            let rows = copy.rows(for: templates, at: fileWriter.path)
            generation = try await blocking {
                try fileWriter.publish(model: model, rows: rows, minimumGeneration: minimumGeneration)
            }
            tokenised = rows.tokenisedCount
            copy.published(templates, generation: generation)
        }
        let rebuild = Rebuild(storeGeneration: changes.generation, snapshotGeneration: generation, versionID: version.id,
                              templates: copy.templates.count, changedRows: changes.changed.count, deletedRows: changes.deleted.count,
                              tokenisedTemplates: tokenised,
                              complete: changes.isComplete, fetchSeconds: (fetched - started).seconds,
                              seconds: (ContinuousClock.now - started).seconds)
        logger.info("snapshot rebuilt from the store", metadata: [
            "store_generation": "\(rebuild.storeGeneration)", "snapshot_generation": "\(generation)", "version": "\(version.id)",
            "templates": "\(rebuild.templates)", "changed": "\(rebuild.changedRows)", "deleted": "\(rebuild.deletedRows)",
            "complete": "\(rebuild.complete)", "fetch_seconds": "\(String(format: "%.3f", rebuild.fetchSeconds))", "seconds": "\(String(format: "%.3f", rebuild.seconds))",
        ])
        onRebuild(rebuild)
    }

    /// What the merge and the listening beside it each ended with.
    private enum MergeStep: Sendable {
        case merged(Result<UInt64, any Error>)
        case heard(Result<ChangeEvent, any Error>)
    }

    /// Merges the delta this follower published into a whole file, when it is one past the idle
    /// share, while listening: the first event that is not idle (a change, a reconnection) stops
    /// the merge before it replaces anything and is returned, to be handled at once.
    private func mergeWhileQuiet(_ copy: inout FollowedCopy, listener: any ChangeSubscription) async throws -> ChangeEvent {
        guard let model = copy.model, let rows = copy.idleMerge(at: fileWriter.path, policy: deltaPolicy) else { return .idle }
        let fileWriter = self.fileWriter
        let minimumGeneration = UInt64(max(1, copy.generation ?? 1))
        let stop = CancellationFlag(), finished = CancellationFlag()
        let started = ContinuousClock.now
        logger.info("the store is quiet: merging the snapshot's delta into a whole file", metadata: ["templates": "\(rows.count)"])
        var merged: Result<UInt64, any Error>?, heard: Result<ChangeEvent, any Error>?
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withTaskGroup(of: MergeStep.self) { group in
                    group.addTask {
                        defer { finished.raise() }
                        do {
                            return .merged(.success(try await self.blocking {
                                try fileWriter.publish(model: model, rows: rows, minimumGeneration: minimumGeneration, stop: stop)
                            }))
                        } catch { return .merged(.failure(error)) }
                    }
                    group.addTask {
                        do {
                            while !finished.isRaised {
                                let event = try await listener.next()
                                if event != .idle {
                                    stop.raise()
                                    return .heard(.success(event))
                                }
                            }
                            return .heard(.success(.idle))
                        } catch {
                            stop.raise()
                            return .heard(.failure(error))
                        }
                    }
                    for await step in group {
                        switch step {
                        case .merged(let result): merged = result
                        case .heard(let result): heard = result
                        }
                    }
                }
            } onCancel: { stop.raise() }
        } onGracefulShutdown: { stop.raise() }
        switch merged {
        case .success(let generation):
            copy.published(generation: generation)
            logger.info("snapshot merged", metadata: ["snapshot_generation": "\(generation)", "templates": "\(rows.count)",
                                                      "seconds": "\(String(format: "%.3f", (ContinuousClock.now - started).seconds))"])
        case .failure(let error) where error is CancellationError:
            logger.debug("the merge gave way to a change; the delta keeps serving")
        case .failure(let error):
            logger.warning("merging the snapshot's delta failed; the delta keeps serving", metadata: ["error": "\(error)"])
        case nil:
            break
        }
        return try heard?.get() ?? .idle
    }

    /// Encoding and fsync block: on a thread of the follower's own, not the cooperative pool.
    private func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            publishing.async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// The follower's in-memory copy of the current version, and what it published last, so the next
/// publication tokenises only the templates whose question or answer changed since.
struct FollowedCopy {
    var generation: Int64?
    var versionID: Int64?
    var templates: [String: SnapshotTemplate] = [:]
    /// The generation of the file this follower wrote last, the templates it holds, and each
    /// template's index in it when it is a whole file in the writer's order.
    private var lastPublished: (generation: UInt64, count: Int, order: [String: Int]?)?
    /// Templates whose terms changed since that file (tokenised again at the next publication).
    private var retokenise = Set<String>()
    /// What changed since that file, by id: the template now, or nil when it was deleted.
    private var edits: [String: SnapshotTemplate?] = [:]
    /// The file at the path as last mapped: a delta over the same base shares its mapping.
    private var mapped: SnapshotMapping?
    /// The current version's model, as the snapshot names it.
    var model: SnapshotEncoder.Model?

    mutating func apply(_ changes: TemplateChangeSet) {
        if changes.isComplete {
            templates.removeAll(keepingCapacity: true)
            lastPublished = nil
            edits.removeAll()
        }
        for id in changes.deleted {
            templates[id] = nil
            edits[id] = .some(nil)
        }
        for stored in changes.changed {
            if let previous = templates[stored.id], previous.question == stored.question, previous.answer == stored.answer {
                // Fields or the vector only: its terms in the last file still apply.
            } else {
                retokenise.insert(stored.id)
            }
            let template = SnapshotTemplate(id: stored.id, category: stored.category, subcategory: stored.subcategory,
                                            question: stored.question, answer: stored.answer,
                                            metadataJSON: stored.metadataJSON, vector: stored.vector)
            templates[stored.id] = template
            edits[stored.id] = template
        }
        generation = changes.generation
        versionID = changes.version?.id
    }

    /// `templates` to publish, with the last file this follower published as the base for their
    /// terms. Without a base when there is none, or the file at `path` is not that one any more
    /// (another generation or count), so terms are never taken from a file this copy does not
    /// describe. A template's terms are reused only where the file holds it at the index
    /// remembered.
    mutating func rows(for templates: [SnapshotTemplate], at path: String) -> SnapshotRows {
        guard let lastPublished, let order = lastPublished.order, let mapping = lastFile(at: path),
              mapping.view.header.base == nil, mapping.view.count == order.count
        else { return SnapshotRows(templates) }
        let view = mapping.view
        let termsAt: [Int?] = templates.map { template in
            guard !retokenise.contains(template.id), let index = order[template.id],
                  view.string(index, .id) == template.id else { return nil }
            return index
        }
        return SnapshotRows(templates: templates, base: mapping, termsAt: termsAt)
    }

    /// The edits since the file this follower published last, as an edit of that file (a delta
    /// over its base, or a merge: `SnapshotEditor`); nil when there is no such file at the path
    /// any more or it is too small for a delta (the whole copy is published then).
    mutating func edit(at path: String, policy: DeltaPolicy) -> EditedSnapshot? {
        guard let lastPublished, let mapping = lastFile(at: path), mapping.contents.count == lastPublished.count,
              let editor = SnapshotEditor(current: mapping, policy: policy) else { return nil }
        return editor.publication(of: edits, sameTerms: Set(edits.keys).subtracting(retokenise))
    }

    /// The file this follower published last as one whole file, when it is a delta past the
    /// policy's idle share and nothing changed since; nil otherwise.
    mutating func idleMerge(at path: String, policy: DeltaPolicy) -> SnapshotRows? {
        guard edits.isEmpty, let lastPublished, let mapping = lastFile(at: path), mapping.contents.count == lastPublished.count,
              policy.mergesWhenIdle(mapping) else { return nil }
        return SnapshotEditor(current: mapping, policy: policy)?.merged()
    }

    /// The file at `path` when it is the one this follower published last, mapped (sharing the
    /// previous mapping where a delta's base is that file).
    private mutating func lastFile(at path: String) -> SnapshotMapping? {
        guard let lastPublished, let mapping = try? SnapshotMapping(path: path, known: mapped),
              mapping.view.header.generation == lastPublished.generation else { return nil }
        mapped = mapping
        return mapping
    }

    /// Records a publication of `templates` (in file order) as `generation`.
    mutating func published(_ templates: [SnapshotTemplate], generation: UInt64) {
        lastPublished = (generation, templates.count, Dictionary(uniqueKeysWithValues: templates.enumerated().map { ($1.id, $0) }))
        retokenise.removeAll()
        edits.removeAll()
    }

    /// Records a publication of an edit (`edit(at:policy:)`) as `generation`.
    mutating func published(generation: UInt64) {
        lastPublished = (generation, templates.count, nil)
        retokenise.removeAll()
        edits.removeAll()
    }

    /// In the writer's order (by template id), so a follower's file matches the writer's.
    func sortedTemplates() -> [SnapshotTemplate] {
        templates.values.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
