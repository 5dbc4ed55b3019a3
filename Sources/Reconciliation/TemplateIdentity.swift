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
        let key = [category, subcategory, question].map(normalize)
        return "k" + ContentHash.fields(key).prefix(16)
    }

    static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
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
    public static func templates(from table: FAQTable, modelInput: ModelInput) throws -> [Template] {
        var firstRowByID: [String: Int] = [:]
        firstRowByID.reserveCapacity(table.rows.count)
        return try table.rows.map { row in
            let id = TemplateIdentity.identity(of: row)
            if let first = firstRowByID[id] {
                throw DuplicateTemplateError(file: table.file, identity: id, firstRow: first, secondRow: row.rowNumber,
                                             fromIDColumn: row.id != nil)
            }
            firstRowByID[id] = row.rowNumber
            return Template(id: id, rowNumber: row.rowNumber, category: row.category, subcategory: row.subcategory,
                            question: row.question, answer: row.answer, metadata: row.metadata, modelInput: modelInput)
        }
    }
}
