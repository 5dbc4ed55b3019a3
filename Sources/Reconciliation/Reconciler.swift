/// What the store holds for one template of one model version: enough to plan, nothing more.
package struct StoredTemplateState: Sendable, Hashable {
    package let inputHash: String
    package let contentHash: String

    package init(inputHash: String, contentHash: String) {
        self.inputHash = inputHash
        self.contentHash = contentHash
    }
}

/// The difference between the spreadsheet and one model version in the store.
package struct SyncPlan: Sendable {
    /// Templates the version does not have yet.
    package var new: [Template] = []
    /// Templates whose model input changed: they need a vector for the new text.
    package var modified: [Template] = []
    /// Templates whose stored fields changed but whose model input did not: a row update only.
    package var metadataOnly: [Template] = []
    /// Identities the version has and the sheet no longer does.
    package var deleted: [String] = []
    package var unchanged: [String] = []

    package init() {}

    package var hasChanges: Bool { !(new.isEmpty && modified.isEmpty && metadataOnly.isEmpty && deleted.isEmpty) }

    /// Templates that need a vector: new and modified ones.
    package var needingVectors: [Template] { new + modified }

    /// The distinct texts that must be embedded, in sheet order: identical texts are sent once,
    /// and texts whose vector is already known (`known(inputHash)`) are not sent at all.
    package func textsToEmbed(skipping known: (String) -> Bool) -> [(inputHash: String, text: String)] {
        var seen = Set<String>()
        var result: [(String, String)] = []
        for template in needingVectors where !known(template.inputHash) && seen.insert(template.inputHash).inserted {
            result.append((template.inputHash, template.modelInput))
        }
        return result
    }
}

/// Computes a `SyncPlan`. Pure: no I/O, the caller reads the store and applies the plan.
package enum Reconciler {
    /// - Parameters:
    ///   - held: identities whose rows are skipped this time: their stored templates stay as
    ///     they are (neither deleted nor changed).
    ///   - reembedAll: treat every template as modified (`--force`).
    package static func plan(desired: [Template], stored: [String: StoredTemplateState], held: Set<String> = [],
                             reembedAll: Bool = false) -> SyncPlan {
        var plan = SyncPlan()
        var present = Set<String>()
        present.reserveCapacity(desired.count)
        for template in desired {
            present.insert(template.id)
            guard let current = stored[template.id] else {
                plan.new.append(template)
                continue
            }
            if reembedAll || current.inputHash != template.inputHash {
                plan.modified.append(template)
            } else if current.contentHash != template.contentHash {
                plan.metadataOnly.append(template)
            } else {
                plan.unchanged.append(template.id)
            }
        }
        plan.deleted = stored.keys.filter { !present.contains($0) && !held.contains($0) }.sorted()
        return plan
    }
}
