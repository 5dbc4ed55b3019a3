import Dispatch
import SpreadsheetReading

/// Gives every row an identity that survives editing the sheet around it.
///
/// The `id` column wins when the sheet has one. Otherwise the identity is derived from
/// (category, subcategory, question), normalised for case and spacing, so inserting, deleting or
/// moving rows never changes another template's identity. (The original system numbered
/// templates by row: one row inserted at the top re-embedded all of them.)
package enum TemplateIdentity {
    package static func identity(of row: FAQRow) -> String {
        if let id = row.id { return id }
        return derived(category: row.category, subcategory: row.subcategory, question: row.question)
    }

    package static func derived(category: String, subcategory: String, question: String) -> String {
        let key = [category, subcategory, question].map(TextNormalization.foldedKeyUTF8)
        return "k" + ContentHash.fields(bytes: key).prefix(16)
    }
}

/// The templates of a sheet, with the rows that cannot become one.
package struct SheetTemplates: Sendable {
    package let templates: [Template]
    /// The reader's skipped rows and rows sharing an identity, in sheet order.
    package let skippedRows: [SkippedRow]
    /// Identities of skipped rows, where they can be told: a template stored under one of them
    /// keeps its last stored state instead of being deleted (as a quarantined one does).
    package let heldIdentities: Set<String>
}

extension TemplateIdentity {
    /// The identity a skipped row would have, when enough of it is there to tell.
    package static func identity(of hint: SkippedRow.IdentityHint) -> String? {
        if let id = hint.id { return id }
        guard !hint.question.isEmpty else { return nil }
        return derived(category: hint.category, subcategory: hint.subcategory, question: hint.question)
    }
}

extension Template {
    /// The templates of a table, in sheet order. Rows that share one identity are all skipped
    /// (faqsync cannot tell which one is meant) and reported with the reader's skipped rows.
    ///
    /// Hashing dominates a no-op sync, so large tables are hashed in parallel chunks; call this
    /// from a thread of your own, not from the cooperative pool.
    /// - Parameter memo: the templates of the last sheet read (a daemon's); rows it holds are
    ///   taken from it instead of being hashed again, and it is left holding this sheet's.
    package static func sheetTemplates(from table: FAQTable, modelInput: ModelInput, memo: TemplateMemo? = nil) -> SheetTemplates {
        let rows = table.rows
        let chunkSize = 2_048
        let chunkCount = (rows.count + chunkSize - 1) / chunkSize
        let chunks = ChunkResults<(template: Template, content: RowContent?)>(count: chunkCount)
        let remembered = memo?.templates(for: modelInput) ?? [:]
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let range = (chunk * chunkSize)..<min(rows.count, (chunk + 1) * chunkSize)
            chunks.store(chunk, rows[range].map { row in
                let content = memo == nil ? nil : RowContent(row)
                if let content, let known = remembered[content] { return (known.at(row: row.rowNumber), content) }
                return (Template(id: TemplateIdentity.identity(of: row), rowNumber: row.rowNumber, category: row.category,
                                 subcategory: row.subcategory, question: row.question, answer: row.answer,
                                 metadata: row.metadata, modelInput: modelInput), content)
            })
        }
        let made = chunks.joined()
        if let memo {
            var templates: [RowContent: Template] = [:]
            templates.reserveCapacity(made.count)
            for (template, content) in made { if let content { templates[content] = template } }
            memo.remember(templates, modelInput: modelInput)
        }
        let all = made.map(\.template)
        // The rows of each identity that more than one row has (an array per identity only there).
        var firstRow: [String: Int] = [:]
        firstRow.reserveCapacity(all.count)
        var duplicated: [String: [Int]] = [:]
        for template in all {
            if let first = firstRow[template.id] {
                duplicated[template.id, default: [first]].append(template.rowNumber)
            } else {
                firstRow[template.id] = template.rowNumber
            }
        }

        var held = Set(table.skippedRows.compactMap { $0.identityHint.flatMap(TemplateIdentity.identity(of:)) })
        guard !duplicated.isEmpty else {
            return SheetTemplates(templates: all, skippedRows: table.skippedRows, heldIdentities: held)
        }
        var skipped = table.skippedRows
        for (template, row) in zip(all, rows) {
            guard let sharing = duplicated[template.id] else { continue }
            held.insert(template.id)
            let others = sharing.filter { $0 != template.rowNumber }.map(String.init).joined(separator: ", ")
            let fromIDColumn = row.id != nil
            let message = fromIDColumn
                ? "row \(others) has the same id '\(template.id)', so faqsync cannot tell them apart; give one of them another id"
                : "row \(others) has the same category, subcategory and question, so faqsync cannot tell them apart; change one question, move it to another subcategory, or add an id column"
            let column = fromIDColumn ? table.headers[.id] : table.headers[.question]
            skipped.append(SkippedRow(row: template.rowNumber, column: column, code: .duplicateIdentity, message: message))
        }
        skipped.sort { $0.row < $1.row }
        return SheetTemplates(templates: all.filter { duplicated[$0.id] == nil }, skippedRows: skipped, heldIdentities: held)
    }

    /// The templates of a table that sync (skipped rows left out).
    package static func templates(from table: FAQTable, modelInput: ModelInput) -> [Template] {
        sheetTemplates(from: table, modelInput: modelInput).templates
    }
}

/// Per-chunk results written from `concurrentPerform`: each slot is written by exactly one
/// iteration and read only after all of them finished, hence `@unchecked Sendable`.
final class ChunkResults<Element>: @unchecked Sendable {
    private var slots: [[Element]]

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func store(_ index: Int, _ elements: [Element]) {
        slots.withUnsafeMutableBufferPointer { $0[index] = elements }
    }

    func joined() -> [Element] { slots.flatMap { $0 } }
}
