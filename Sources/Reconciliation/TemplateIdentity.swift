import Dispatch
import SpreadsheetReading

/// Gives every row an identity that survives editing the sheet around it.
///
/// The `id` column wins when the sheet has one. Otherwise the identity is derived from
/// (category, subcategory, question), normalised for case and spacing, so inserting, deleting or
/// moving rows never changes another template's identity. (The original system numbered
/// templates by row: one row inserted at the top re-embedded all of them.)
public enum TemplateIdentity {
    public static func identity(of row: FAQRow) -> String {
        if let id = row.id { return id }
        return derived(category: row.category, subcategory: row.subcategory, question: row.question)
    }

    public static func derived(category: String, subcategory: String, question: String) -> String {
        let key = [category, subcategory, question].map(TextNormalization.foldedKeyUTF8)
        return "k" + ContentHash.fields(bytes: key).prefix(16)
    }
}

/// Two rows that resolve to the same identity.
public struct DuplicateTemplateError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let identity: String
    public let firstRow: Int
    public let secondRow: Int
    public let fromIDColumn: Bool

    public var description: String {
        let what = fromIDColumn
            ? "both have the id '\(identity)'"
            : "both have the same category, subcategory and question (identity \(identity))"
        return "\(file), rows \(firstRow) and \(secondRow): \(what), so faqsync cannot tell them apart. "
            + (fromIDColumn ? "Give one of them another id." : "Change one question, move it to another subcategory, or add an id column.")
    }
}

extension Template {
    /// The templates of a table, in sheet order, with identities checked for clashes.
    ///
    /// Hashing dominates a no-op sync, so large tables are hashed in parallel chunks; call this
    /// from a thread of your own, not from the cooperative pool.
    public static func templates(from table: FAQTable, modelInput: ModelInput) throws -> [Template] {
        let rows = table.rows
        let chunkSize = 2_048
        let chunkCount = (rows.count + chunkSize - 1) / chunkSize
        let chunks = ChunkResults<Template>(count: chunkCount)
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let range = (chunk * chunkSize)..<min(rows.count, (chunk + 1) * chunkSize)
            chunks.store(chunk, rows[range].map { row in
                Template(id: TemplateIdentity.identity(of: row), rowNumber: row.rowNumber, category: row.category,
                         subcategory: row.subcategory, question: row.question, answer: row.answer,
                         metadata: row.metadata, modelInput: modelInput)
            })
        }
        let templates = chunks.joined()
        var firstRowByID: [String: Int] = [:]
        firstRowByID.reserveCapacity(templates.count)
        for (template, row) in zip(templates, rows) {
            if let first = firstRowByID.updateValue(template.rowNumber, forKey: template.id) {
                throw DuplicateTemplateError(file: table.file, identity: template.id, firstRow: first,
                                             secondRow: template.rowNumber, fromIDColumn: row.id != nil)
            }
        }
        return templates
    }
}

/// Per-chunk results written from `concurrentPerform`: each slot is written by exactly one
/// iteration and read only after all of them finished, hence `@unchecked Sendable`.
private final class ChunkResults<Element>: @unchecked Sendable {
    private var slots: [[Element]]

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func store(_ index: Int, _ elements: [Element]) {
        slots.withUnsafeMutableBufferPointer { $0[index] = elements }
    }

    func joined() -> [Element] { slots.flatMap { $0 } }
}
