import Foundation

/// The FAQ team's checks as a spreadsheet holds them: customer questions, each with the template
/// it must find (by the template's question or its id). They live where the team already works:
/// a sheet named «Проверка» (or «Проверки», «Checks», «Check») in the FAQ workbook, or a CSV file
/// named by CHECKS_PATH. Reading them never fails a sync: a sheet without the two columns comes
/// back with a `problem`, a row without a question or a template is listed in `skipped`.
package struct CheckSheet: Sendable, Equatable {
    package struct Row: Sendable, Equatable {
        /// The row's number in the sheet (1-based, header included).
        package let number: Int
        package let question: String
        /// What the editor wrote for the template: its question, or its id.
        package let expected: String

        package init(number: Int, question: String, expected: String) {
            self.number = number
            self.question = question
            self.expected = expected
        }
    }

    package struct Skipped: Sendable, Equatable, Codable {
        package let row: Int
        package let reason: String

        package init(row: Int, reason: String) {
            self.row = row
            self.reason = reason
        }
    }

    /// The file and, in a workbook, the sheet the checks came from.
    package let file: String
    package let sheet: String
    package var rows: [Row] = []
    package var skipped: [Skipped] = []
    /// Why no check could be read (no header with the two columns), nil when they were.
    package var problem: String?
    /// Rows beyond `CheckSheet.maxRows` were left out.
    package var truncated = false

    package init(file: String, sheet: String, rows: [Row] = [], skipped: [Skipped] = [], problem: String? = nil) {
        self.file = file
        self.sheet = sheet
        self.rows = rows
        self.skipped = skipped
        self.problem = problem
    }

    /// Sheet names (folded: lowercase, spaces collapsed) that hold checks, never the FAQ.
    package static let sheetNames: Set<String> = ["проверка", "проверки", "checks", "check"]
    /// Header names for the customer's question and for the expected template (folded).
    static let questionHeaders: Set<String> = ["вопрос клиента", "вопрос", "question", "customer question", "запрос", "query"]
    static let expectedHeaders: Set<String> = ["ожидаемый шаблон", "нужный шаблон", "правильный шаблон", "шаблон", "expected template",
                                               "expected", "template", "template id", "id шаблона"]
    /// The most checks read: each is a search at every sync, so they stay a short list.
    package static let maxRows = 1_000

    package static func isCheckSheet(_ name: String) -> Bool { sheetNames.contains(TextNormalization.foldedKey(name)) }

    /// Builds the checks from a sheet's rows (cells by 0-based column): the header is the first
    /// of the first ten non-empty rows that has both columns.
    static func from(rows: [RawRow], file: String, sheet: String) -> CheckSheet {
        var result = CheckSheet(file: file, sheet: sheet)
        var header: (row: Int, question: Int, expected: Int)?
        for (index, row) in rows.prefix(10).enumerated() {
            let question = row.cells.first { questionHeaders.contains(TextNormalization.foldedKey($0.text)) }?.column
            let expected = row.cells.first { expectedHeaders.contains(TextNormalization.foldedKey($0.text)) }?.column
            if let question, let expected, question != expected {
                header = (index, question, expected)
                break
            }
        }
        guard let header else {
            result.problem = "no header row with a question column («Вопрос клиента», «Вопрос», Question) and a template column («Ожидаемый шаблон», «Шаблон», Expected template) in its first ten rows"
            return result
        }
        for row in rows.dropFirst(header.row + 1) {
            func cell(_ column: Int) -> String { (row.cells.first { $0.column == column }?.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
            let question = cell(header.question), expected = cell(header.expected)
            if question.isEmpty, expected.isEmpty { continue }
            guard result.rows.count < maxRows else {
                result.truncated = true
                break
            }
            if question.isEmpty {
                result.skipped.append(Skipped(row: row.number, reason: "the row names a template but no question"))
            } else if expected.isEmpty {
                result.skipped.append(Skipped(row: row.number, reason: "the row has a question but names no template"))
            } else {
                result.rows.append(Row(number: row.number, question: question, expected: expected))
            }
        }
        return result
    }
}

extension SpreadsheetReader {
    /// The checks sheet of the workbook at `url`, nil when it has none (or is a CSV file, which
    /// holds one table: the FAQ). Within the same limits as `read`.
    package func readCheckSheet(_ url: URL) throws -> CheckSheet? {
        guard url.pathExtension.lowercased() != "csv" else { return nil }
        let file = url.path
        let package = try XLSXPackage(url: url, file: file, limits: limits)
        return try XLSXReader(package: package, file: file, aliases: aliases, sheetName: sheetName, limits: limits).checkSheet()
    }

    /// Checks from a CSV file of their own (CHECKS_PATH): a header with the two columns, then a
    /// check per line.
    package func readCheckFile(_ url: URL) throws -> CheckSheet {
        let file = url.path
        let inspection = try CSVReader(file: file, aliases: aliases, limits: limits).inspect(contentsOf: url, maxRows: CheckSheet.maxRows + 10)
        guard let sheet = inspection.sheets.first else { return CheckSheet(file: file, sheet: "", problem: "the file is empty") }
        let rows = zip(sheet.rowNumbers, sheet.rows).map { number, cells in
            RawRow(number: number, cells: cells.enumerated().compactMap { $0.element.isEmpty ? nil : RawCell(column: $0.offset, text: $0.element) })
        }
        return CheckSheet.from(rows: rows, file: file, sheet: "")
    }
}
