/// What a snapshot is written from, in the file's order: templates in hand, and rows of a
/// validated snapshot (the base, usually the file being replaced) that did not change.
///
/// A base row is copied as the base holds it: its strings and vector byte for byte, its terms
/// from the base's lexical section. A sync that changed 1% of 10,000 templates so decodes and
/// re-encodes 100 of them, not 10,000. The base stays mapped until the file is written, and the
/// writer checks it is still intact before the new file replaces the old one (`checkIntact`):
/// what is copied is what was validated.
public struct SnapshotRows: @unchecked Sendable {
    // @unchecked: the base mapping is read-only and immutable once made.
    public enum Row: Sendable {
        /// A template in hand. `termsAt`: the base row whose question and answer it has, so its
        /// terms are taken from the base's section instead of tokenising it again.
        case template(SnapshotTemplate, termsAt: Int?)
        /// Row `index` of the base, unchanged.
        case base(Int)
    }

    public let base: SnapshotMapping?
    public let rows: [Row]

    /// Templates alone, each tokenised (a whole publication).
    public init(_ templates: [SnapshotTemplate]) {
        base = nil
        rows = templates.map { .template($0, termsAt: nil) }
    }

    /// Rows of `base` and templates in hand. A base row out of the base's range is a programming
    /// error, caught here rather than as a read outside the mapping. (A `termsAt` the base's
    /// section does not cover is tokenised instead.)
    public init(base: SnapshotMapping, rows: [Row]) {
        let count = base.view.count
        for case .base(let index) in rows { precondition(index >= 0 && index < count, "base row \(index) out of 0..<\(count)") }
        self.base = base
        self.rows = rows
    }

    /// Templates in hand whose terms are at `termsAt` in `base` (nil: tokenise it).
    public init(templates: [SnapshotTemplate], base: SnapshotMapping, termsAt: [Int?]) {
        precondition(templates.count == termsAt.count, "one base index (or nil) per template")
        self.init(base: base, rows: zip(templates, termsAt).map { .template($0, termsAt: $1) })
    }

    public var count: Int { rows.count }

    /// For each row, the base row whose terms it takes from the base's lexical section; nil where
    /// it is tokenised: a template in hand without one, any row when the base has no section (a
    /// version 1 file), an index the section does not cover.
    public var reusedTerms: [Int?] {
        let reusable = base?.view.lexical?.count ?? 0
        return rows.map { row in
            let found: Int? = switch row {
            case .base(let index): index
            case .template(_, let termsAt): termsAt
            }
            guard let found, found >= 0, found < reusable else { return nil }
            return found
        }
    }

    /// Rows whose terms are tokenised, not taken from the base's lexical section.
    public var tokenisedCount: Int { reusedTerms.count { $0 == nil } }

    /// Each of `row`'s fields' bytes, in the file's order.
    func forEachField(of row: Row, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        switch row {
        case .template(let template, _):
            try template.forEachField { field in
                var field = field
                try field.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
            }
        case .base(let index):
            // A base row exists only with a base (init).
            for field in SnapshotLayout.Field.allCases { try body(base!.view.bytes(index, field)) }
        }
    }
}
