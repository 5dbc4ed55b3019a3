import Foundation

/// The fields faqsync understands. Every other column is kept as metadata.
package enum FAQField: String, CaseIterable, Sendable, Codable {
    case id, category, subcategory, question, answer

    package static let required: [FAQField] = [.category, .subcategory, .question, .answer]
}

/// One named value from a column faqsync does not interpret (priority, audience, …).
package struct MetadataEntry: Sendable, Hashable, Codable {
    package let name: String
    package let value: String

    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One data row of the FAQ, cells trimmed at both ends, inner line breaks kept.
///
/// Why it exists next to `RawRow`: it is the reader's output, mapped through the header the
/// reader chose, with the row number that error messages name; nothing after the reader knows
/// about columns or sheets.
package struct FAQRow: Sendable, Hashable {
    /// The row number the editor sees (1-based, header included).
    package let rowNumber: Int
    /// The value of the `id` column, when the sheet has one and the cell is not empty.
    package let id: String?
    package let category: String
    package let subcategory: String
    package let question: String
    package let answer: String
    /// Other columns in sheet order; empty cells are left out.
    package let metadata: [MetadataEntry]

    package init(rowNumber: Int, id: String?, category: String, subcategory: String, question: String,
                answer: String, metadata: [MetadataEntry]) {
        self.rowNumber = rowNumber
        self.id = id
        self.category = category
        self.subcategory = subcategory
        self.question = question
        self.answer = answer
        self.metadata = metadata
    }
}

/// A row left out of a sync because of a problem on that row only (a draft without its answer,
/// a NUL character, an identity another row has too); the rest of the sheet syncs.
///
/// `identityHint` is what is known of the row's identity (its id, or its category, subcategory
/// and question when the question is there), so a template stored before keeps its last stored
/// state while its row is skipped.
package struct SkippedRow: Sendable, Hashable, Codable {
    /// A list of skipped rows as the JSON text a store keeps with its sync run (sorted keys,
    /// slashes as they are, `[]` for none): the one place that list is encoded and decoded.
    package static func encodeList(_ rows: [SkippedRow]) -> String { StoredJSON.array(rows) }

    package static func decodeList(_ text: String) -> [SkippedRow] {
        (try? JSONDecoder().decode([SkippedRow].self, from: Data(text.utf8))) ?? []
    }

    package let row: Int
    /// The column as the editor sees it, `C (Пример вопроса)`; nil when the whole row is meant.
    package let column: String?
    /// A `SpreadsheetError.Code` value: `empty-question`, `empty-answer`, `control-character`,
    /// `duplicate-identity`.
    package let code: String
    /// Worded for the person who will fix the spreadsheet.
    package let message: String
    package let identityHint: IdentityHint?
    /// The row's question when it has one: how an editor finds the row again. Kept with the run.
    package let question: String?

    package struct IdentityHint: Sendable, Hashable, Codable {
        package let id: String?
        package let category: String
        package let subcategory: String
        package let question: String

        package init(id: String?, category: String, subcategory: String, question: String) {
            self.id = id
            self.category = category
            self.subcategory = subcategory
            self.question = question
        }
    }

    package init(row: Int, column: String?, code: SpreadsheetError.Code, message: String, identityHint: IdentityHint? = nil) {
        self.row = row
        self.column = column
        self.code = code.rawValue
        self.message = message
        self.identityHint = identityHint
        question = identityHint.flatMap { $0.question.isEmpty ? nil : $0.question }
    }

    enum CodingKeys: String, CodingKey { case row, column, code, message, question }

    /// As reports and the store keep it: row, column, code, message and the question (the
    /// identity hint only serves the sync that read the row).
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(row, forKey: .row)
        try container.encode(column, forKey: .column)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        try container.encodeIfPresent(question, forKey: .question)
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        row = try container.decode(Int.self, forKey: .row)
        column = try container.decodeIfPresent(String.self, forKey: .column)
        code = try container.decode(String.self, forKey: .code)
        message = try container.decode(String.self, forKey: .message)
        question = try container.decodeIfPresent(String.self, forKey: .question)
        identityHint = nil
    }

    /// `row 14, column F (Шаблонный ответ): the answer is empty …`
    package var summary: String { "row \(row)\(column.map { ", column \($0)" } ?? ""): \(message)" }
}

/// A spreadsheet read and mapped onto FAQ fields.
package struct FAQTable: Sendable {
    package enum Format: String, Sendable { case xlsx, csv }

    package let file: String
    package let format: Format
    /// The sheet the templates came from (xlsx only).
    package let sheetName: String?
    package let headerRowNumber: Int
    /// Header text per FAQ field, as written in the file.
    package let headers: [FAQField: String]
    package let rows: [FAQRow]
    /// Rows left out for a problem of their own, in sheet order.
    package var skippedRows: [SkippedRow] = []
    /// Cells seen while reading, formatted-but-empty ones included (what the limits count).
    package let cellsScanned: Int
}
