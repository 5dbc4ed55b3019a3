/// Scans one worksheet part into raw rows, cell values resolved to the text the editor sees.
///
/// Every number the part declares (cell references, row numbers, style and shared-string
/// indices, merged ranges) is checked against the format's limits as it is read; cells and the
/// cells merged ranges cover count toward `ReadLimits.maxCells`. Only cells with a value are kept.
struct WorksheetParser {
    /// nil: the shared strings are being parsed beside this sheet; a cell that refers to one
    /// keeps its index, and `Result.resolveSharedStrings` looks them up afterwards.
    let sharedStrings: [String]?
    let dateStyles: Set<Int>
    let uses1904Dates: Bool
    let limits: ReadLimits
    let file: String

    struct Result {
        var rows: [RawRow] = []
        var merges: [MergedRange] = []
        /// `<c>` elements plus the cells merged ranges cover.
        var cellCount = 0

        /// The text of the cells parsed without the shared strings (`sharedStrings` nil).
        mutating func resolveSharedStrings(_ strings: [String], part: String, file: String) throws {
            for position in rows.indices {
                let number = rows[position].number
                try rows[position].resolveSharedStrings(strings) { cell in
                    WorksheetParser.outOfRange(file: file, part: part, row: number, WorksheetParser.sharedStringProblem(
                        column: cell.column, row: number, index: cell.text, count: strings.count))
                }
            }
        }
    }

    private enum CellType { case number, sharedString, inlineString, formulaString, boolean, error, isoDate }

    func parse(_ bytes: [UInt8], part: String) throws -> Result {
        var parser = XMLPullParser(bytes: bytes, partName: part, maxDepth: limits.maxXMLDepth)
        var result = Result()

        var rowNumber = 0
        var cells: [RawCell] = []
        var column = -1
        var cellType = CellType.number
        var cellStyle = 0
        var value = ""
        var collecting = false          // inside <v> or an inline <t>
        var inInlineString = false
        var phoneticDepth = 0
        var hasValue = false

        func countCells(_ count: Int, what: String) throws {
            result.cellCount += count
            guard result.cellCount <= limits.maxCells else {
                throw SpreadsheetError(
                    code: .limitExceeded, file: file, part: part,
                    message: "the sheet has more than \(limits.maxCells) cells\(what), beyond the reading limit",
                    remedy: "Delete unused formatted rows and columns and unmerge large ranges (select them, Delete Rows/Columns), then save again.")
            }
        }

        do {
            while let token = try parser.next() {
                switch token {
                case .start(let tag):
                    if parser.equals(tag.localName, "c") {
                        try countCells(1, what: "")
                        if let range = parser.attributeRange("r", of: tag) {
                            guard let reference = CellReference.parse(parser.bytes[range]), let referenced = reference.column else {
                                throw outOfRange(part: part, row: rowNumber,
                                                 "the cell reference r=\"\(parser.string(range).prefix(40))\" is not a cell within Excel's limits (columns A to XFD, rows 1 to \(SheetDimensions.maxRows))")
                            }
                            column = referenced
                        } else {
                            column += 1
                            guard column < SheetDimensions.maxColumns else {
                                throw outOfRange(part: part, row: rowNumber, "row \(rowNumber) has more than \(SheetDimensions.maxColumns) cells, Excel's column limit")
                            }
                        }
                        cellType = Self.cellType(parser, tag)
                        // `s=""` (some writers) is the default style, as Excel reads it.
                        if let range = parser.attributeRange("s", of: tag), !range.isEmpty {
                            guard let style = BoundedInteger.parse(parser.bytes[range], maximum: SheetDimensions.maxStyles) else {
                                throw outOfRange(part: part, row: rowNumber,
                                                 "the style index s=\"\(parser.string(range).prefix(40))\" of cell \(CellReference.letters(forColumn: column))\(rowNumber) is not a number up to \(SheetDimensions.maxStyles)")
                            }
                            cellStyle = style
                        } else {
                            cellStyle = 0
                        }
                        value = ""
                        hasValue = false
                    } else if parser.equals(tag.localName, "v") {
                        collecting = !tag.selfClosing
                        hasValue = true
                    } else if parser.equals(tag.localName, "is") {
                        inInlineString = !tag.selfClosing
                        hasValue = true
                    } else if parser.equals(tag.localName, "rPh") {
                        if !tag.selfClosing { phoneticDepth += 1 }
                    } else if parser.equals(tag.localName, "t") {
                        collecting = inInlineString && phoneticDepth == 0 && !tag.selfClosing
                    } else if parser.equals(tag.localName, "row") {
                        if let range = parser.attributeRange("r", of: tag) {
                            guard let number = BoundedInteger.parse(parser.bytes[range], maximum: SheetDimensions.maxRows), number > 0 else {
                                throw outOfRange(part: part, row: nil,
                                                 "the row number r=\"\(parser.string(range).prefix(40))\" is not a row within Excel's limits (1 to \(SheetDimensions.maxRows))")
                            }
                            rowNumber = number
                        } else {
                            rowNumber += 1
                            guard rowNumber <= SheetDimensions.maxRows else {
                                throw outOfRange(part: part, row: nil, "the sheet has more than \(SheetDimensions.maxRows) rows, Excel's row limit")
                            }
                        }
                        cells.removeAll(keepingCapacity: true)
                        column = -1
                    } else if parser.equals(tag.localName, "mergeCell"), let range = parser.attributeRange("ref", of: tag) {
                        guard let merge = CellReference.range(parser.bytes[range]) else {
                            throw outOfRange(part: part, row: nil,
                                             "the merged range ref=\"\(parser.string(range).prefix(40))\" is not a range within Excel's limits")
                        }
                        try countCells(merge.cellCount, what: " (merged ranges count every cell they cover)")
                        result.merges.append(merge)
                    }
                case .end(let name):
                    if parser.equals(name, "v") || parser.equals(name, "t") {
                        collecting = false
                    } else if parser.equals(name, "is") {
                        inInlineString = false
                    } else if parser.equals(name, "rPh") {
                        phoneticDepth = max(0, phoneticDepth - 1)
                    } else if parser.equals(name, "c") {
                        guard hasValue, column >= 0 else { continue }
                        if cellType == .sharedString, sharedStrings == nil {
                            // Looked up once the shared strings, parsed meanwhile, are there; an
                            // index that is not one fails then, as one past the end does.
                            if value.isEmpty { continue }
                            let index = BoundedInteger.parse(value.utf8, maximum: Int(Int32.max)) ?? Int.max
                            cells.append(RawCell(column: column, sharedString: index, asWritten: value))
                            continue
                        }
                        guard let text = try resolve(value, type: cellType, style: cellStyle, part: part,
                                                     cell: (column, rowNumber)) else { continue }
                        cells.append(RawCell(column: column, text: text))
                    } else if parser.equals(name, "row") {
                        if !cells.isEmpty {
                            guard result.rows.count < limits.maxRows else {
                                throw SpreadsheetError(
                                    code: .limitExceeded, file: file, part: part,
                                    message: "the sheet has more than \(limits.maxRows) rows with content, more than a FAQ sheet may have",
                                    remedy: "Check that this is the FAQ spreadsheet; delete rows that are not templates.")
                            }
                            result.rows.append(RawRow(number: rowNumber, unorderedCells: cells))
                        }
                    }
                case .text(let range, let hasReferences):
                    if collecting { value += try parser.text(range, hasReferences: hasReferences) }
                case .cdata(let range):
                    if collecting { value += parser.string(range) }
                }
            }
        } catch let error as XMLError {
            throw XLSXReader.spreadsheetError(error, file: file)
        }
        return result
    }

    private func resolve(_ raw: String, type: CellType, style: Int, part: String, cell: (column: Int, row: Int)) throws -> String? {
        switch type {
        case .sharedString:
            if raw.isEmpty { return nil }
            let strings = sharedStrings ?? []
            guard let index = BoundedInteger.parse(raw.utf8, maximum: strings.count - 1) else {
                throw outOfRange(part: part, row: cell.row, Self.sharedStringProblem(column: cell.column, row: cell.row, index: raw, count: strings.count))
            }
            return strings[index]
        case .inlineString, .formulaString:
            return XstringEscapes.decode(raw)
        case .error, .isoDate:
            return raw
        case .boolean:
            return raw == "1" ? "TRUE" : "FALSE"
        case .number:
            if raw.isEmpty { return nil }
            return dateStyles.contains(style)
                ? NumberFormatting.dateText(raw, uses1904Dates: uses1904Dates)
                : NumberFormatting.numberText(raw)
        }
    }

    private static func cellType(_ parser: XMLPullParser, _ tag: XMLTag) -> CellType {
        guard let range = parser.attributeRange("t", of: tag) else { return .number }
        if parser.equals(range, "s") { return .sharedString }
        if parser.equals(range, "inlineStr") { return .inlineString }
        if parser.equals(range, "str") { return .formulaString }
        if parser.equals(range, "b") { return .boolean }
        if parser.equals(range, "e") { return .error }
        if parser.equals(range, "d") { return .isoDate }
        return .number
    }

    private func outOfRange(part: String, row: Int?, _ message: String) -> SpreadsheetError {
        Self.outOfRange(file: file, part: part, row: row, message)
    }

    static func outOfRange(file: String, part: String, row: Int?, _ message: String) -> SpreadsheetError {
        SpreadsheetError(code: .outOfRange, file: file, part: part, row: row.flatMap { $0 > 0 ? $0 : nil }, message: message,
                         remedy: "The file was not written by Excel or LibreOffice, or it is damaged: open it in Excel or LibreOffice and save it again.")
    }

    /// A cell's shared-string index (`index`, as written) that is not one of the `count` strings.
    static func sharedStringProblem(column: Int, row: Int, index: String, count: Int) -> String {
        "cell \(CellReference.letters(forColumn: column))\(row) refers to shared string \"\(index.prefix(40))\", but the workbook has \(count)"
    }
}
