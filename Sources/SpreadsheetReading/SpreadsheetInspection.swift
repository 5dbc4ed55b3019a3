/// What faqsync sees in a spreadsheet, sheet by sheet: the header it chose (or why none
/// matched), the column mapping, and the rows as the text it reads. `faqsync inspect` prints it;
/// it is for the editor whose sync fails with "header not found", and for comparing faqsync with
/// other readers.
package struct SpreadsheetInspection: Sendable, Encodable {
    package let file: String
    package let sheets: [SheetInspection]
}

package struct SheetInspection: Sendable, Encodable {
    /// The sheet's name (empty for a csv file).
    package let name: String
    /// 1-based; nil when no row among the first ten has the required columns.
    package let headerRow: Int?
    /// FAQ field → column label (`C` in a workbook, `3` in a csv file).
    package let columns: [String: String]
    /// Every other column of the header row, label → header text: kept as metadata.
    package let metadataColumns: [String: String]
    /// Why no header matched, naming the header names looked for.
    package let headerProblem: String?
    /// Every non-empty row from row 1, each cell as the text faqsync reads ("" for an empty
    /// cell), merged values applied, up to the row limit.
    package let rows: [[String]]
    /// The sheet's row number of each entry of `rows`.
    package let rowNumbers: [Int]
    /// True when the sheet has more non-empty rows than were listed.
    package let truncated: Bool

    enum CodingKeys: String, CodingKey {
        case name, headerRow = "header_row", columns, metadataColumns = "metadata_columns", headerProblem = "header_problem"
        case rows, rowNumbers = "row_numbers", truncated
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(headerRow, forKey: .headerRow)
        try container.encode(columns, forKey: .columns)
        try container.encode(metadataColumns, forKey: .metadataColumns)
        try container.encode(headerProblem, forKey: .headerProblem)
        try container.encode(rows, forKey: .rows)
        try container.encode(rowNumbers, forKey: .rowNumbers)
        try container.encode(truncated, forKey: .truncated)
    }
}

/// Builds a `SheetInspection` from the raw rows a reader scanned, with the same header search,
/// merge fill and cell normalisation a sync uses.
struct SheetInspector {
    let builder: FAQTableBuilder
    let aliases: ColumnAliases
    let maxRows: Int

    func inspect(name: String, rows: [RawRow], merges: [MergedRange]) -> SheetInspection {
        let header = builder.findHeader(in: rows)
        var columns: [String: String] = [:]
        var metadata: [String: String] = [:]
        if let header {
            for (field, column) in header.fieldColumns { columns[field.rawValue] = builder.columnLabel(column) }
            for column in header.metadataColumns { metadata[builder.columnLabel(column.index)] = column.name }
        }
        let problem: String? = header == nil
            ? SpreadsheetError.headerNotFound(file: builder.file, aliases: aliases, seen: [("", builder.firstNonEmptyRow(in: rows))]).message
            : nil

        // Only columns some cell really uses: a merge reaching column XFD adds nothing here.
        let lastColumn = rows.lazy.compactMap { $0.cells.last?.column }.max() ?? -1
        var fill = MergedFill(rows: rows, merges: merges, columns: lastColumn >= 0 ? Array(0...lastColumn) : [])
        var listed: [[String]] = []
        var numbers: [Int] = []
        var truncated = false
        // `maxRows` counts data rows: the header and what stands above it are listed besides.
        var dataRows = 0
        for index in rows.indices {
            let merged = fill.values(forRowAt: index)
            guard rows[index].hasContent || !merged.isEmpty else { continue }
            let isData = header.map { index > $0.rowIndex } ?? true
            if isData {
                guard dataRows < maxRows else { truncated = true; break }
            }
            var cells = (0...max(0, lastColumn)).map { column in
                builder.normalizeCell(rows[index][column] ?? merged[column] ?? "")
            }
            while let last = cells.last, last.isEmpty { cells.removeLast() }
            guard !cells.isEmpty else { continue }
            if isData { dataRows += 1 }
            listed.append(cells)
            numbers.append(rows[index].number)
        }
        return SheetInspection(name: name, headerRow: header.map { rows[$0.rowIndex].number }, columns: columns,
                               metadataColumns: metadata, headerProblem: problem, rows: listed, rowNumbers: numbers,
                               truncated: truncated)
    }
}
