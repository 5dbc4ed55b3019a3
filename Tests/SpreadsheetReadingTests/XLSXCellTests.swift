import Foundation
import Testing
import TestSupport
@testable import SpreadsheetReading

@Suite("xlsx cells, sheets and headers")
struct XLSXCellTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("xlsx-cells") }

    static let header: [XLSXWriter.Cell] = ["Основная категория", "Подкатегория", "Пример вопроса", "Шаблонный ответ"].map { .text($0) }

    func read(_ writer: XLSXWriter, sheet: String? = nil, aliases: ColumnAliases = .standard) throws -> FAQTable {
        let url = directory.file("book-\(UUID().uuidString.prefix(6)).xlsx")
        try writer.write(to: url)
        return try SpreadsheetReader(aliases: aliases, sheetName: sheet).read(url)
    }

    @Test(arguments: [XLSXWriter.StringStorage.shared, .inline])
    func sharedAndInlineStringsReadTheSame(storage: XLSXWriter.StringStorage) throws {
        let table = try read(.table([["Category", "Subcategory", "Question", "Answer"],
                                     ["Cards", "Limits", "  How to raise a limit? ", "In the app &  <Settings>.\nThen confirm."]],
                                    strings: storage))
        #expect(table.rows.count == 1)
        #expect(table.rows[0].question == "How to raise a limit?")
        #expect(table.rows[0].answer == "In the app &  <Settings>.\nThen confirm.")
    }

    /// A column listed twice keeps its later cell, whether that one refers to a shared string
    /// (looked up only after the sheet is parsed, beside the shared strings) or holds its text.
    @Test func aColumnListedTwiceKeepsItsLaterCellWhateverItHolds() throws {
        struct Unexpected: Error {}
        var row = RawRow(number: 3, unorderedCells: [
            RawCell(column: 2, text: "typed"), RawCell(column: 0, sharedString: 1, asWritten: "1"),
            RawCell(column: 2, sharedString: 0, asWritten: "0"), RawCell(column: 0, text: "later"),
        ])
        try row.resolveSharedStrings(["first", "second"]) { _ in Unexpected() }
        #expect(row.cells.map(\.column) == [0, 2])
        #expect(row[0] == "later" && row[2] == "first")
        #expect(row.cells.allSatisfy { $0.sharedString == nil })
    }

    @Test func richTextNumbersBooleansDatesAndFormulasReadAsShownText() throws {
        let rows: [[XLSXWriter.Cell]] = [
            Self.header + [.text("Срок"), .text("Активна"), .text("Дата"), .text("Сумма")],
            [.text("Карты"), .rich(["Лимиты ", "и ", "комиссии"]), .formula("CONCAT(\"Как\",\" быть?\")", cached: "Как быть?"),
             .text("Ответ"), .number("12"), .bool(true), .date(45352), .formulaNumber("A1*2", cached: "2.5")],
        ]
        let table = try read(XLSXWriter(sheets: [.init(name: "FAQ", rows: rows)]))
        let row = try #require(table.rows.first)
        #expect(row.subcategory == "Лимиты и комиссии", "rich-text runs concatenated, phonetic run left out")
        #expect(row.question == "Как быть?", "formula cell read by its cached value")
        #expect(row.metadata == [MetadataEntry(name: "Срок", value: "12"), MetadataEntry(name: "Активна", value: "TRUE"),
                                 MetadataEntry(name: "Дата", value: "2024-03-01"), MetadataEntry(name: "Сумма", value: "2.5")])
    }

    @Test func mergedCellsApplyToEveryRowTheyCover() throws {
        let rows: [[XLSXWriter.Cell]] = [
            Self.header,
            [.text("Вклады"), .text("Онлайн"), .text("Вопрос 1"), .text("Ответ 1")],
            [.absent, .absent, .text("Вопрос 2"), .text("Ответ 2")],
            [.absent, .text("Отделение"), .text("Вопрос 3"), .text("Ответ 3")],
        ]
        let table = try read(XLSXWriter(sheets: [.init(name: "FAQ", rows: rows, merges: ["A2:A4", "B2:B3"])]))
        #expect(table.rows.map(\.category) == ["Вклады", "Вклады", "Вклады"])
        #expect(table.rows.map(\.subcategory) == ["Онлайн", "Онлайн", "Отделение"])
    }

    @Test func formattedEmptyRowsAndColumnsAreSkipped() throws {
        var rows: [[XLSXWriter.Cell]] = [Self.header + Array(repeating: .formattedEmpty, count: 10)]
        rows.append([.text("A"), .text("B"), .text("Q"), .text("Ans")] + Array(repeating: .formattedEmpty, count: 10))
        rows += Array(repeating: Array(repeating: XLSXWriter.Cell.formattedEmpty, count: 14), count: 500)
        let table = try read(XLSXWriter(sheets: [.init(name: "FAQ", rows: rows)]))
        #expect(table.rows.count == 1)
        #expect(table.rows[0].metadata.isEmpty)
    }

    @Test func aTitleRowAndAnInstructionsSheetInFrontDoNotBreakTheRead() throws {
        let instructions = XLSXWriter.Sheet(name: "Instructions", rows: [[.text("Edit the FAQ sheet; one row per template.")]])
        let faq = XLSXWriter.Sheet(name: "FAQ", rows: [[.text("Bank FAQ, updated weekly")], [], Self.header,
                                                      [.text("C"), .text("S"), .text("Q"), .text("A")]], firstRowNumber: 1)
        let table = try read(XLSXWriter(sheets: [instructions, faq]))
        #expect(table.sheetName == "FAQ")
        #expect(table.headerRowNumber == 3)
        #expect(table.rows.map(\.rowNumber) == [4])
    }

    @Test func faqSheetSelectsTheNamedSheet() throws {
        let other = XLSXWriter.Sheet(name: "Old", rows: [Self.header, [.text("C"), .text("S"), .text("old"), .text("A")]])
        let current = XLSXWriter.Sheet(name: "Current", rows: [Self.header, [.text("C"), .text("S"), .text("new"), .text("A")]])
        #expect(try read(XLSXWriter(sheets: [other, current])).rows[0].question == "old")
        #expect(try read(XLSXWriter(sheets: [other, current]), sheet: "Current").rows[0].question == "new")
        #expect(throws: SpreadsheetError.self) { try read(XLSXWriter(sheets: [other, current]), sheet: "Missing") }
    }

    @Test func headersMatchCaseAndSpacingInsensitivelyAndConfiguredNames() throws {
        let table = try read(.table([["  CATEGORY ", "sub category", "Question", "ANSWER", "ID"], ["c", "s", "q", "a", "faq-1"]]),
                             aliases: { var a = ColumnAliases.standard; a.add("Sub Category", for: .subcategory); return a }())
        #expect(table.rows[0].id == "faq-1")
        #expect(table.rows[0].subcategory == "s")
        let german = try read(.table([["Kategorie", "Unterkategorie", "Frage", "Antwort"], ["c", "s", "q", "a"]]), aliases: {
            var a = ColumnAliases.standard
            a.add("Kategorie", for: .category); a.add("Unterkategorie", for: .subcategory)
            a.add("Frage", for: .question); a.add("Antwort", for: .answer)
            return a
        }())
        #expect(german.rows[0].answer == "a")
    }

    @Test func numberFormattingHelpers() {
        #expect(NumberFormatting.numberText("3.0") == "3")
        #expect(NumberFormatting.numberText("0.1") == "0.1")
        #expect(NumberFormatting.dateText("45352.5", uses1904Dates: false) == "2024-03-01 12:00:00")
        #expect(NumberFormatting.isDateFormat("dd/mm/yyyy"))
        #expect(!NumberFormatting.isDateFormat("#,##0.00"))
        #expect(!NumberFormatting.isDateFormat("\"days\" 0"))
        #expect(NumberFormatting.dateText("1", uses1904Dates: true) == "1904-01-02")
        #expect(NumberFormatting.dateText("2958465.99999", uses1904Dates: false) == "9999-12-31 23:59:59")
        #expect(CellReference.parse(Array("AB12".utf8)) == .init(column: 27, row: 12))
        #expect(CellReference.parse(Array("$XFD$1048576".utf8)) == .init(column: 16_383, row: 1_048_576))
        #expect(CellReference.letters(forColumn: 27) == "AB")
        #expect(CellReference.letters(forColumn: 16_383) == "XFD")
    }

    /// References beyond the format's limits are refused as they are read: no arithmetic on
    /// them can overflow and nothing is sized by them.
    @Test(arguments: ["XFE1", "A1048577", "AAAAAAAAAAAAAAA1", "A99999999999999999999999", "A0", "1A", "", "$", "A-1"])
    func cellReferencesOutsideTheSheetAreRefused(reference: String) {
        #expect(CellReference.parse(Array(reference.utf8)) == nil)
    }

    @Test func mergedRangesAreParsedWithinLimits() {
        #expect(CellReference.range(Array("B3:A1".utf8)) == MergedRange(rows: 1...3, columns: 0...1))
        #expect(CellReference.range(Array("A1:XFD1048576".utf8))?.cellCount == 16_384 * 1_048_576)
        #expect(CellReference.range(Array("A1:XFE1".utf8)) == nil)
        #expect(CellReference.range(Array("A1".utf8)) == nil)
        #expect(BoundedInteger.parse(Array("99999999999999999999999".utf8), maximum: .max) == nil)
        #expect(BoundedInteger.parse(Array("65536".utf8), maximum: 65_536) == 65_536)
    }
}
