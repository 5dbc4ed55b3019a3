/// The fields faqsync understands. Every other column is kept as metadata.
public enum FAQField: String, CaseIterable, Sendable, Codable {
    case id, category, subcategory, question, answer

    public static let required: [FAQField] = [.category, .subcategory, .question, .answer]
}

/// One named value from a column faqsync does not interpret (priority, audience, …).
public struct MetadataEntry: Sendable, Hashable, Codable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One data row of the FAQ, cells trimmed at both ends, inner line breaks kept.
public struct FAQRow: Sendable, Hashable {
    /// The row number the editor sees (1-based, header included).
    public let rowNumber: Int
    /// The value of the `id` column, when the sheet has one and the cell is not empty.
    public let id: String?
    public let category: String
    public let subcategory: String
    public let question: String
    public let answer: String
    /// Other columns in sheet order; empty cells are left out.
    public let metadata: [MetadataEntry]

    public init(rowNumber: Int, id: String?, category: String, subcategory: String, question: String,
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

/// A spreadsheet read and mapped onto FAQ fields.
public struct FAQTable: Sendable {
    public enum Format: String, Sendable { case xlsx, csv }

    public let file: String
    public let format: Format
    /// The sheet the templates came from (xlsx only).
    public let sheetName: String?
    public let headerRowNumber: Int
    /// Header text per FAQ field, as written in the file.
    public let headers: [FAQField: String]
    public let rows: [FAQRow]
    /// Cells seen while reading, formatted-but-empty ones included (what the limits count).
    public let cellsScanned: Int
}
