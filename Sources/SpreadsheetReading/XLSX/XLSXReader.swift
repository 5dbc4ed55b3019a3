import Foundation
import PathNames
import SystemIO

/// Reads the FAQ sheet of an xlsx workbook.
struct XLSXReader {
    let package: any PackageParts
    let file: String
    let aliases: ColumnAliases
    let sheetName: String?
    let limits: ReadLimits

    /// The worksheets in workbook order and a parser for them.
    private struct OpenedWorkbook {
        let worksheets: [(name: String, path: String)]
        let sheetParser: WorksheetParser
    }

    /// Every sheet as faqsync sees it (`faqsync inspect`).
    func inspect(maxRows: Int) throws -> SpreadsheetInspection {
        let workbook = try open()
        let inspector = SheetInspector(builder: builder, aliases: aliases, maxRows: maxRows)
        var sheets: [SheetInspection] = []
        for sheet in workbook.worksheets {
            let scanned = try scan(sheet, in: workbook)
            sheets.append(inspector.inspect(name: sheet.name, rows: scanned.rows, merges: scanned.merges))
        }
        return SpreadsheetInspection(file: file, sheets: sheets)
    }

    private var builder: FAQTableBuilder {
        FAQTableBuilder(file: file, format: .xlsx, aliases: aliases, columnLabel: CellReference.letters(forColumn:))
    }

    /// One worksheet's rows, in row order (Excel writes them ascending; a file that does not is
    /// read in that order anyway), with its merges and cell count.
    private func scan(_ sheet: (name: String, path: String), in workbook: OpenedWorkbook) throws -> WorksheetParser.Result {
        Self.inRowOrder(try workbook.sheetParser.parse(try sheetBytes(sheet), part: sheet.path))
    }

    private func sheetBytes(_ sheet: (name: String, path: String)) throws -> [UInt8] {
        guard let bytes = try package.part(sheet.path) else {
            throw notAWorkbook("the sheet '\(sheet.name)' points at \(sheet.path), which is missing")
        }
        return bytes
    }

    private static func inRowOrder(_ scanned: WorksheetParser.Result) -> WorksheetParser.Result {
        var scanned = scanned
        scanned.rows = scanned.rows.enumerated().sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }.map(\.element)
        return scanned
    }

    /// The shared strings and the first sheet `read` looks at, the two largest parts, parsed at
    /// once on two threads: the sheet's cells keep their shared-string indexes until both are
    /// done. Both parts are inflated first, in the order `open` takes them, so the package's
    /// budget of inflated bytes counts as it always did; a failure of the shared strings is
    /// reported first, as when they were parsed first.
    private func openBesideFirstSheet(_ sheet: (name: String, path: String), index: WorkbookIndex) throws
        -> (workbook: OpenedWorkbook, firstSheet: WorksheetParser.Result) {
        let sharedStringBytes = try package.part(index.sharedStringsPath)
        let dateStyles = try self.dateStyles(index)
        let bytes = try sheetBytes(sheet)
        let file = self.file, maxDepth = limits.maxXMLDepth, stringsPart = index.sharedStringsPath
        let deferred = WorksheetParser(sharedStrings: nil, dateStyles: dateStyles, uses1904Dates: index.uses1904Dates, limits: limits, file: file)
        let (strings, scanned) = bothAtOnce({ try Self.sharedStrings(sharedStringBytes, part: stringsPart, maxDepth: maxDepth, file: file) },
                                            { try deferred.parse(bytes, part: sheet.path) })
        let sharedStrings = try strings.get()
        var firstSheet = try scanned.get()
        try firstSheet.resolveSharedStrings(sharedStrings, part: sheet.path, file: file)
        let sheetParser = WorksheetParser(sharedStrings: sharedStrings, dateStyles: dateStyles,
                                          uses1904Dates: index.uses1904Dates, limits: limits, file: file)
        return (OpenedWorkbook(worksheets: index.worksheets, sheetParser: sheetParser), Self.inRowOrder(firstSheet))
    }

    func read() throws -> FAQTable {
        let index = try workbookIndex()
        let worksheets = index.worksheets
        let candidates: [(name: String, path: String)]
        if let sheetName {
            guard let named = worksheets.first(where: { $0.name == sheetName })
                    ?? worksheets.first(where: { $0.name.lowercased() == sheetName.lowercased() }) else {
                throw SpreadsheetError(
                    code: .sheetNotFound, file: file,
                    message: "there is no sheet named '\(sheetName)' (FAQ_SHEET); the sheets are: \(worksheets.map { "'\($0.name)'" }.joined(separator: ", "))",
                    remedy: "Set FAQ_SHEET to one of those names, or unset it to use the first sheet with FAQ columns.")
            }
            candidates = [named]
        } else {
            // A checks sheet («Проверка», Checks) has a question column too; it is never the FAQ.
            candidates = worksheets.filter { !CheckSheet.isCheckSheet($0.name) }
        }

        let builder = self.builder
        var seen: [(sheet: String, firstRow: [String])] = []
        guard let first = candidates.first else { throw SpreadsheetError.headerNotFound(file: file, aliases: aliases, seen: seen) }
        let (workbook, firstSheet) = try openBesideFirstSheet(first, index: index)
        for (position, sheet) in candidates.enumerated() {
            let scanned = position == 0 ? firstSheet : try scan(sheet, in: workbook)
            let rows = scanned.rows
            if let header = builder.findHeader(in: rows) {
                return try builder.build(rows: rows, merges: scanned.merges, header: header,
                                         sheetName: sheet.name, cellsScanned: scanned.cellCount)
            }
            seen.append((sheet.name, builder.firstNonEmptyRow(in: rows)))
        }
        throw SpreadsheetError.headerNotFound(file: file, aliases: aliases, seen: seen)
    }

    /// The FAQ team's checks sheet (`CheckSheet.sheetNames`), nil when the workbook has none.
    /// The workbook's index is read first: most workbooks have no checks sheet, and then the
    /// shared strings (the largest part after the FAQ sheet) are not parsed a second time.
    func checkSheet() throws -> CheckSheet? {
        let index = try workbookIndex()
        guard let sheet = index.worksheets.first(where: { CheckSheet.isCheckSheet($0.name) }) else { return nil }
        let workbook = try open(index)
        let scanned = try scan(sheet, in: workbook)
        return CheckSheet.from(rows: scanned.rows, file: file, sheet: sheet.name)
    }

    /// The worksheets in workbook order, and where the parts every sheet needs are.
    private struct WorkbookIndex {
        let worksheets: [(name: String, path: String)]
        let sharedStringsPath: String
        let stylesPath: String
        let uses1904Dates: Bool
    }

    /// Finds the workbook and its sheets through the package.
    private func workbookIndex() throws -> WorkbookIndex {
        let workbookPath = try officeDocumentPath(package)
        let workbookDirectory = PathName.directory(of: workbookPath)
        guard let workbookBytes = try package.part(workbookPath) else {
            throw notAWorkbook("it has no \(workbookPath)")
        }
        let workbook = try parse { try WorkbookParts.workbook(workbookBytes, part: workbookPath, maxDepth: limits.maxXMLDepth) }
        let relationshipsPath = WorkbookParts.relationshipsPart(of: workbookPath)
        let relationships = try package.part(relationshipsPath).map { bytes in
            try parse { try WorkbookParts.relationships(bytes, part: relationshipsPath, maxDepth: limits.maxXMLDepth) }
        } ?? []
        func target(ofType suffix: String) -> String? {
            relationships.first { $0.type.hasSuffix(suffix) }.map { WorkbookParts.resolve($0.target, relativeTo: workbookDirectory) }
        }
        let worksheets: [(name: String, path: String)] = workbook.sheets.compactMap { sheet in
            guard let relationship = relationships.first(where: { $0.id == sheet.relationshipID }),
                  relationship.type.hasSuffix("/worksheet") else { return nil }
            return (sheet.name, WorkbookParts.resolve(relationship.target, relativeTo: workbookDirectory))
        }
        guard !worksheets.isEmpty else { throw notAWorkbook("it has no worksheets") }
        return WorkbookIndex(worksheets: worksheets,
                             sharedStringsPath: target(ofType: "/sharedStrings") ?? WorkbookParts.resolve("sharedStrings.xml", relativeTo: workbookDirectory),
                             stylesPath: target(ofType: "/styles") ?? WorkbookParts.resolve("styles.xml", relativeTo: workbookDirectory),
                             uses1904Dates: workbook.uses1904Dates)
    }

    /// The workbook with the shared strings and the date styles every sheet needs.
    private func open() throws -> OpenedWorkbook {
        try open(try workbookIndex())
    }

    private func open(_ index: WorkbookIndex) throws -> OpenedWorkbook {
        let sharedStrings = try Self.sharedStrings(try package.part(index.sharedStringsPath), part: index.sharedStringsPath,
                                                   maxDepth: limits.maxXMLDepth, file: file)
        let dateStyles = try self.dateStyles(index)
        let sheetParser = WorksheetParser(sharedStrings: sharedStrings, dateStyles: dateStyles,
                                          uses1904Dates: index.uses1904Dates, limits: limits, file: file)
        return OpenedWorkbook(worksheets: index.worksheets, sheetParser: sheetParser)
    }

    /// The workbook's shared strings (none without the part).
    private static func sharedStrings(_ bytes: [UInt8]?, part: String, maxDepth: Int, file: String) throws -> [String] {
        guard let bytes else { return [] }
        do { return try WorkbookParts.sharedStrings(bytes, part: part, maxDepth: maxDepth) } catch let error as XMLError {
            throw spreadsheetError(error, file: file)
        }
    }

    private func dateStyles(_ index: WorkbookIndex) throws -> Set<Int> {
        try package.part(index.stylesPath).map { bytes in
            try parse { try WorkbookParts.dateStyles(bytes, part: index.stylesPath, maxDepth: limits.maxXMLDepth) }
        } ?? []
    }

    /// The workbook part, found as the specification says: the package relationship of type
    /// officeDocument (transitional or strict), else the part whose content type is a workbook's.
    private func officeDocumentPath(_ package: any PackageParts) throws -> String {
        if let bytes = try package.part("_rels/.rels") {
            let relationships = try parse { try WorkbookParts.relationships(bytes, part: "_rels/.rels", maxDepth: limits.maxXMLDepth) }
            if let main = relationships.first(where: { $0.type.hasSuffix("/officeDocument") }) {
                return WorkbookParts.resolve(main.target, relativeTo: "")
            }
        }
        // No package relationships: the content types name the workbook part.
        if let bytes = try package.part("[Content_Types].xml"),
           let main = try parse({ try WorkbookParts.workbookPartFromContentTypes(bytes, maxDepth: limits.maxXMLDepth) }) {
            return main
        }
        if package.contains("xl/workbook.xml") { return "xl/workbook.xml" }
        throw notAWorkbook("it is a zip archive without a workbook (no officeDocument relationship, no workbook content type, no xl/workbook.xml)")
    }

    private func parse<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as XMLError { throw Self.spreadsheetError(error, file: file) }
    }

    private func notAWorkbook(_ detail: String) -> SpreadsheetError {
        SpreadsheetError(code: .notAWorkbook, file: file, message: "the file is not an xlsx workbook: \(detail)",
                         remedy: "Save the FAQ as an Excel workbook (.xlsx) and point FAQ_PATH at it.")
    }

    static func spreadsheetError(_ error: XMLError, file: String) -> SpreadsheetError {
        switch error.reason {
        case .truncated:
            SpreadsheetError(code: .truncated, file: file, part: error.part, message: error.explanation,
                             remedy: "Save the spreadsheet again from Excel or LibreOffice.")
        case .doctypeForbidden, .entityForbidden:
            SpreadsheetError(code: .forbiddenXML, file: file, part: error.part, message: error.explanation,
                             remedy: "Re-save the workbook from Excel or LibreOffice; files they write never contain these.")
        case .malformed:
            SpreadsheetError(code: .malformedXML, file: file, part: error.part, message: error.explanation,
                             remedy: "Re-save the workbook from Excel or LibreOffice.")
        case .tooDeep:
            SpreadsheetError(code: .limitExceeded, file: file, part: error.part, message: error.explanation,
                             remedy: "The file was not written by Excel or LibreOffice; re-save the workbook from one of them.")
        }
    }
}

extension SpreadsheetError {
    static func headerNotFound(file: String, aliases: ColumnAliases, seen: [(sheet: String, firstRow: [String])]) -> SpreadsheetError {
        let expected = FAQField.required.map { field in
            "\(field.rawValue) (\((aliases.names[field] ?? []).prefix(2).map { "'\($0)'" }.joined(separator: " or ")))"
        }.joined(separator: ", ")
        let found = seen.map { entry in
            let cells = entry.firstRow.isEmpty ? "nothing" : entry.firstRow.prefix(12).map { "'\($0)'" }.joined(separator: ", ")
            return entry.sheet.isEmpty ? cells : "sheet '\(entry.sheet)': \(cells)"
        }.joined(separator: "; ")
        var error = SpreadsheetError(
            code: .headerNotFound, file: file,
            message: "no header row in the first \(FAQTableBuilder.headerSearchDepth) rows has the required columns \(expected); found \(found.isEmpty ? "no content" : found)",
            remedy: "Rename the header cells, or map your names with FAQ_COLUMN_CATEGORY, FAQ_COLUMN_SUBCATEGORY, FAQ_COLUMN_QUESTION, FAQ_COLUMN_ANSWER.")
        // What an editor needs: which of the team's column names the first row lacks, and what it has.
        let firstRow = seen.first?.firstRow ?? []
        error.missingColumns = FAQField.required.filter { field in !firstRow.contains { aliases.field(forHeader: $0) == field } }.map { field in
            let name = aliases.names[field]?.first ?? field.rawValue
            return name.prefix(1).uppercased() + name.dropFirst()
        }
        error.foundHeaders = Array(firstRow.prefix(12))
        return error
    }
}
