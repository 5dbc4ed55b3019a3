/// Scans one worksheet part into raw rows, cell values resolved to the text the editor sees.
struct WorksheetParser {
    let sharedStrings: [String]
    let dateStyles: Set<Int>
    let uses1904Dates: Bool
    let maxCells: Int
    let file: String

    struct Result {
        var rows: [RawRow] = []
        var merges: [MergedRange] = []
        var cellCount = 0
    }

    private enum CellType { case number, sharedString, inlineString, formulaString, boolean, error, isoDate }

    func parse(_ bytes: [UInt8], part: String) throws -> Result {
        var parser = XMLPullParser(bytes: bytes, partName: part)
        var result = Result()

        var rowNumber = 0
        var cells: [String?] = []
        var column = -1
        var cellType = CellType.number
        var cellStyle = 0
        var value = ""
        var collecting = false          // inside <v> or an inline <t>
        var inInlineString = false
        var phoneticDepth = 0
        var hasValue = false

        do {
            while let token = try parser.next() {
                switch token {
                case .start(let tag):
                    if parser.equals(tag.localName, "c") {
                        result.cellCount += 1
                        if result.cellCount > maxCells { throw tooManyCells(part: part) }
                        column = parser.attributeRange("r", of: tag).flatMap { CellReference.column(in: parser.bytes[$0]) } ?? (column + 1)
                        cellType = Self.cellType(parser, tag)
                        cellStyle = parser.attributeRange("s", of: tag).flatMap { Self.integer(parser.bytes[$0]) } ?? 0
                        value = ""
                        hasValue = false
                        if tag.selfClosing { column = max(column, 0) }
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
                        rowNumber = parser.attributeRange("r", of: tag).flatMap { Self.integer(parser.bytes[$0]) } ?? (rowNumber + 1)
                        cells.removeAll(keepingCapacity: true)
                        column = -1
                        if tag.selfClosing { continue }
                    } else if parser.equals(tag.localName, "mergeCell"),
                              let reference = try parser.attribute("ref", of: tag),
                              let merge = CellReference.range(reference) {
                        result.merges.append(merge)
                    }
                case .end(let name):
                    if parser.equals(name, "v") || parser.equals(name, "t") {
                        collecting = false
                    } else if parser.equals(name, "is") {
                        inInlineString = false
                    } else if parser.equals(name, "rPh") {
                        phoneticDepth -= 1
                    } else if parser.equals(name, "c") {
                        guard hasValue, column >= 0 else { continue }
                        let text = resolve(value, type: cellType, style: cellStyle)
                        if column >= cells.count { cells.append(contentsOf: repeatElement(nil, count: column - cells.count + 1)) }
                        cells[column] = text
                    } else if parser.equals(name, "row") {
                        if cells.contains(where: { $0 != nil }) {
                            result.rows.append(RawRow(number: rowNumber, cells: cells))
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

    private func resolve(_ raw: String, type: CellType, style: Int) -> String? {
        switch type {
        case .sharedString:
            guard let index = Int(raw), index >= 0, index < sharedStrings.count else { return nil }
            return sharedStrings[index]
        case .inlineString, .formulaString, .error, .isoDate:
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

    static func integer(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private func tooManyCells(part: String) -> SpreadsheetError {
        SpreadsheetError(
            code: .limitExceeded, file: file,
            message: "\(part) has more than \(maxCells) cells, beyond the reading limit",
            remedy: "Delete unused formatted rows and columns (select them, Delete Rows/Columns) and save again.")
    }
}

/// A1-style cell references.
enum CellReference {
    /// The 0-based column of a reference such as `AB12`.
    static func column<Bytes: Collection>(in reference: Bytes) -> Int? where Bytes.Element == UInt8 {
        var column = 0
        var letters = 0
        for byte in reference {
            let upper = byte & 0xDF
            guard upper >= 0x41, upper <= 0x5A else { break }
            column = column * 26 + Int(upper - 0x40)
            letters += 1
        }
        return letters == 0 ? nil : column - 1
    }

    static func row(in reference: String) -> Int? {
        Int(String(reference.drop(while: { $0.isLetter || $0 == "$" }).filter { $0 != "$" }))
    }

    static func range(_ reference: String) -> MergedRange? {
        let ends = reference.split(separator: ":").map { String($0).replacingOccurrences(of: "$", with: "") }
        guard ends.count == 2,
              let firstColumn = column(in: Array(ends[0].utf8)), let lastColumn = column(in: Array(ends[1].utf8)),
              let firstRow = row(in: ends[0]), let lastRow = row(in: ends[1]),
              firstRow <= lastRow, firstColumn <= lastColumn else { return nil }
        return MergedRange(rows: firstRow...lastRow, columns: firstColumn...lastColumn)
    }

    /// `0` → `A`, `27` → `AB`.
    static func letters(forColumn index: Int) -> String {
        var result = ""
        var remaining = index + 1
        while remaining > 0 {
            let digit = (remaining - 1) % 26
            result = String(UnicodeScalar(UInt8(65 + digit))) + result
            remaining = (remaining - 1) / 26
        }
        return result
    }
}
