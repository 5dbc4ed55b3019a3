import Foundation

extension String {
    /// `utf8.contains(13)`, through memchr: the generic version cost a tenth of parse time.
    var containsCarriageReturn: Bool { containsByte(13) }

    /// U+0000: text no store can hold (PostgreSQL refuses it in `text` and `jsonb`).
    var containsNUL: Bool { containsByte(0) }

    /// Whether the UTF-8 bytes hold `byte`, through memchr.
    func containsByte(_ byte: Int32) -> Bool {
        utf8.withContiguousStorageIfAvailable { buffer in
            guard let base = buffer.baseAddress else { return false }
            return memchr(base, byte, buffer.count) != nil
        } ?? utf8.contains(UInt8(byte))
    }
}

/// The columns found in a header row.
struct HeaderMapping {
    let rowIndex: Int
    let fieldColumns: [FAQField: Int]
    let metadataColumns: [(index: Int, name: String)]
    let headers: [FAQField: String]

    /// Every column the table reads, ascending.
    var readColumns: [Int] { Set(fieldColumns.values).union(metadataColumns.map(\.index)).sorted() }
}

/// Turns the raw rows of one sheet into FAQ rows: finds the header, applies merged cells,
/// trims cells, leaves out empty rows, and skips (and reports) rows that lack a question or an
/// answer or hold a NUL character.
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
        for (index, row) in rows.enumerated() where row.hasContent {
            examined += 1
            if examined > Self.headerSearchDepth { break }
            var fieldColumns: [FAQField: Int] = [:]
            var headers: [FAQField: String] = [:]
            var metadata: [(Int, String)] = []
            for cell in row.cells {
                let text = cell.text.trimmed
                guard !text.isEmpty else { continue }
                if let field = aliases.field(forHeader: text), fieldColumns[field] == nil {
                    fieldColumns[field] = cell.column
                    headers[field] = text
                } else {
                    metadata.append((cell.column, text))
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
        guard let row = rows.first(where: \.hasContent) else { return [] }
        return row.cells.map(\.text.trimmed).filter { !$0.isEmpty }
    }

    func build(rows: [RawRow], merges: [MergedRange], header: HeaderMapping, sheetName: String?,
               cellsScanned: Int) throws -> FAQTable {
        let interpreted = Set(header.fieldColumns.values)
        try checkHeaderNames(header, row: rows[header.rowIndex].number)
        var merged = MergedFill(rows: rows, merges: merges, columns: header.readColumns)
        var result: [FAQRow] = []
        var skipped: [SkippedRow] = []
        result.reserveCapacity(rows.count - header.rowIndex)

        for index in rows.indices where index > header.rowIndex {
            let row = rows[index]
            let ownFieldContent = interpreted.contains { column in !(row[column] ?? "").isBlank }
            guard ownFieldContent else { continue }
            let fill = merged.values(forRowAt: index)

            func value(_ column: Int) -> String { normalizeCell(row[column] ?? fill[column] ?? "") }
            func fieldValue(_ field: FAQField) -> String { header.fieldColumns[field].map(value) ?? "" }

            let id = fieldValue(.id), category = fieldValue(.category), subcategory = fieldValue(.subcategory)
            let question = fieldValue(.question), answer = fieldValue(.answer)
            let hint = id.isEmpty && question.isEmpty ? nil
                : SkippedRow.IdentityHint(id: id.isEmpty ? nil : id, category: category, subcategory: subcategory, question: question)
            // Problems of this row only: the row is skipped and reported, the others go on.
            if question.isEmpty {
                skipped.append(emptyCell(.emptyQuestion, field: .question, row: row.number, header: header, hint: hint))
                continue
            }
            if answer.isEmpty {
                skipped.append(emptyCell(.emptyAnswer, field: .answer, row: row.number, header: header, hint: hint))
                continue
            }
            let metadataRead = header.metadataColumns.map { (column: $0, text: value($0.index)) }
            let metadata = metadataRead.compactMap { $0.text.isEmpty ? nil : MetadataEntry(name: $0.column.name, value: $0.text) }
            // Each cell is normalised once: the check below reads the values already taken.
            let fieldsRead: [(field: FAQField, text: String)] = [(.id, id), (.category, category), (.subcategory, subcategory),
                                                                 (.question, question), (.answer, answer)]
            let fieldsWithNUL = fieldsRead.compactMap { $0.text.containsNUL ? header.fieldColumns[$0.field] : nil }
            let metadataWithNUL = metadataRead.compactMap { $0.text.containsNUL ? $0.column.index : nil }
            if let withNUL = (fieldsWithNUL + metadataWithNUL).min() {
                skipped.append(controlCharacter(row: row.number, column: withNUL, header: header, hint: hint))
                continue
            }
            result.append(FAQRow(
                rowNumber: row.number, id: id.isEmpty ? nil : id,
                category: category, subcategory: subcategory,
                question: question, answer: answer, metadata: metadata))
        }
        var table = FAQTable(file: file, format: format, sheetName: sheetName,
                             headerRowNumber: rows[header.rowIndex].number, headers: header.headers,
                             rows: result, cellsScanned: cellsScanned)
        table.skippedRows = skipped
        return table
    }

    /// Header names become metadata names in the store, so they obey the same rule as cells.
    private func checkHeaderNames(_ header: HeaderMapping, row: Int) throws {
        for (column, name) in header.metadataColumns where name.containsNUL {
            throw controlCharacter(row: row, column: column, header: header)
        }
    }

    private func emptyCell(_ code: SpreadsheetError.Code, field: FAQField, row: Int, header: HeaderMapping,
                           hint: SkippedRow.IdentityHint?) -> SkippedRow {
        SkippedRow(row: row, column: describeColumn(header.fieldColumns[field], header: header), code: code,
                   message: "the \(field.rawValue) is empty but the row has other content; fill in the \(field.rawValue) or delete the row",
                   identityHint: hint)
    }

    private func controlCharacter(row: Int, column: Int, header: HeaderMapping, hint: SkippedRow.IdentityHint?) -> SkippedRow {
        SkippedRow(row: row, column: describeColumn(column, header: header), code: .controlCharacter,
                   message: "the cell contains a NUL character (U+0000), which the store cannot hold; retype the cell (the character is invisible in most editors)",
                   identityHint: hint)
    }

    private func controlCharacter(row: Int, column: Int, header: HeaderMapping) -> SpreadsheetError {
        SpreadsheetError(
            code: .controlCharacter, file: file, row: row, column: describeColumn(column, header: header),
            message: "the header cell contains a NUL character (U+0000), which the store cannot hold",
            remedy: "Retype the cell (the character is invisible in most editors) and save again.")
    }

    /// `C (Пример вопроса)`: the label the editor sees and the column's header.
    private func describeColumn(_ column: Int?, header: HeaderMapping) -> String? {
        guard let column else { return nil }
        let name = header.fieldColumns.first { $0.value == column }.flatMap { header.headers[$0.key] }
            ?? header.metadataColumns.first { $0.index == column }?.name
        return name.map { "\(columnLabel(column)) (\($0))" } ?? columnLabel(column)
    }

    /// Line endings unified to `\n`, then trimmed. Written against unicode scalars because
    /// Foundation's `trimmingCharacters` and `replacingOccurrences` dominated parse time.
    func normalizeCell(_ text: String) -> String {
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

/// The value of each merge's top-left cell, spread over the other cells the merge covers, for
/// the rows that exist and the columns the table reads, one row at a time.
///
/// Work is bounded by the cells the merges cover (already counted against `ReadLimits.maxCells`),
/// never by the rows and columns a range merely names: `A1:XFD1048576` over a ten-row sheet
/// touches ten rows. Rows must come in ascending row number, as the readers produce them.
struct MergedFill {
    private typealias Anchored = (anchorIndex: Int, merge: MergedRange, value: String)
    private let rows: [RawRow]
    private let columns: [Int]
    /// Merges whose anchor cell has a value, in the order of the row index they start at.
    private let pending: [Anchored]
    private var nextPending = 0
    private var active: [Anchored] = []

    /// - Parameter columns: the columns wanted, ascending.
    init(rows: [RawRow], merges: [MergedRange], columns: [Int]) {
        self.rows = rows
        self.columns = columns
        var indexByNumber: [Int: Int] = [:]
        if !merges.isEmpty {
            for (index, row) in rows.enumerated() where indexByNumber[row.number] == nil { indexByNumber[row.number] = index }
        }
        pending = merges.compactMap { merge -> Anchored? in
            guard let anchorIndex = indexByNumber[merge.rows.lowerBound],
                  let value = rows[anchorIndex][merge.columns.lowerBound] else { return nil }
            return (anchorIndex, merge, value)
        }.sorted { $0.anchorIndex < $1.anchorIndex }
    }

    /// Merged values for the row at `index` (visited in ascending order), by column.
    mutating func values(forRowAt index: Int) -> [Int: String] {
        // Merges anchored at rows before this one (the header, skipped rows) join first.
        while nextPending < pending.count, pending[nextPending].anchorIndex <= index {
            active.append(pending[nextPending])
            nextPending += 1
        }
        guard !active.isEmpty else { return [:] }
        let number = rows[index].number
        active.removeAll { $0.merge.rows.upperBound < number }
        var fill: [Int: String] = [:]
        for entry in active where entry.merge.rows.contains(number) {
            var position = lowerBound(entry.merge.columns.lowerBound)
            while position < columns.count, columns[position] <= entry.merge.columns.upperBound {
                if fill[columns[position]] == nil { fill[columns[position]] = entry.value }
                position += 1
            }
        }
        return fill
    }

    private func lowerBound(_ column: Int) -> Int {
        var low = 0, high = columns.count
        while low < high {
            let middle = (low + high) / 2
            if columns[middle] < column { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

