import Foundation
import SpreadsheetReading
import Testing
import TestSupport

/// Workbooks as other writers produce them: xlsxwriter and openpyxl run from the tests (Debian's
/// python3-xlsxwriter and python3-openpyxl), and packages laid out as the specification allows
/// but faqsync's own writer never does.
@Suite("reading as Office does")
struct OfficeFidelityTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("fidelity") }

    /// Debian's Python, where apt installs python3-xlsxwriter and python3-openpyxl (a `python3`
    /// earlier on PATH, from pyenv say, does not see them).
    static let debianPython = "/usr/bin/python3"

    static var hasPythonWriters: Bool {
        (try? CLIProcess.runTool(Self.debianPython, ["-c", "import xlsxwriter, openpyxl"]).status) == 0
    }

    /// Runs a Python script with the output path as its argument.
    func python(_ script: String, writing name: String) throws -> URL {
        let url = directory.file(name)
        let result = try CLIProcess.runTool(Self.debianPython, ["-c", script, url.path])
        #expect(result.status == 0, "\(result.stderr)")
        return url
    }

    static let header = "['category', 'subcategory', 'question', 'answer', 'note']"

    // MARK: ST_Xstring escapes

    @Test(.enabled(if: hasPythonWriters, "needs python3-xlsxwriter and python3-openpyxl (scripts/install-deps.sh)"))
    func xlsxwriterEscapesAreDecodedAsExcelDoes() throws {
        let url = try python("""
            import sys, xlsxwriter
            book = xlsxwriter.Workbook(sys.argv[1])
            sheet = book.add_worksheet('FAQ')
            sheet.write_row(0, 0, \(Self.header))
            sheet.write_row(1, 0, ['Cards', 'Limits', 'Literal _x0041_ text?', 'Line one\\r\\nLine two', 'bell \\x07 here'])
            sheet.write_row(2, 0, ['Cards', 'Limits', 'Second _x005F_ question?', 'Tab\\there', '_x00e9_ stays'])
            book.close()
            """, writing: "xlsxwriter.xlsx")
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.map(\.question) == ["Literal _x0041_ text?", "Second _x005F_ question?"])
        #expect(table.rows.map(\.answer) == ["Line one\nLine two", "Tab\there"])
        #expect(table.rows.map { $0.metadata.first?.value } == ["bell \u{7} here", "_x00e9_ stays"])

        // The raw package really carries the escapes (so this test can fail).
        let raw = try CLIProcess.runTool(Self.debianPython, ["-c",
            "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('xl/sharedStrings.xml').decode())", url.path])
        #expect(raw.stdout.contains("_x005F_x0041_") && raw.stdout.contains("_x000D_"), "\(raw.stdout)")
    }

    @Test(.enabled(if: hasPythonWriters, "needs python3-openpyxl"))
    func faqsyncReadsWhatOpenpyxlReads() throws {
        // openpyxl as the reference reader of a file xlsxwriter wrote, cell for cell.
        let url = try python("""
            import sys, xlsxwriter
            book = xlsxwriter.Workbook(sys.argv[1])
            sheet = book.add_worksheet('FAQ')
            sheet.write_row(0, 0, \(Self.header))
            sheet.write_row(1, 0, ['Карты', 'Портмоне 2.0', 'Literal _x0041_ text?', 'Ответ «ЧЕРЕПАХА»', 'x_y'])
            sheet.write_row(2, 0, ['Карты', 'Лимиты', 'Как выглядит _x0041_ в тексте?', 'Второй', '_x'])
            book.close()
            """, writing: "reference.xlsx")
        let reference = try CLIProcess.runTool(Self.debianPython, ["-c", """
            import sys, json, openpyxl
            sheet = openpyxl.load_workbook(sys.argv[1]).active
            print(json.dumps([[c if c is not None else '' for c in row] for row in sheet.iter_rows(min_row=2, values_only=True)]))
            """, url.path])
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(reference.stdout.utf8)) as? [[String]])
        let table = try SpreadsheetReader().read(url)
        let read = table.rows.map { [$0.category, $0.subcategory, $0.question, $0.answer, $0.metadata.first?.value ?? ""] }
        #expect(read == expected)
    }

    // MARK: Dates

    @Test(.enabled(if: hasPythonWriters, "needs python3-xlsxwriter"))
    func the1904DateSystemIsHonoured() throws {
        let url = try python("""
            import sys, datetime, xlsxwriter
            book = xlsxwriter.Workbook(sys.argv[1], {'date_1904': True})
            sheet = book.add_worksheet('FAQ')
            sheet.write_row(0, 0, \(Self.header))
            sheet.write_row(1, 0, ['Cards', 'Limits', 'When?', 'Soon.'])
            sheet.write_datetime(1, 4, datetime.datetime(2024, 3, 1), book.add_format({'num_format': 'yyyy-mm-dd'}))
            book.close()
            """, writing: "dates-1904.xlsx")
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.first?.metadata.first?.value == "2024-03-01")
    }

    // MARK: Package relationships

    /// A workbook whose parts live where only the relationships say: `book/main.xml`, a sheet at
    /// `book/pages/one.xml`, shared strings at `book/text.xml`, in the Strict namespaces.
    static func relocatedPackage(strict: Bool, packageRelationships: Bool) -> [(path: String, data: Data)] {
        let main = strict ? "http://purl.oclc.org/ooxml/spreadsheetml/main" : "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        let relationships = strict ? "http://purl.oclc.org/ooxml/officeDocument/relationships" : "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        let strings = ["category", "subcategory", "question", "answer", "Cards", "Limits", "Where is it _x0028_strict_x0029_?", "Here."]
        func cell(_ reference: String, _ index: Int) -> String { "<c r=\"\(reference)\" t=\"s\"><v>\(index)</v></c>" }
        let sheet = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"\(main)\"><sheetData>"
            + "<row r=\"1\">" + cell("A1", 0) + cell("B1", 1) + cell("C1", 2) + cell("D1", 3) + "</row>"
            + "<row r=\"2\">" + cell("A2", 4) + cell("B2", 5) + cell("C2", 6) + cell("D2", 7) + "</row>"
            + "</sheetData></worksheet>"
        let sst = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"\(main)\" count=\"8\" uniqueCount=\"8\">"
            + strings.map { "<si><t>\($0)</t></si>" }.joined() + "</sst>"
        let workbook = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"\(main)\" xmlns:r=\"\(relationships)\">"
            + "<sheets><sheet name=\"Ответы\" sheetId=\"1\" r:id=\"rIdSheet\"/></sheets></workbook>"
        let workbookRels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            + "<Relationship Id=\"rIdSheet\" Type=\"\(relationships)/worksheet\" Target=\"pages/one.xml\"/>"
            + "<Relationship Id=\"rIdText\" Type=\"\(relationships)/sharedStrings\" Target=\"/book/text.xml\"/></Relationships>"
        let rootRels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            + "<Relationship Id=\"rId1\" Type=\"\(relationships)/officeDocument\" Target=\"book/main.xml\"/></Relationships>"
        let contentTypes = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
            + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
            + "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
            + "<Override PartName=\"/book/main.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
            + "</Types>"
        var parts: [(path: String, data: Data)] = [("[Content_Types].xml", Data(contentTypes.utf8))]
        if packageRelationships { parts.append(("_rels/.rels", Data(rootRels.utf8))) }
        parts += [("book/main.xml", Data(workbook.utf8)), ("book/_rels/main.xml.rels", Data(workbookRels.utf8)),
                  ("book/pages/one.xml", Data(sheet.utf8)), ("book/text.xml", Data(sst.utf8))]
        return parts
    }

    @Test(arguments: [false, true])
    func partsAreFoundThroughTheRelationships(strict: Bool) throws {
        let url = directory.file("relocated-\(strict).xlsx")
        try XLSXWriter.writePackage(Self.relocatedPackage(strict: strict, packageRelationships: true), to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.sheetName == "Ответы")
        #expect(table.rows.map(\.question) == ["Where is it (strict)?"])
    }

    @Test func withoutPackageRelationshipsTheContentTypesNameTheWorkbook() throws {
        let url = directory.file("content-types.xlsx")
        try XLSXWriter.writePackage(Self.relocatedPackage(strict: false, packageRelationships: false), to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.map(\.answer) == ["Here."])
    }

    // MARK: What other programs write (a public test suite's workbooks, read as a reference reader does)

    /// The standard layout (xl/workbook.xml, xl/worksheets/sheet1.xml, xl/sharedStrings.xml) with
    /// this sheet data, these shared strings, and the zip entry names passed through `entryName`.
    static func package(rows: String, strings: [String], entryName: (String) -> String = { $0 }) -> [(path: String, data: Data)] {
        let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        let relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        let sheet = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"\(main)\"><sheetData>\(rows)</sheetData></worksheet>"
        let sst = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"\(main)\">" + strings.map { "<si><t>\($0)</t></si>" }.joined() + "</sst>"
        let workbook = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"\(main)\" xmlns:r=\"\(relationships)\">"
            + "<sheets><sheet name=\"FAQ\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
        let workbookRels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            + "<Relationship Id=\"rId1\" Type=\"\(relationships)/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
            + "<Relationship Id=\"rId2\" Type=\"\(relationships)/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>"
        let rootRels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            + "<Relationship Id=\"rId1\" Type=\"\(relationships)/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
        let contentTypes = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
            + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
            + "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>"
        return [("[Content_Types].xml", contentTypes), ("_rels/.rels", rootRels), ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", workbookRels), ("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", sst)]
            .map { (entryName($0.0), Data($0.1.utf8)) }
    }

    static let headerRow = "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c><c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c></row>"
    static let headerStrings = ["category", "subcategory", "question", "answer"]

    func read(_ parts: [(path: String, data: Data)], _ name: String) throws -> FAQTable {
        let url = directory.file(name)
        try XLSXWriter.writePackage(parts, to: url)
        return try SpreadsheetReader().read(url)
    }

    static let dataRow = "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>4</v></c><c r=\"B2\" t=\"s\"><v>5</v></c><c r=\"C2\" t=\"s\"><v>6</v></c><c r=\"D2\" t=\"s\"><v>7</v></c></row>"
    static let dataStrings = headerStrings + ["Cards", "Limits", "How do I raise my limit?", "In the app."]

    /// Package part names are compared without regard to case: a relationship to
    /// `sharedStrings.xml` finds `xl/SharedStrings.xml`, one to `worksheets/sheet1.xml` finds `XL/Worksheets/Sheet1.xml`.
    @Test func partNamesDifferingOnlyInCaseAreTheSamePart() throws {
        let table = try read(Self.package(rows: Self.headerRow + Self.dataRow, strings: Self.dataStrings) { name in
            switch name {
            case "xl/sharedStrings.xml": "xl/SharedStrings.xml"
            case "xl/worksheets/sheet1.xml": "XL/Worksheets/Sheet1.xml"
            default: name
            }
        }, "case.xlsx")
        #expect(table.rows.map(\.question) == ["How do I raise my limit?"])
    }

    /// Some Windows tools write zip entry names with backslashes (`xl\workbook.xml`).
    @Test func zipEntriesWithBackslashesAreFound() throws {
        let table = try read(Self.package(rows: Self.headerRow + Self.dataRow, strings: Self.dataStrings) {
            $0.replacingOccurrences(of: "/", with: "\\")
        }, "backslashes.xlsx")
        #expect(table.rows.map(\.answer) == ["In the app."])
    }

    /// `s=""` is the default style, not an error.
    @Test func anEmptyStyleAttributeIsTheDefaultStyle() throws {
        let row = "<row r=\"2\"><c r=\"A2\" t=\"s\" s=\"\"><v>4</v></c><c r=\"B2\" t=\"s\"><v>5</v></c><c r=\"C2\" t=\"s\"><v>6</v></c>"
            + "<c r=\"D2\" t=\"s\"><v>7</v></c><c r=\"E2\" s=\"\"><v>42</v></c></row>"
        let table = try read(Self.package(rows: Self.headerRow.replacingOccurrences(of: "</row>", with: "<c r=\"E1\" t=\"s\"><v>8</v></c></row>") + row,
                                          strings: Self.dataStrings + ["note"]), "empty-style.xlsx")
        #expect(table.rows.first?.category == "Cards")
        #expect(table.rows.first?.metadata.first { $0.name == "note" }?.value == "42")
    }

    /// `_x000D_` followed by a line break is Windows' CR LF: one line break, not two.
    @Test func anEscapedCarriageReturnBeforeALineBreakIsOneLineBreak() throws {
        var strings = Self.dataStrings
        strings[7] = "First line._x000D_\nSecond line."
        let table = try read(Self.package(rows: Self.headerRow + Self.dataRow, strings: strings), "crlf.xlsx")
        #expect(table.rows.first?.answer == "First line.\nSecond line.")
    }

    /// A cell typed `inlineStr` that carries its text in `<v>` rather than `<is>`.
    @Test func anInlineStringCellWithAValueElementIsRead() throws {
        let row = "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><v>Cards</v></c><c r=\"B2\" t=\"inlineStr\"><v>Limits</v></c>"
            + "<c r=\"C2\" t=\"inlineStr\"><v>Inline question?</v></c><c r=\"D2\" t=\"inlineStr\"><is><t>Inline answer.</t></is></c></row>"
        let table = try read(Self.package(rows: Self.headerRow + row, strings: Self.headerStrings), "inline-v.xlsx")
        #expect(table.rows.map(\.question) == ["Inline question?"])
        #expect(table.rows.map(\.answer) == ["Inline answer."])
    }

    // MARK: Files that are not xlsx

    @Test func aPasswordProtectedWorkbookSaysToRemoveThePassword() throws {
        let url = directory.file("protected.xlsx")
        try CompoundFile.withStreams(["EncryptionInfo", "EncryptedPackage"]).write(to: url)
        #expect { try SpreadsheetReader().read(url) } throws: { error in
            guard let error = error as? SpreadsheetError else { return false }
            return error.code == .passwordProtected && error.remedy.contains("remove the password") && !error.mayBeIncompleteSave
        }
    }

    @Test func aLegacyXLSFileSaysToSaveAsXLSX() throws {
        let url = directory.file("old.xlsx")
        try CompoundFile.withStreams(["Workbook", "\u{5}SummaryInformation"]).write(to: url)
        #expect { try SpreadsheetReader().read(url) } throws: { error in
            guard let error = error as? SpreadsheetError else { return false }
            return error.code == .legacyFormat && error.message.contains(".xls") && error.remedy.contains(".xlsx")
        }
    }
}
