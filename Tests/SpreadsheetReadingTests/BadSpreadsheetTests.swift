import Foundation
import Testing
import TestSupport
@testable import SpreadsheetReading

/// Every bad file gets an error that names the file (and row and column where they apply) and
/// says what to do. That the store is left untouched is checked in the sync tests.
@Suite("bad spreadsheets")
struct BadSpreadsheetTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("bad-sheets") }

    func error(reading url: URL, limits: ReadLimits = ReadLimits()) throws -> SpreadsheetError {
        do {
            _ = try SpreadsheetReader(limits: limits).read(url)
        } catch let error as SpreadsheetError {
            #expect(error.description.hasPrefix(url.path), "the message names the file")
            return error
        }
        Issue.record("reading \(url.lastPathComponent) succeeded")
        throw CancellationError()
    }

    func package(replacing part: String, with text: String) throws -> URL {
        let base = XLSXWriter.table([["category", "subcategory", "question", "answer"], ["c", "s", "q", "a"]])
        let parts = try base.parts().map { $0.path == part ? (path: $0.path, data: Data(text.utf8)) : $0 }
        let url = directory.file("replaced-\(UUID().uuidString.prefix(6)).xlsx")
        try XLSXWriter.writePackage(parts, to: url)
        return url
    }

    @Test func missingFile() throws {
        let error = try error(reading: directory.file("nope.xlsx"))
        #expect(error.code == .fileNotFound)
        #expect(error.description.contains("FAQ_PATH"))
    }

    @Test func notAZip() throws {
        let url = directory.file("text.xlsx")
        try Data("Category,Question\n".utf8).write(to: url)
        let error = try error(reading: url)
        #expect(error.code == .notAZip)
        #expect(error.message.contains("not an xlsx workbook"))
    }

    @Test(arguments: [0.3, 0.6, 0.95])
    func truncatedXLSX(fraction: Double) throws {
        let bytes = try Data(contentsOf: Fixtures.faq)
        let url = directory.file("cut-\(fraction).xlsx")
        try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: url)
        let error = try error(reading: url)
        #expect(error.code == .truncated)
        #expect(error.mayBeIncompleteSave)
        #expect(error.remedy.contains("Save the spreadsheet again"))
    }

    @Test func truncatedSheetXMLInsideAValidZip() throws {
        let url = try package(replacing: "xl/worksheets/sheet1.xml", with:
            #"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>category</t></is></c>"#)
        let error = try error(reading: url)
        #expect(error.code == .truncated)
        #expect(error.message.contains("xl/worksheets/sheet1.xml"))
    }

    @Test func zipBombIsStoppedAtTheLimitWhileInflating() throws {
        // 64 MiB of whitespace inside the sheet compresses to well under 100 KiB.
        let padding = String(repeating: " ", count: 64 << 20)
        let url = try package(replacing: "xl/worksheets/sheet1.xml", with: "<worksheet><sheetData>\(padding)</sheetData></worksheet>")
        let compressedSize = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        #expect(compressedSize < (1 << 20))
        let error = try error(reading: url, limits: ReadLimits(maxPartBytes: 8 << 20))
        #expect(error.code == .zipBomb)
        #expect(error.part == "xl/worksheets/sheet1.xml")
        #expect(error.message.contains("inflates to more than 8 MiB"))
    }

    @Test func tooManyCells() throws {
        let rows = [["category", "subcategory", "question", "answer"]] + (0..<100).map { ["c", "s", "q\($0)", "a"] }
        let url = directory.file("many.xlsx")
        try XLSXWriter.table(rows).write(to: url)
        let error = try error(reading: url, limits: ReadLimits(maxCells: 200))
        #expect(error.code == .limitExceeded)
        #expect(error.message.contains("more than 200 cells"))
    }

    @Test func doctypeAndEntitiesAreRefused() throws {
        let billionLaughs = #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><sst><si><t>&lol2;</t></si></sst>"#
        let doctype = try error(reading: try package(replacing: "xl/sharedStrings.xml", with: billionLaughs))
        #expect(doctype.code == .forbiddenXML)
        #expect(doctype.message.contains("DOCTYPE"))

        let undeclared = #"<?xml version="1.0"?><sst><si><t>&xxe;</t></si></sst>"#
        let entity = try error(reading: try package(replacing: "xl/sharedStrings.xml", with: undeclared))
        #expect(entity.code == .forbiddenXML)
        #expect(entity.message.contains("&xxe;"))
    }

    @Test func noMatchingHeaderListsExpectedAndFound() throws {
        let url = directory.file("wrong-header.xlsx")
        try XLSXWriter.table([["Тема", "Текст"], ["a", "b"]]).write(to: url)
        let error = try error(reading: url)
        #expect(error.code == .headerNotFound)
        #expect(error.message.contains("'пример вопроса'"), "lists what was expected")
        #expect(error.message.contains("'Тема', 'Текст'"), "lists what was found")
        #expect(error.remedy.contains("FAQ_COLUMN_QUESTION"))
    }

    @Test func anEmptyQuestionSkipsItsRowAndNamesRowAndColumn() throws {
        let url = directory.file("empty-question.xlsx")
        try XLSXWriter.table([["Основная категория", "Подкатегория", "Пример вопроса", "Шаблонный ответ"],
                              ["c", "s", "q", "a"], ["c", "s", "  ", "an answer"], ["c", "s", "q2", ""]]).write(to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.map(\.question) == ["q"], "the good row is read")
        #expect(table.skippedRows.map(\.row) == [3, 4])
        #expect(table.skippedRows.map(\.code) == ["empty-question", "empty-answer"])
        #expect(table.skippedRows.map(\.column) == ["C (Пример вопроса)", "D (Шаблонный ответ)"])
        #expect(table.skippedRows[0].summary.hasPrefix("row 3, column C (Пример вопроса): the question is empty"))
        #expect(table.skippedRows[1].identityHint?.question == "q2", "the draft's identity is known, so a stored template is kept")
        #expect(table.skippedRows[0].identityHint == nil, "no question and no id: no identity to keep")
    }

    @Test func invalidUTF8InCSVNamesTheLine() throws {
        let url = directory.file("latin1.csv")
        var bytes = Array("category,subcategory,question,answer\nc,s,q,a\nc,s,".utf8)
        bytes += [0x43, 0x61, 0x66, 0xE9]  // "Café" in Latin-1
        bytes += Array(",a\n".utf8)
        try Data(bytes).write(to: url)
        let error = try error(reading: url)
        #expect(error.code == .invalidEncoding)
        #expect(error.row == 3)
        #expect(error.remedy.contains("UTF-8"))
    }
}

/// The files of the hostile-input issue: each is refused with its own code, naming the file and
/// the part, instead of trapping, hanging or allocating without bound.
@Suite("hostile spreadsheets")
struct HostileSpreadsheetTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("hostile") }

    @Test(arguments: HostileSpreadsheet.all)
    func isRefusedWithItsCode(_ hostile: HostileSpreadsheet) throws {
        let url = try hostile.write(to: directory.file(hostile.fileName))
        do {
            let table = try SpreadsheetReader().read(url)
            Issue.record("\(hostile.name) was read: \(table.rows.count) rows")
        } catch let error as SpreadsheetError {
            #expect(error.code.rawValue == hostile.expectedCode, "\(error)")
            #expect(error.message.contains(hostile.expectedMessage), "\(error)")
            #expect(error.description.hasPrefix(url.path))
            if hostile.fileExtension == "xlsx", error.code != .controlCharacter {
                #expect(error.part == "xl/worksheets/sheet1.xml", "\(error)")
            }
        }
    }

    @Test func aCellInColumnXFDIsReadNotRefused() throws {
        let url = directory.file("xfd.xlsx")
        try HostileSpreadsheet.cellInLastColumn().write(to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.map(\.question) == ["How to raise a limit?", "Second?"])
    }

    /// A NUL character is a problem of its row: the row is skipped with its row and column, the
    /// other rows are read.
    @Test(arguments: HostileSpreadsheet.rowLevel)
    func aNULSkipsItsRowAndNamesTheColumn(_ hostile: HostileSpreadsheet) throws {
        let url = try hostile.write(to: directory.file(hostile.fileName))
        let table = try SpreadsheetReader().read(url)
        let skipped = try #require(table.skippedRows.first)
        #expect(table.skippedRows.count == 1)
        #expect(skipped.code == hostile.expectedCode && skipped.message.contains(hostile.expectedMessage))
        #expect(skipped.row == (hostile.fileExtension == "xlsx" ? 3 : 2))
        #expect(skipped.column == (hostile.fileExtension == "xlsx" ? "C (question)" : "3 (question)"))
        #expect(!table.rows.contains { $0.question.contains("\u{0}") })
    }

    /// Only the rows that exist get a merged value, however far the range reaches.
    @Test func aMergeReachingFarBeyondTheRowsFillsOnlyTheRowsThatExist() throws {
        let xml = HostileSpreadsheet.sheetWithMerge("A2:A500000")
        let url = directory.file("long-merge.xlsx")
        try HostileSpreadsheet.package(sheetXML: Data(xml.utf8)).write(to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.map(\.category) == ["Cards", "Cards"])
        #expect(table.cellsScanned > 499_999)
    }

    @Test func nestingAtTheLimitIsRefusedBeforeItGrows() throws {
        let url = directory.file("nested.xlsx")
        try HostileSpreadsheet.deeplyNested(bytes: 1 << 20).write(to: url)
        do { _ = try SpreadsheetReader(limits: ReadLimits(maxXMLDepth: 64)).read(url) } catch let error as SpreadsheetError {
            #expect(error.code == .limitExceeded)
            #expect(error.message.contains("more than 64 deep"))
        }
    }

    @Test func aCSVLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
        let url = directory.file("big.csv")
        var text = "category,subcategory,question,answer\n"
        for index in 0..<20_000 { text += "c,s,question \(index),answer \(index)\n" }
        try Data(text.utf8).write(to: url)
        #expect(throws: SpreadsheetError.self) { try SpreadsheetReader(limits: ReadLimits(maxPartBytes: 64 << 10)).read(url) }
        do { _ = try SpreadsheetReader(limits: ReadLimits(maxPartBytes: 64 << 10)).read(url) } catch let error as SpreadsheetError {
            #expect(error.code == .limitExceeded)
            #expect(error.message.contains("larger than"))
        }
        #expect(try SpreadsheetReader().read(url).rows.count == 20_000)
    }

    @Test func csvQuotesAndLineBreaksSurviveChunkBoundaries() throws {
        // Fields that straddle the 1 MiB chunk boundary: a quoted field with "" and CRLF inside.
        var text = "category;subcategory;question;answer\r\n"
        let filler = String(repeating: "x", count: 1_000)
        var index = 0
        while text.utf8.count < CSVReader.chunkSize + 50_000 {
            text += "c;s;\"q \(index) \"\"quoted\"\"\r\nline\";\(filler)\r\n"
            index += 1
        }
        let url = directory.file("chunks.csv")
        try Data(text.utf8).write(to: url)
        let streamed = try SpreadsheetReader().read(url)
        let whole = try CSVReader(file: url.path, aliases: .standard, limits: ReadLimits()).read(Array(text.utf8))
        #expect(streamed.rows.count == index)
        #expect(streamed.rows == whole.rows)
        #expect(streamed.rows.allSatisfy { $0.question.hasSuffix("\"quoted\"\nline") })
    }
}
