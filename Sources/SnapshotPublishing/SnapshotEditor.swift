import SnapshotFormat

/// When a change is published as a delta over a base file instead of a whole new file. The one
/// place this is decided: the writer's publication and the follower's both ask here.
package struct DeltaPolicy: Sendable, Equatable {
    /// Below this many templates in the base a whole file is written every time: at 10,000
    /// templates that takes tens of milliseconds, and every reader of the format reads it.
    package var minimumBaseTemplates: Int
    /// A delta whose own rows, or whose removed base rows, would pass this share of the base is
    /// merged into a whole file instead, so readers never carry a large delta. The hard limit:
    /// the edit that passes it pays for the merge.
    package var maximumShare: Double
    /// A delta past this share is merged by a long-running writer once it is idle (the daemon,
    /// the follower), off any save's path, so an edit rarely reaches `maximumShare` itself.
    package var idleMergeShare: Double

    package init(minimumBaseTemplates: Int = 20_000, maximumShare: Double = 0.1, idleMergeShare: Double = 0.05) {
        self.minimumBaseTemplates = minimumBaseTemplates
        self.maximumShare = maximumShare
        self.idleMergeShare = idleMergeShare
    }

    /// Whole files only (what tests of whole files and `snapshot install` use).
    package static let wholeFilesOnly = DeltaPolicy(minimumBaseTemplates: Int.max)

    /// How far a delta has grown: the larger of its own rows and the base rows it removes, as a
    /// share of the base.
    static func share(ownRows: Int, removedRows: Int, baseCount: Int) -> Double {
        Double(max(ownRows, removedRows)) / Double(max(1, baseCount))
    }

    /// Whether `snapshot` is a delta to merge when the writer is idle.
    package func mergesWhenIdle(_ snapshot: SnapshotMapping) -> Bool {
        // The contents number the kept base rows already: the removed ones are the rest.
        let contents = snapshot.contents
        guard let base = contents.base else { return false }
        let own = contents.top.count
        return Self.share(ownRows: own, removedRows: base.count - (contents.count - own), baseCount: base.count) > idleMergeShare
    }
}

/// How an edit of the snapshot at hand is published.
package enum EditedSnapshot {
    /// A delta over `base` (the file being replaced, or its base): `rows` are the delta's own,
    /// copied where they can be from the file being replaced.
    case delta(rows: SnapshotRows, over: DeltaBase, base: SnapshotMapping)
    /// A whole file (a merge of a delta and its base, with the edit).
    case whole(SnapshotRows)
}

/// Edits the snapshot at hand (`current`, a whole file or a delta) by templates replaced or
/// deleted, by id, in time proportional to the edit and the delta, not to the base: the base's
/// ids are found by binary search (a whole file is in the writer's order, by id bytes).
package struct SnapshotEditor {
    package let current: SnapshotMapping
    /// The base: `current` itself when it is a whole file.
    package let base: SnapshotMapping
    private let policy: DeltaPolicy
    /// The current delta's own rows by id (empty when `current` is whole).
    private let deltaRows: [String: Int]

    /// Nil when `current` cannot be edited this way: a base below the policy's size, without a
    /// lexical index (version 1) or not in the writer's order.
    package init?(current: SnapshotMapping, policy: DeltaPolicy) {
        let base = current.base ?? current
        let view = base.view
        guard view.count >= policy.minimumBaseTemplates, view.lexical != nil, current.view.lexical != nil else { return nil }
        for index in 1..<max(1, view.count) where !SnapshotLayout.precedes(id: view.bytes(index - 1, .id), view.bytes(index, .id)) { return nil }
        self.current = current
        self.base = base
        self.policy = policy
        var deltaRows: [String: Int] = [:]
        if current.base != nil {
            for row in 0..<current.view.count { deltaRows[current.view.string(row, .id)] = row }
        }
        self.deltaRows = deltaRows
    }

    /// Where the snapshot holds `id` now: a delta row, or a base row the delta keeps.
    package func find(_ id: String) -> (view: SnapshotView, row: Int)? {
        if let row = deltaRows[id] { return (current.view, row) }
        guard let row = baseRow(of: id), !isRemoved(row) else { return nil }
        return (base.view, row)
    }

    /// The publication of `edit` (per touched id, its new template, or nil when it is deleted).
    /// `sameTerms`: touched ids whose question and answer did not change, whose terms are taken
    /// from the file at hand.
    package func publication(of edit: [String: SnapshotTemplate?], sameTerms: Set<String>) -> EditedSnapshot {
        let baseView = base.view
        var removed = current.view.removedRows.map { [UInt8]($0) }
            ?? [UInt8](repeating: 0, count: SnapshotLayout.removedLength(baseCount: baseView.count))
        var baseRowOfEdit: [String: Int] = [:]
        for id in edit.keys {
            guard let row = baseRow(of: id) else { continue }
            baseRowOfEdit[id] = row
            SnapshotLayout.markRemoved(row, in: &removed)
        }
        // The delta's rows by id: the current delta's that the edit leaves, then the edit's.
        var own: [(id: String, row: SnapshotRows.Row)] = []
        for (id, row) in deltaRows where edit[id] == nil { own.append((id, .base(row))) }
        let firstDelta = current.base == nil
        for case let (id, template?) in edit {
            // Terms come from the file at hand: a row of the delta, or (for a first delta, whose
            // rows.base is that whole file) a base row.
            let termsAt = sameTerms.contains(id) ? (firstDelta ? baseRowOfEdit[id] : deltaRows[id]) : nil
            own.append((id, .template(template, termsAt: termsAt)))
        }
        own.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }

        let removedCount = removed.reduce(0) { $0 + $1.nonzeroBitCount }
        if DeltaPolicy.share(ownRows: own.count, removedRows: removedCount, baseCount: baseView.count) > policy.maximumShare {
            return .whole(merged(own: own, removed: removed))
        }
        var keptQuestion = 0.0, keptAnswer = 0.0
        if let lexical = baseView.lexical {
            for row in 0..<baseView.count where !SnapshotLayout.isRemoved(row, in: removed) {
                let lengths = lexical.lengths(row)
                keptQuestion += Double(lengths.question)
                keptAnswer += Double(lengths.answer)
            }
        }
        let header = baseView.header
        return .delta(rows: SnapshotRows(base: current, rows: own.map(\.row)),
                      over: DeltaBase(generation: header.generation, checksum: header.checksum, removedRows: removed,
                                      keptCount: baseView.count - removedCount, keptQuestionLength: keptQuestion, keptAnswerLength: keptAnswer),
                      base: base)
    }

    /// The snapshot at hand as one whole file (a delta merged with its base), nil when it is
    /// whole already.
    package func merged() -> SnapshotRows? {
        guard current.base != nil, let removed = current.view.removedRows else { return nil }
        let own = deltaRows.map { (id: $0.key, row: SnapshotRows.Row.base($0.value)) }
            .sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        return merged(own: own, removed: [UInt8](removed))
    }

    /// A whole file in the writer's order: the base's kept rows copied, merged with the delta's
    /// rows (those of the current delta as templates: they are a small share).
    private func merged(own: [(id: String, row: SnapshotRows.Row)], removed: [UInt8]) -> SnapshotRows {
        let baseView = base.view
        let firstDelta = current.base == nil
        let extra: [(id: [UInt8], row: SnapshotRows.Row)] = own.map { id, row in
            switch row {
            case .base(let index):
                // A row of the current delta (a first delta has none).
                return (Array(id.utf8), .template(SnapshotTemplate(view: current.view, index: index, id: id), termsAt: nil))
            case .template(let template, let termsAt):
                return (Array(id.utf8), .template(template, termsAt: firstDelta ? termsAt : nil))
            }
        }
        var rows: [SnapshotRows.Row] = []
        rows.reserveCapacity(baseView.count + extra.count)
        var next = 0
        for row in 0..<baseView.count where !SnapshotLayout.isRemoved(row, in: removed) {
            let id = baseView.bytes(row, .id)
            while next < extra.count, extra[next].id.withUnsafeBytes({ SnapshotLayout.precedes(id: $0, id) }) {
                rows.append(extra[next].row)
                next += 1
            }
            rows.append(.base(row))
        }
        rows.append(contentsOf: extra[next...].map(\.row))
        return SnapshotRows(base: base, rows: rows)
    }

    private func isRemoved(_ row: Int) -> Bool {
        guard let removed = current.view.removedRows else { return false }
        return SnapshotLayout.isRemoved(row, in: removed)
    }

    /// The base's row with this id (removed or not), by binary search.
    private func baseRow(of id: String) -> Int? {
        let view = base.view
        var wanted = Array(id.utf8)
        return wanted.withUnsafeMutableBytes { wanted in
            let wanted = UnsafeRawBufferPointer(wanted)
            var low = 0, high = view.count
            while low < high {
                let middle = (low + high) / 2
                let candidate = view.bytes(middle, .id)
                if SnapshotLayout.precedes(id: candidate, wanted) { low = middle + 1 } else if SnapshotLayout.precedes(id: wanted, candidate) { high = middle } else { return middle }
            }
            return nil
        }
    }

}
