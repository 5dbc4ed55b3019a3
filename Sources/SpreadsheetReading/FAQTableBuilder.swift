import Foundation

extension String {
    /// `utf8.contains(13)`, through memchr: the generic version cost a tenth of parse time.
    var containsCarriageReturn: Bool {
        utf8.withContiguousStorageIfAvailable { buffer in
            guard let base = buffer.baseAddress else { return false }
            return memchr(base, 13, buffer.count) != nil
        } ?? utf8.contains(13)
    }
}

/// A row as a reader found it: cell texts by 0-based column, `nil` where the cell had no value.
struct RawRow {
    let number: Int
    var cells: [String?]
}

/// A merged area of cells (xlsx only), 1-based rows and 0-based columns like `RawRow`.
struct MergedRange {
    let rows: ClosedRange<Int>
    let columns: ClosedRange<Int>
}

/// The columns found in a header row.
struct HeaderMapping {
    let rowIndex: Int
    let fieldColumns: [FAQField: Int]
    let metadataColumns: [(index: Int, name: String)]
    let headers: [FAQField: String]
}

/// Turns the raw rows of one sheet into FAQ rows: finds the header, applies merged cells,
/// trims cells, skips empty rows and rejects rows that lack a question or an answer.
/// Shared by the xlsx and csv readers so both behave the same.
struct FAQTableBuilder {
    let file: String
    let format: FAQTable.Format
    let aliases: ColumnAliases
    /// How the editor names a column: `C` in a workbook, `3` in a csv file.
    let columnLabel: (Int) -> String

    /// Rows examined when looking for the header: a title or instructions row may come first.
    static let headerSearchDepth = 10

    func findHeader(in rows: [RawRow]) -> HeaderMapping? {
        var examined = 0
        for (index, row) in rows.enumerated() where row.cells.contains(where: { !($0 ?? "").isBlank }) {
            examined += 1
            if examined > Self.headerSearchDepth { break }
            var fieldColumns: [FAQField: Int] = [:]
            var headers: [FAQField: String] = [:]
            var metadata: [(Int, String)] = []
            for (column, cell) in row.cells.enumerated() {
                guard let text = cell?.trimmed, !text.isEmpty else { continue }
                if let field = aliases.field(forHeader: text), fieldColumns[field] == nil {
                    fieldColumns[field] = column
                    headers[field] = text
                } else {
                    metadata.append((column, text))
                }
            }
            if FAQField.required.allSatisfy({ fieldColumns[$0] != nil }) {
                return HeaderMapping(rowIndex: index, fieldColumns: fieldColumns, metadataColumns: metadata, headers: headers)
            }
        }
        return nil
    }

    /// The first non-empty row, shown when no header matches so the editor sees what was found.
    func firstNonEmptyRow(in rows: [RawRow]) -> [String] {
        guard let row = rows.first(where: { $0.cells.contains(where: { !($0 ?? "").isBlank }) }) else { return [] }
        return row.cells.compactMap { $0?.trimmed }.filter { !$0.isEmpty }
    }

    func build(rows: [RawRow], merges: [MergedRange], header: HeaderMapping, sheetName: String?,
               cellsScanned: Int) throws -> FAQTable {
        let interpreted = Set(header.fieldColumns.values)
        let mergedValues = mergedFill(rows: rows, merges: merges)
        var result: [FAQRow] = []
        result.reserveCapacity(rows.count - header.rowIndex)

        for row in rows[(header.rowIndex + 1)...] {
            let ownFieldContent = interpreted.contains { column in
                column < row.cells.count && !(row.cells[column] ?? "").isBlank
            }
            guard ownFieldContent else { continue }

            func value(_ column: Int) -> String {
                let own = column < row.cells.count ? row.cells[column] : nil
                return normalizeCell(own ?? mergedValues[row.number]?[column] ?? "")
            }
            func fieldValue(_ field: FAQField) -> String {
                header.fieldColumns[field].map(value) ?? ""
            }

            let question = fieldValue(.question)
            let answer = fieldValue(.answer)
            if question.isEmpty {
                throw emptyCell(.emptyQuestion, field: .question, row: row.number, header: header)
            }
            if answer.isEmpty {
                throw emptyCell(.emptyAnswer, field: .answer, row: row.number, header: header)
            }
            let id = fieldValue(.id)
            let metadata = header.metadataColumns.compactMap { column -> MetadataEntry? in
                let text = value(column.index)
                return text.isEmpty ? nil : MetadataEntry(name: column.name, value: text)
            }
            result.append(FAQRow(
                rowNumber: row.number, id: id.isEmpty ? nil : id,
                category: fieldValue(.category), subcategory: fieldValue(.subcategory),
                question: question, answer: answer, metadata: metadata))
        }
        return FAQTable(file: file, format: format, sheetName: sheetName,
                        headerRowNumber: rows[header.rowIndex].number, headers: header.headers,
                        rows: result, cellsScanned: cellsScanned)
    }

    /// The value of each merge's top-left cell, spread over the other cells the merge covers.
    private func mergedFill(rows: [RawRow], merges: [MergedRange]) -> [Int: [Int: String]] {
        guard !merges.isEmpty else { return [:] }
        var rowByNumber: [Int: Int] = [:]
        for (index, row) in rows.enumerated() { rowByNumber[row.number] = index }
        var fill: [Int: [Int: String]] = [:]
        for merge in merges {
            guard let anchorIndex = rowByNumber[merge.rows.lowerBound] else { continue }
            let anchor = rows[anchorIndex]
            let column = merge.columns.lowerBound
            guard column < anchor.cells.count, let value = anchor.cells[column] else { continue }
            for rowNumber in merge.rows {
                for covered in merge.columns { fill[rowNumber, default: [:]][covered] = value }
            }
        }
        return fill
    }

    private func emptyCell(_ code: SpreadsheetError.Code, field: FAQField, row: Int, header: HeaderMapping) -> SpreadsheetError {
        let column = header.fieldColumns[field]!
        let name = header.headers[field] ?? field.rawValue
        return SpreadsheetError(
            code: code, file: file, row: row, column: "\(columnLabel(column)) (\(name))",
            message: "the \(field.rawValue) is empty but the row has other content",
            remedy: "Fill in the \(field.rawValue) or delete the row, then save again.")
    }

    /// Line endings unified to `\n`, then trimmed. Written against unicode scalars because
    /// Foundation's `trimmingCharacters` and `replacingOccurrences` dominated parse time.
    private func normalizeCell(_ text: String) -> String {
        guard text.containsCarriageReturn else { return text.trimmed }
        var scalars = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousWasCR = true
                continue
            }
            if !(scalar == "\n" && previousWasCR) { scalars.append(scalar) }
            previousWasCR = false
        }
        return String(scalars).trimmed
    }
}
